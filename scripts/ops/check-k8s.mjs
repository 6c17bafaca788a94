#!/usr/bin/env node
/* global process, console */
/**
 * Checks every YAML file under a directory (default k8s/, recursively):
 * - YAML lint: strict parse with the `yaml` package, duplicate keys and any
 *   parser warning fail, every document must be a mapping;
 * - Kubernetes schema: each object is validated by `kubernetes-models`
 *   (the API's OpenAPI schemas, pinned in package-lock.json, offline), found by
 *   its apiVersion and kind; a kind it does not know fails (so nothing
 *   slips through unchecked);
 * - kustomization.yaml (kustomize.config.k8s.io): its keys are known ones and
 *   every file it lists exists.
 * Prints one line per problem and exits 1 if there is any.
 *   node scripts/ops/check-k8s.mjs [dir]
 */
import { readdirSync, readFileSync, existsSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const dir = resolve(process.argv[2] ?? join(root, 'k8s'));

const KUSTOMIZE_GROUP = 'kustomize.config.k8s.io/';
/** Top-level keys of a Kustomization (kustomize v5). */
const KUSTOMIZATION_KEYS = new Set([
  'apiVersion',
  'kind',
  'metadata',
  'resources',
  'components',
  'namespace',
  'namePrefix',
  'nameSuffix',
  'labels',
  'commonLabels',
  'commonAnnotations',
  'images',
  'replicas',
  'patches',
  'patchesStrategicMerge',
  'patchesJson6902',
  'configMapGenerator',
  'secretGenerator',
  'generatorOptions',
  'replacements',
  'vars',
  'crds',
  'openapi',
  'buildMetadata',
  'sortOptions',
  'generators',
  'transformers',
  'validators',
  'helmCharts',
  'helmGlobals',
]);

function yamlFiles(d) {
  const out = [];
  for (const name of readdirSync(d).sort()) {
    const p = join(d, name);
    if (statSync(p).isDirectory()) out.push(...yamlFiles(p));
    else if (/\.ya?ml$/.test(name)) out.push(p);
  }
  return out;
}

async function validateObject(obj, where, problems) {
  const { apiVersion, kind } = obj;
  if (typeof apiVersion !== 'string' || typeof kind !== 'string') {
    problems.push(`${where}: apiVersion and kind are required`);
    return;
  }
  if (apiVersion.startsWith(KUSTOMIZE_GROUP)) return checkKustomization(obj, where, problems);
  if (typeof obj.metadata?.name !== 'string' || obj.metadata.name === '') {
    problems.push(`${where}: metadata.name is required`);
  }
  let Model;
  try {
    Model = (await import(`kubernetes-models/${apiVersion}/${kind}`))[kind];
  } catch {
    Model = undefined;
  }
  if (typeof Model !== 'function') {
    problems.push(`${where}: unknown apiVersion/kind ${apiVersion} ${kind}`);
    return;
  }
  try {
    new Model(obj).validate();
  } catch (err) {
    problems.push(`${where}: ${kind} ${obj.metadata?.name ?? ''}: ${err.message}`);
  }
}

function checkKustomization(obj, where, problems) {
  for (const key of Object.keys(obj)) {
    if (!KUSTOMIZATION_KEYS.has(key)) problems.push(`${where}: unknown Kustomization key ${key}`);
  }
  const base = dirname(where.replace(/#\d+$/, ''));
  const listed = [
    ...(obj.resources ?? []),
    ...(obj.components ?? []),
    ...(obj.patchesStrategicMerge ?? []),
    ...(obj.patches ?? []).map((p) => p?.path).filter(Boolean),
  ];
  for (const entry of listed) {
    if (typeof entry !== 'string') problems.push(`${where}: a listed entry is not a path: ${JSON.stringify(entry)}`);
    else if (!/^[a-z]+:\/\//.test(entry) && !existsSync(resolve(root, base, entry)))
      problems.push(`${where}: lists ${entry}, which does not exist`);
  }
}

const problems = [];
const files = existsSync(dir) ? yamlFiles(dir) : [];
if (files.length === 0) problems.push(`${relative(root, dir) || dir}: no YAML files found`);
let objects = 0;
for (const file of files) {
  const rel = relative(root, file);
  const docs = parseAllDocuments(readFileSync(file, 'utf8'), { strict: true, uniqueKeys: true, prettyErrors: true });
  const list = Array.isArray(docs) ? docs : [docs];
  let index = 0;
  for (const doc of list) {
    const where = list.length > 1 ? `${rel}#${index}` : rel;
    index += 1;
    for (const e of [...doc.errors, ...doc.warnings]) problems.push(`${where}: YAML: ${e.message.split('\n')[0]}`);
    if (doc.errors.length) continue;
    const obj = doc.toJS();
    if (obj === null || obj === undefined) continue; // an empty document (e.g. a trailing ---)
    if (typeof obj !== 'object' || Array.isArray(obj)) {
      problems.push(`${where}: a manifest must be a mapping`);
      continue;
    }
    objects += 1;
    await validateObject(obj, where, problems);
  }
}

for (const p of problems) console.error(`✗ ${p}`);
console.log(`${files.length} file(s), ${objects} object(s) checked, ${problems.length} problem(s)`);
process.exit(problems.length ? 1 : 0);

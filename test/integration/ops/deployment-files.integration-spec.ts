/**
 * The deployment files are checked, and the checks catch what they claim to
 * (docs/operations.md#checks-of-the-deployment-files): the Kubernetes manifests
 * (scripts/ops/check-k8s.mjs), docker-compose.yml (dclint) and the Dockerfile.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { loadConfig } from '../../../src/config/app-config';

const ROOT = join(__dirname, '../../..');

function run(cmd: string, args: string[]): { code: number | null; out: string } {
  const r = spawnSync(cmd, args, { cwd: ROOT, encoding: 'utf8', timeout: 60_000 });
  return { code: r.status, out: `${r.stdout}${r.stderr}` };
}
const checkK8s = (dir?: string) => run(process.execPath, ['scripts/ops/check-k8s.mjs', ...(dir ? [dir] : [])]);
const dclint = (file: string) => run(join(ROOT, 'node_modules/.bin/dclint'), [file, '--max-warnings', '0']);

describe('Kubernetes manifests (scripts/ops/check-k8s.mjs)', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'eg-k8s-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const deployment = (containerPort: string) => `apiVersion: apps/v1
kind: Deployment
metadata:
  name: d
spec:
  selector:
    matchLabels: { app: d }
  template:
    metadata:
      labels: { app: d }
    spec:
      containers:
        - name: c
          image: i
          ports:
            - containerPort: ${containerPort}
`;

  it('every YAML under k8s/ parses strictly and validates against the Kubernetes schema', () => {
    const r = checkK8s();
    expect(r.out).toMatch(/\d+ file\(s\), \d+ object\(s\) checked, 0 problem\(s\)/);
    expect(r.code).toBe(0);
  });

  it('a valid manifest in a subdirectory passes, with a kustomization listing it', () => {
    mkdirSync(join(dir, 'examples'));
    writeFileSync(join(dir, 'examples/deployment.yaml'), deployment('8002'));
    writeFileSync(
      join(dir, 'kustomization.yaml'),
      'apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - examples/deployment.yaml\n',
    );
    const r = checkK8s(dir);
    expect(r.out).toContain('2 file(s), 2 object(s) checked, 0 problem(s)');
    expect(r.code).toBe(0);
  });

  it('fails on a schema violation, naming the field', () => {
    writeFileSync(join(dir, 'deployment.yaml'), deployment('"http"'));
    const r = checkK8s(dir);
    expect(r.code).toBe(1);
    expect(r.out).toContain('spec/template/spec/containers/0/ports/0/containerPort must be integer');
  });

  it('fails on duplicate keys, an unknown kind, a missing name and a kustomization listing a missing file', () => {
    mkdirSync(join(dir, 'nested'));
    writeFileSync(join(dir, 'nested/dup.yaml'), 'apiVersion: v1\nkind: Service\nkind: Service\nmetadata:\n  name: s\n');
    writeFileSync(
      join(dir, 'multi.yaml'),
      'apiVersion: v1\nkind: Sevrice\nmetadata:\n  name: s\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {}\n',
    );
    writeFileSync(
      join(dir, 'kustomization.yaml'),
      'apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - gone.yaml\n',
    );
    const r = checkK8s(dir);
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/nested\/dup\.yaml: YAML: Map keys must be unique/);
    expect(r.out).toContain('multi.yaml#0: unknown apiVersion/kind v1 Sevrice');
    expect(r.out).toContain('multi.yaml#1: metadata.name is required');
    expect(r.out).toContain('kustomization.yaml: lists gone.yaml, which does not exist');
  });

  it('fails on a directory without manifests', () => {
    const r = checkK8s(dir);
    expect(r.code).toBe(1);
    expect(r.out).toContain('no YAML files found');
  });
});

interface LabelSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: unknown[];
}
interface Deployment {
  spec: {
    replicas: number;
    selector: LabelSelector;
    template: {
      metadata: { labels: Record<string, string> };
      spec: {
        containers: Array<{
          env?: Array<{ name: string }>;
          envFrom?: Array<{ configMapRef?: { name: string; optional?: boolean } }>;
        }>;
      };
    };
  };
}
interface Pdb {
  kind: string;
  apiVersion: string;
  spec: { selector: LabelSelector; minAvailable?: number | string; maxUnavailable?: number | string };
}

/** Pods of `replicas` a PodDisruptionBudget lets be evicted at once (percentages round up, as Kubernetes does). */
function allowedDisruptions(spec: Pdb['spec'], replicas: number): number {
  const count = (v: number | string) =>
    typeof v === 'number' ? v : Math.ceil((replicas * Number(/^(\d+)%$/.exec(v)![1])) / 100);
  if (spec.minAvailable !== undefined) return Math.max(0, replicas - count(spec.minAvailable));
  if (spec.maxUnavailable !== undefined) return Math.min(replicas, count(spec.maxUnavailable));
  return replicas;
}

describe('Kubernetes: the PodDisruptionBudget and the ConfigMap example against the Deployment', () => {
  const yaml = <T>(file: string) => parse(readFileSync(join(ROOT, 'k8s', file), 'utf8')) as T;
  const deployment = yaml<Deployment>('deployment.yaml');
  const pdb = yaml<Pdb>('pdb.yaml');
  const configMap = yaml<{ metadata: { name: string }; data: Record<string, string> }>(
    'examples/configmap.example.yaml',
  );
  const secret = yaml<{ stringData: Record<string, string> }>('examples/secret.example.yaml');
  const container = deployment.spec.template.spec.containers[0];

  it('kubectl apply -k applies the budget, never the examples', () => {
    const resources = yaml<{ resources: string[] }>('kustomization.yaml').resources;
    expect(resources).toContain('pdb.yaml');
    expect(resources.filter((r) => r.startsWith('examples/'))).toEqual([]);
  });

  it("the budget selects the Deployment's pods, by labels its pod template carries", () => {
    expect(pdb).toMatchObject({ apiVersion: 'policy/v1', kind: 'PodDisruptionBudget' });
    expect(pdb.spec.selector.matchExpressions).toBeUndefined();
    const wanted = Object.entries(pdb.spec.selector.matchLabels ?? {});
    expect(wanted.length).toBeGreaterThan(0);
    const podLabels = deployment.spec.template.metadata.labels;
    for (const [k, v] of wanted) expect({ [k]: podLabels[k] }).toEqual({ [k]: v });
    // Every pod the Deployment owns carries them, so the budget covers all of its pods.
    for (const [k, v] of Object.entries(deployment.spec.selector.matchLabels ?? {}))
      expect(pdb.spec.selector.matchLabels?.[k]).toBe(v);
  });

  it("with the Deployment's 2 replicas, one pod may be evicted at a time and one always stays", () => {
    expect(deployment.spec.replicas).toBe(2);
    expect(pdb.spec.minAvailable).toBe(1);
    const allowed = allowedDisruptions(pdb.spec, deployment.spec.replicas);
    expect(allowed).toBeGreaterThanOrEqual(1); // a node drain is never blocked
    expect(allowed).toBeLessThan(deployment.spec.replicas); // nor does it take every pod
  });

  it('the eviction arithmetic: a budget of minAvailable 2 (or 100%) blocks every eviction of 2 replicas', () => {
    expect(allowedDisruptions({ selector: {}, minAvailable: 2 }, 2)).toBe(0);
    expect(allowedDisruptions({ selector: {}, minAvailable: '100%' }, 2)).toBe(0);
    expect(allowedDisruptions({ selector: {}, minAvailable: '50%' }, 2)).toBe(1);
    expect(allowedDisruptions({ selector: {}, maxUnavailable: 1 }, 2)).toBe(1);
    expect(allowedDisruptions({ selector: {}, maxUnavailable: '0%' }, 2)).toBe(0);
  });

  it('the Deployment reads the example ConfigMap through envFrom, optionally, and its env overrides none of it', () => {
    expect(container.envFrom).toEqual([{ configMapRef: { name: configMap.metadata.name, optional: true } }]);
    const env = (container.env ?? []).map((e) => e.name);
    expect(Object.keys(configMap.data).filter((k) => env.includes(k))).toEqual([]);
  });

  it('the ConfigMap holds documented, non-secret settings that the gateway accepts', () => {
    const keys = Object.keys(configMap.data);
    expect(keys).toEqual(expect.arrayContaining(['LOG_LEVEL', 'DRY_RUN', 'BROKER', 'BROKER_RATE_LIMIT_PER_MINUTE']));
    expect(configMap.data.DRY_RUN).toBe('true');
    const documented = readFileSync(join(ROOT, 'docs/configuration.md'), 'utf8');
    for (const k of keys) expect({ [k]: documented.includes(`| \`${k}\``) }).toEqual({ [k]: true });
    for (const k of Object.keys(secret.stringData)) expect(keys).not.toContain(k);
    const config = loadConfig({
      ...configMap.data,
      ...secret.stringData,
      ENVIRONMENT: 'production',
      PORT: '8002',
      ADMIN_API_KEY: 'an-admin-key-of-24-chars',
    });
    expect(config).toMatchObject({ dryRun: true, logLevel: 'info', broker: { kind: 'sim', rateLimitPerMinute: 200 } });
  });
});

describe('docker-compose.yml (dclint, Compose Specification schema)', () => {
  it('passes with no warning', () => {
    const r = dclint('docker-compose.yml');
    expect(r.out).not.toMatch(/error|warning/);
    expect(r.code).toBe(0);
  });

  it('offers gateway, PostgreSQL and Redis by default, Prometheus and Grafana in the monitoring profile', () => {
    const compose = parse(readFileSync(join(ROOT, 'docker-compose.yml'), 'utf8')) as {
      services: Record<string, { profiles?: string[]; volumes?: string[] }>;
    };
    const profile = (name: string) => compose.services[name].profiles ?? [];
    expect(Object.keys(compose.services)).toEqual(['gateway', 'postgres', 'redis', 'prometheus', 'grafana']);
    for (const s of ['gateway', 'postgres', 'redis']) expect(profile(s)).toEqual([]);
    for (const s of ['prometheus', 'grafana']) expect(profile(s)).toEqual(['monitoring']);
    expect(compose.services.prometheus.volumes).toContain('./ops/prometheus:/etc/prometheus:ro');
    expect(compose.services.grafana.volumes).toContain('./ops/grafana/dashboards:/var/lib/grafana/dashboards:ro');
  });

  it('fails on a key outside the specification', () => {
    const dir = mkdtempSync(join(tmpdir(), 'eg-compose-'));
    try {
      writeFileSync(join(dir, 'compose.yml'), 'services:\n  a:\n    image: x:1\n    restart_policy: always\n');
      const r = dclint(join(dir, 'compose.yml'));
      expect(r.code).toBe(1);
      expect(r.out).toContain('must NOT have additional properties');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('Dockerfile', () => {
  const text = readFileSync(join(ROOT, 'Dockerfile'), 'utf8');
  const stages = text.split(/^FROM /m).slice(1);

  it('builds on a maintained Node.js LTS (22 or 24), multi-stage', () => {
    expect(text).toMatch(/^ARG NODE_IMAGE=node:(22|24)-[a-z]+-slim$/m);
    expect(stages.map((s) => s.split('\n')[0])).toEqual(['${NODE_IMAGE} AS build', '${NODE_IMAGE} AS runtime']);
  });

  it('runs as a non-root user with a HEALTHCHECK on /health/live and an exec-form CMD', () => {
    const runtime = stages[1];
    expect(runtime).toMatch(/^USER node$/m);
    expect(runtime).toMatch(/^HEALTHCHECK .*\n.*\/health\/live/m);
    expect(runtime).toMatch(/^CMD \["node", "dist\/src\/main\.js"\]$/m);
  });

  it('package.json engines still admit the Node.js the tests run on', () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
    expect(pkg.engines.node).toBe('>=20.19');
  });
});

describe('alert rules (ops/prometheus/alerts.yml)', () => {
  const rules = (
    parse(readFileSync(join(ROOT, 'ops/prometheus/alerts.yml'), 'utf8')) as {
      groups: Array<{
        rules: Array<{ alert: string; labels: { severity: string }; annotations: Record<string, string> }>;
      }>;
    }
  ).groups.flatMap((g) => g.rules);
  const runbook = readFileSync(join(ROOT, 'docs/runbook.md'), 'utf8');
  const tests = readFileSync(join(ROOT, 'ops/prometheus/alerts.test.yml'), 'utf8');

  it('each alert has a severity, a summary, a runbook section of its own name and a promtool test case', () => {
    expect(rules.length).toBeGreaterThanOrEqual(13);
    for (const r of rules) {
      expect(['warning', 'critical']).toContain(r.labels.severity);
      expect(r.annotations.summary).toBeTruthy();
      expect(r.annotations.runbook_url).toBe(`docs/runbook.md#${r.alert.toLowerCase()}`);
      expect(runbook).toContain(`\n### ${r.alert}\n`);
      expect(tests).toContain(`alertname: ${r.alert}\n`);
    }
  });
});

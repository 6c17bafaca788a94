/**
 * The typed client (clients/typescript, docs/clients.md) is generated from the
 * OpenAPI document the gateway serves. This test fails when a controller or DTO
 * changed and the generated files were not regenerated; with
 * UPDATE_OPENAPI_CLIENT=1 (`npm run client:generate`) it rewrites them instead.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { startTestApp, TestApp } from '../../support/app';

const DIR = join(__dirname, '../../../clients/typescript');
const FILES = { document: join(DIR, 'openapi.json'), types: join(DIR, 'gateway-api.d.ts') };
const UPDATE = process.env.UPDATE_OPENAPI_CLIENT === '1';

/** JSON with object keys sorted, so a regenerated document diffs only where it changed. */
function stableJson(value: unknown): string {
  return `${JSON.stringify(sortKeys(value), null, 2)}\n`;
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value === null || typeof value !== 'object') return value;
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(value).sort()) out[key] = sortKeys((value as Record<string, unknown>)[key]);
  return out;
}

/** The types openapi-typescript writes for a document (its CLI, outside Jest's module loader). */
function renderSchemaTypes(documentJson: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'eg-openapi-'));
  try {
    const input = join(dir, 'openapi.json');
    const output = join(dir, 'gateway-api.d.ts');
    writeFileSync(input, documentJson);
    const cli = join(dirname(require.resolve('openapi-typescript/package.json')), 'bin/cli.js');
    execFileSync(
      process.execPath,
      [cli, input, '--alphabetize', '--default-non-nullable', 'false', '--output', output],
      { stdio: 'pipe' },
    );
    return readFileSync(output, 'utf8');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function readOrEmpty(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}

describe('typed client (e2e)', () => {
  let t: TestApp;
  let document: object;
  beforeAll(async () => {
    t = await startTestApp();
    const res = await t.http.get('/docs/json');
    expect(res.status).toBe(200);
    document = res.body as object;
  });
  afterAll(async () => {
    await t?.close();
  });

  it('clients/typescript/openapi.json is the document the gateway serves', () => {
    const expected = stableJson(document);
    if (UPDATE) writeFileSync(FILES.document, expected);
    expect(readOrEmpty(FILES.document)).toBe(expected);
  });

  it('clients/typescript/gateway-api.d.ts is generated from that document', () => {
    const expected = renderSchemaTypes(stableJson(document));
    if (UPDATE) writeFileSync(FILES.types, expected);
    expect(readOrEmpty(FILES.types)).toBe(expected);
  });

  it('the generated types describe the order routes (a spot check that generation is not empty)', () => {
    const types = readOrEmpty(FILES.types);
    expect(types).toContain('"/api/v1/orders": {');
    expect(types).toMatch(/OrderResponse/);
  });
});

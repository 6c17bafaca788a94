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

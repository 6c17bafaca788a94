/**
 * Summarizes a V8 .cpuprofile (from BENCH_CPU_PROF=1) as text: where the busy
 * time went by package, and the hottest functions by self and by inclusive
 * time. For a first look without opening the profile in a browser's devtools.
 *
 *   node dist/bench/profile-summary.js bench/results/profiles/gateway-<ts>.cpuprofile [top]
 */
import { readFileSync } from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

/** V8's pseudo-frames: not code, but still where the time went. */
const IDLE = '(idle)';

/** node_modules/<package>, our compiled sources by directory, node internals, or a V8 pseudo-frame. */
function bucketOf(frame: ProfileNode['callFrame']): string {
  const { url, functionName } = frame;
  if (!url) return functionName || '(anonymous)';
  const nm = url.lastIndexOf('/node_modules/');
  if (nm >= 0) {
    const parts = url.slice(nm + '/node_modules/'.length).split('/');
    return parts[0].startsWith('@') ? `${parts[0]}/${parts[1]}` : parts[0];
  }
  if (url.startsWith('node:')) return 'node internals';
  const dist = url.indexOf('/dist/');
  if (dist >= 0) return `app ${url.slice(dist + '/dist/'.length).replace(/\/[^/]+$/, '/')}`;
  return url;
}

function frameKey(frame: ProfileNode['callFrame']): string {
  const where = frame.url ? `${frame.url.replace(/^.*\/(node_modules|dist)\//, '')}:${frame.lineNumber + 1}` : '';
  return `${frame.functionName || '(anonymous)'} ${where}`.trim();
}

function top(map: Map<string, number>, n: number): Array<[string, number]> {
  return [...map.entries()].sort((a, b) => b[1] - a[1]).slice(0, n);
}

function main(): void {
  const [file, topArg] = process.argv.slice(2);
  if (!file) {
    process.stderr.write('usage: node dist/bench/profile-summary.js <file.cpuprofile> [top]\n');
    process.exit(2);
  }
  const n = Number(topArg ?? 25);
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const parent = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);

  const selfByBucket = new Map<string, number>();
  const selfByFrame = new Map<string, number>();
  const inclusiveByFrame = new Map<string, number>();
  const add = (m: Map<string, number>, k: string, us: number) => m.set(k, (m.get(k) ?? 0) + us);
  let totalUs = 0;
  let idleUs = 0;

  profile.samples.forEach((id, i) => {
    const us = profile.timeDeltas[i] ?? 0;
    const node = byId.get(id);
    if (!node) return;
    totalUs += us;
    if (node.callFrame.functionName === IDLE) {
      idleUs += us;
      return;
    }
    add(selfByBucket, bucketOf(node.callFrame), us);
    add(selfByFrame, frameKey(node.callFrame), us);
    // Each frame once per sample, so recursion is not counted twice.
    const seen = new Set<string>();
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      const key = frameKey(byId.get(cur)!.callFrame);
      if (!seen.has(key)) {
        seen.add(key);
        add(inclusiveByFrame, key, us);
      }
    }
  });

  const busyUs = totalUs - idleUs;
  const pct = (us: number) => `${((100 * us) / busyUs).toFixed(1).padStart(5)}%`;
  const lines = [
    `${file}`,
    `sampled ${(totalUs / 1e6).toFixed(1)} s, busy ${(busyUs / 1e6).toFixed(1)} s (${((100 * busyUs) / totalUs).toFixed(0)}%); percentages are of busy time`,
    '',
    'self time by package / area',
    ...top(selfByBucket, n).map(([k, us]) => `  ${pct(us)}  ${k}`),
    '',
    'hottest functions (self)',
    ...top(selfByFrame, n).map(([k, us]) => `  ${pct(us)}  ${k}`),
    '',
    'hottest functions (inclusive)',
    ...top(inclusiveByFrame, n).map(([k, us]) => `  ${pct(us)}  ${k}`),
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
}

main();

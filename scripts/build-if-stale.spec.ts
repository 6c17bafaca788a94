import { mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { builtAt, scanInputs, staleReason } from './build-if-stale.cjs';

describe('staleReason', () => {
  it('builds when there is no build yet', () => {
    expect(staleReason(null, [])).toBe('no build yet');
  });

  it('is current when nothing changed after the build', () => {
    expect(staleReason(2_000, [{ path: 'src/main.ts', mtimeMs: 1_000 }])).toBeNull();
    expect(staleReason(2_000, [{ path: 'src/main.ts', mtimeMs: 2_000 }])).toBeNull();
  });

  it('names what changed after the build', () => {
    expect(staleReason(2_000, [{ path: 'migrations/index.ts', mtimeMs: 2_001 }])).toBe('migrations/index.ts changed');
    expect(
      staleReason(2_000, [
        { path: 'src/a.ts', mtimeMs: 3_000 },
        { path: 'src/b.ts', mtimeMs: 1_000 },
        { path: 'src/', mtimeMs: 2_500 },
      ]),
    ).toBe('src/a.ts and 1 more changed');
  });

  it('is stale exactly when some input is newer than the build', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 1e6 }),
        fc.array(fc.record({ path: fc.string({ minLength: 1 }), mtimeMs: fc.integer({ min: 0, max: 1e6 }) })),
        (built, inputs) => {
          expect(staleReason(built, inputs) !== null).toBe(inputs.some((i) => i.mtimeMs > built));
        },
      ),
    );
  });
});

describe('scanInputs and builtAt on a checkout', () => {
  const root = mkdtempSync(join(tmpdir(), 'eg-stale-'));
  const at = (rel: string, seconds: number) => utimesSync(join(root, rel), seconds, seconds);
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it('sees a new source file, a deleted one (through its directory) and a changed migration, but not specs', () => {
    mkdirSync(join(root, 'src', 'a'), { recursive: true });
    mkdirSync(join(root, 'migrations'));
    mkdirSync(join(root, 'dist', 'src'), { recursive: true });
    for (const f of ['src/main.ts', 'src/a/x.ts', 'src/a/x.spec.ts', 'migrations/index.ts', 'tsconfig.json']) {
      writeFileSync(join(root, f), '');
    }
    expect(builtAt(root)).toBeNull();
    writeFileSync(join(root, 'dist/src/main.js'), '');
    for (const rel of [
      'src',
      'src/a',
      'src/main.ts',
      'src/a/x.ts',
      'migrations',
      'migrations/index.ts',
      'tsconfig.json',
    ]) {
      at(rel, 1_000);
    }
    at('src/a/x.spec.ts', 5_000);
    at('dist/src/main.js', 2_000);
    expect(builtAt(root)).toBe(2_000_000);
    expect(staleReason(builtAt(root), scanInputs(root))).toBeNull();

    rmSync(join(root, 'src/a/x.ts'));
    at('src/a', 3_000);
    expect(staleReason(builtAt(root), scanInputs(root))).toBe('src/a/ changed');

    writeFileSync(join(root, 'dist/.build-stamp'), '');
    at('dist/.build-stamp', 4_000);
    expect(staleReason(builtAt(root), scanInputs(root))).toBeNull();
    at('migrations/index.ts', 4_001);
    expect(staleReason(builtAt(root), scanInputs(root))).toBe('migrations/index.ts changed');
  });
});

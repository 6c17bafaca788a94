/**
 * The module graph's rules (docs/architecture.md, "Dependency rules"), checked
 * by `npm run lint:deps` in CI:
 * - the ground floor (config, common, infra) imports no feature folder;
 * - feature folders are layered: each may import only folders listed before
 *   it in LAYERS, so no cycle between folders can form (the broker never
 *   imports orders, risk never imports reconciliation, ...);
 * - a new folder under src/ must be given its place in LAYERS;
 * - no cycle between files either.
 * Specs may import what they test from anywhere below them; they are not checked here.
 */
const GROUND = ['config', 'common', 'infra'];
/** Lowest first. */
const LAYERS = [
  'trading',
  'audit',
  'auth',
  'broker',
  'market-data',
  'events',
  'positions',
  'account',
  'risk',
  'orders',
  'reconciliation',
  'order-entry',
  'twap',
  'controls',
  'manual',
  'strategies',
  'webhooks',
  'health',
  'system',
  'cli',
];

const SPEC = '\\.(spec|e2e-spec)\\.ts$';
const any = (folders) => `^src/(${folders.join('|')})/`;

const layerRules = LAYERS.slice(0, -1).map((folder, i) => ({
  name: `layer-${folder}`,
  comment: `${folder}/ may import only the ground floor and ${LAYERS.slice(0, i).join(', ') || 'nothing else'}`,
  severity: 'error',
  from: { path: `^src/${folder}/`, pathNot: SPEC },
  to: { path: any(LAYERS.slice(i + 1)) },
}));

module.exports = {
  forbidden: [
    {
      name: 'ground-floor-imports-no-feature',
      comment: 'config/, common/ and infra/ are imported by every module and import none',
      severity: 'error',
      from: { path: any(GROUND), pathNot: SPEC },
      to: { path: any(LAYERS) },
    },
    ...layerRules,
    {
      name: 'folder-without-a-layer',
      comment: 'every folder under src/ has its place in LAYERS (.dependency-cruiser.cjs)',
      severity: 'error',
      from: { path: '^src/[^/]+/', pathNot: [any([...GROUND, ...LAYERS]), SPEC] },
      to: {},
    },
    {
      name: 'no-circular',
      comment: 'no cycle between files',
      severity: 'error',
      from: { path: '^src/', pathNot: SPEC },
      to: { circular: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '(^dist/|^node_modules/)' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['import', 'require', 'node', 'default'] },
  },
};

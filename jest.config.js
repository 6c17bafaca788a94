/**
 * NestJS 12 and a few of its dependencies ship ES modules only. Node 20 loads
 * them through require(esm), but Jest's module loader does not, so those
 * packages are compiled to CommonJS by SWC like our own sources.
 */
const esmPackages = [
  '@nestjs',
  '@standard-schema',
  '@tokenizer',
  '@borewit',
  'uid',
  'file-type',
  'strtok3',
  'token-types',
  'uint8array-extras',
  'fast-check',
  'es-toolkit',
];

const swc = [
  '@swc/jest',
  {
    jsc: {
      parser: { syntax: 'typescript', decorators: true },
      transform: { legacyDecorator: true, decoratorMetadata: true },
      target: 'es2022',
    },
    module: { type: 'commonjs' },
  },
];

const shared = {
  testEnvironment: 'node',
  transform: { '^.+\\.(t|j|mj)sx?$': swc },
  transformIgnorePatterns: [`/node_modules/(?!(${esmPackages.join('|')})/)`],
};

/**
 * Two projects: `unit` (specs beside the code: no database, no network) and
 * `e2e` (test/: the real app against PostgreSQL and Redis, with a template
 * database migrated once by the global setup).
 */
/** @type {import('jest').Config} */
module.exports = {
  maxWorkers: 2,
  // Global, not per project: Jest ignores a project's own testTimeout.
  testTimeout: 30000,
  projects: [
    { ...shared, displayName: 'unit', roots: ['<rootDir>/src'], testRegex: '\\.spec\\.ts$' },
    {
      ...shared,
      displayName: 'e2e',
      roots: ['<rootDir>/test'],
      testRegex: '\\.e2e-spec\\.ts$',
      globalSetup: '<rootDir>/test/global-setup.ts',
      globalTeardown: '<rootDir>/test/global-teardown.ts',
    },
  ],
};

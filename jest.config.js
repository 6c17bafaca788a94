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
  // Quiet unless TEST_LOG=1: expected errors print no stack traces (test/support/quiet-logs.ts).
  setupFilesAfterEnv: ['<rootDir>/test/support/quiet-logs.ts'],
  transform: { '^.+\\.(t|j|mj)sx?$': swc },
  transformIgnorePatterns: [`/node_modules/(?!(${esmPackages.join('|')})/)`],
};

/** Every tier that talks to PostgreSQL: one template database migrated per run, a copy per test file. */
const withDatabase = {
  globalSetup: '<rootDir>/test/support/global-setup.ts',
  globalTeardown: '<rootDir>/test/support/global-teardown.ts',
};

/**
 * One project per test tier:
 * - `unit`: specs beside the code in src/ (no database, no network);
 * - `e2e`: test/e2e/<module>/, the whole HTTP app against PostgreSQL and Redis;
 * - `integration`: test/integration/, infrastructure pieces (leader election,
 *   state stores, process crash and shutdown) against PostgreSQL and Redis;
 * - `contract`: test/contract/, the Alpaca adapter and SDK against the fake
 *   Alpaca server, and the fake's own wire format;
 * - `security`: test/security/, one regression test per security finding and
 *   the probes that held (authentication, authorisation, malformed input,
 *   forgeries), against the whole app;
 * - `chaos`: test/chaos/, faults under load (an unreachable database) and the
 *   invariants after them (docs/runbook.md#chaos-suite).
 */
/** @type {import('jest').Config} */
module.exports = {
  maxWorkers: 2,
  // Global, not per project: Jest ignores a project's own testTimeout.
  testTimeout: 30000,
  projects: [
    { ...shared, displayName: 'unit', roots: ['<rootDir>/src', '<rootDir>/scripts'], testRegex: '\\.spec\\.ts$' },
    {
      ...shared,
      ...withDatabase,
      displayName: 'e2e',
      roots: ['<rootDir>/test/e2e'],
      testRegex: '\\.e2e-spec\\.ts$',
    },
    {
      ...shared,
      ...withDatabase,
      displayName: 'integration',
      roots: ['<rootDir>/test/integration'],
      testRegex: '\\.integration-spec\\.ts$',
    },
    {
      ...shared,
      ...withDatabase,
      displayName: 'contract',
      roots: ['<rootDir>/test/contract'],
      testRegex: '\\.contract-spec\\.ts$',
    },
    {
      ...shared,
      ...withDatabase,
      displayName: 'security',
      roots: ['<rootDir>/test/security'],
      testRegex: '\\.security-spec\\.ts$',
    },
    {
      ...shared,
      ...withDatabase,
      displayName: 'chaos',
      roots: ['<rootDir>/test/chaos'],
      testRegex: '\\.chaos-spec\\.ts$',
    },
  ],
};

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

/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/src', '<rootDir>/test'],
  testRegex: '\\.(spec|e2e-spec)\\.ts$',
  transform: { '^.+\\.(t|j|mj)sx?$': swc },
  transformIgnorePatterns: [`/node_modules/(?!(${esmPackages.join('|')})/)`],
  globalSetup: '<rootDir>/test/global-setup.ts',
  testTimeout: 30000,
  maxWorkers: 2,
};

import js from '@eslint/js';
import prettier from 'eslint-config-prettier';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  {
    ignores: [
      'dist/**',
      'node_modules/**',
      '.data/**',
      'coverage/**',
      'clients/typescript/gateway-api.d.ts',
      '*.js',
      '*.mjs',
      '*.cjs',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  prettier,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-explicit-any': 'error',
      'no-restricted-syntax': [
        'error',
        {
          selector: "CallExpression[callee.name='parseFloat']",
          message: 'Prices, quantities and P&L are decimals: use decimal.js, not parseFloat.',
        },
      ],
    },
  },
  {
    // Feature modules are plain modules, imported where they are used: only the ground floor may be global.
    files: ['src/**/*.ts'],
    ignores: ['src/infra/**', 'src/common/**', 'src/config/**'],
    rules: {
      'no-restricted-syntax': [
        'error',
        {
          selector: "CallExpression[callee.name='parseFloat']",
          message: 'Prices, quantities and P&L are decimals: use decimal.js, not parseFloat.',
        },
        {
          selector: "Decorator[expression.callee.name='Global']",
          message: '@Global() is for infra/, common/ and config/ only: import the module where it is used.',
        },
        {
          selector: "Property[key.name='global'][value.value=true]",
          message:
            'A global dynamic module is for infra/, common/ and config/ only: import the module where it is used.',
        },
      ],
    },
  },
  {
    // A file over this has two jobs: split it (docs/architecture.md, "Dependency rules").
    files: ['src/**/*.ts', 'bench/**/*.ts'],
    ignores: ['**/*.spec.ts'],
    rules: { 'max-lines': ['error', { max: 450, skipBlankLines: false, skipComments: false }] },
  },
  {
    // The same for tests and their support code.
    files: ['test/**/*.ts', '**/*.spec.ts'],
    rules: { 'max-lines': ['error', { max: 450, skipBlankLines: false, skipComments: false }] },
  },
  {
    files: ['test/**/*.ts', '**/*.spec.ts', 'bench/**/*.ts'],
    rules: { '@typescript-eslint/no-non-null-assertion': 'off' },
  },
);

// ESLint (flat config): typescript-eslint's type-aware recommended rules on the TypeScript of src/, test/ and
// bench/, ESLint's recommended rules on the plain CommonJS scripts. Formatting is Prettier's job (`npm run
// format:check`), so no stylistic rule is enabled here. Run by `npm test` through `npm run lint`.
import { fileURLToPath } from 'node:url';
import js from '@eslint/js';
import { defineConfig } from 'eslint/config';
import comments from '@eslint-community/eslint-plugin-eslint-comments/configs';
import globals from 'globals';
import tseslint from 'typescript-eslint';

// The project root, for the TypeScript project service (import.meta.dirname needs Node 20.11; Debian 12 has 18).
const root = fileURLToPath(new URL('.', import.meta.url));

export default defineConfig(
  {
    ignores: [
      'dist/',
      'build/',
      'node_modules/',
      '.ci/out/',
      'bench/out/',
      'test/vm/.out/',
      'test/system/.out/',
      'debian/',
      'coverage/',
    ],
  },
  {
    linterOptions: {
      // A disable comment that no longer silences anything is an error: it would hide the next real report.
      reportUnusedDisableDirectives: 'error',
    },
  },
  js.configs.recommended,
  comments.recommended,
  {
    rules: {
      // Every disable comment says why, after " -- " on the same line.
      '@eslint-community/eslint-comments/require-description': 'error',
      // Functions longer than one screen are a hint to split (a warning: it does not fail the build).
      'max-lines-per-function': ['warn', { max: 80, skipBlankLines: true, skipComments: true }],
    },
  },
  {
    files: ['**/*.ts'],
    extends: [...tseslint.configs.recommendedTypeChecked],
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: root },
    },
    rules: {
      // An unused parameter named _x is kept on purpose (an interface's signature, a callback's position).
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      // An async function without await still turns a throw into a rejection, which callers of a
      // Promise-returning interface (Command.run, jest callbacks) rely on; dropping `async` would change that.
      '@typescript-eslint/require-await': 'off',
      // no-require-imports stays on: a lazy require() (kept off the start-up path on purpose) is an exception
      // and carries a disable comment saying so; any other require() should be an import.
    },
  },
  {
    files: ['test/**/*.ts'],
    rules: {
      // Tests read JSON (`ip -j`, the CLI's --json output, state files) as `any` and the expectations that follow
      // are the type check; declaring a type for every parsed document would only restate the assertions.
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
    },
  },
  {
    files: ['test/**/*.ts', 'test/**/*.js'],
    rules: {
      // A describe() block holds its tests; its length is the number of cases, not a function to split.
      'max-lines-per-function': 'off',
    },
  },
  {
    files: ['**/*.js', '**/*.cjs'],
    languageOptions: { sourceType: 'commonjs', globals: { ...globals.node } },
  },
  {
    files: ['**/*.mjs'],
    languageOptions: { sourceType: 'module', globals: { ...globals.node } },
  },
);

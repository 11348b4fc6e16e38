/**
 * ESLint: JavaScript's recommended rules and typescript-eslint's strict type-aware ones (they read the types,
 * so they catch floating promises, unsafe `any`, needless conditions and the like that tsc lets through).
 * Layout is Prettier's job (`npm run format`); eslint-config-prettier turns off the rules that would fight it.
 */
import eslint from '@eslint/js';
import prettier from 'eslint-config-prettier';
import { defineConfig, globalIgnores } from 'eslint/config';
import tseslint from 'typescript-eslint';

export default defineConfig(
  globalIgnores(['dist/', 'coverage/', '.run/', 'fixtures/']),
  eslint.configs.recommended,
  tseslint.configs.strictTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      // Numbers print as they should in a message; what the rule is for is `undefined`, `null` and objects.
      // (Options given replace the strict preset's, and the rule's own defaults allow nullish: all named.)
      '@typescript-eslint/restrict-template-expressions': [
        'error',
        { allowNumber: true, allowAny: false, allowBoolean: false, allowNullish: false, allowRegExp: false, allowNever: false },
      ],
      // noUncheckedIndexedAccess types every `bytes[i]` of a parser as possibly undefined, so the byte parsers
      // read with `!` after checking the length; the assertions left are the checked-length idiom, not guesses.
      '@typescript-eslint/no-non-null-assertion': 'off',
      // `(x) => log(x)` and `if (err) return reject(err)` in callbacks are clear; only a void value used as a
      // value elsewhere is confusing.
      '@typescript-eslint/no-confusing-void-expression': ['error', { ignoreArrowShorthand: true, ignoreVoidReturningFunctions: true }],
      // An `async` method without `await` is how a fake transport or a callback keeps the promise-returning
      // contract, a throw becoming a rejection; no-floating-promises and no-misused-promises catch real misuse.
      '@typescript-eslint/require-await': 'off',
      // A leading underscore marks what is unused on purpose (a parameter kept for the signature).
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    // jest's asymmetric matchers (expect.any, expect.stringMatching...) are typed `any` by @types/jest.
    files: ['test/**/*.ts'],
    rules: { '@typescript-eslint/no-unsafe-assignment': 'off' },
  },
  {
    // The few plain JavaScript files (configs, jest's global set-up, the helpers sim.sh runs) are outside
    // tsconfig.json, so they get the rules that need no types; Node's globals they use are named here.
    files: ['**/*.js', '**/*.mjs'],
    extends: [tseslint.configs.disableTypeChecked],
    languageOptions: {
      globals: { process: 'readonly', console: 'readonly', setTimeout: 'readonly', clearTimeout: 'readonly' },
    },
  },
  prettier,
  {
    // After eslint-config-prettier, which turns it off: Prettier wraps code at 140 but leaves long strings,
    // template literals and comments alone, and those are what pushed lines past 140 before (538 of them).
    rules: { 'max-len': ['error', { code: 140, ignoreUrls: true }] },
  },
);

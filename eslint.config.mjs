// Lint rules for the whole monorepo (`npm run lint`, part of `npm test`). Formatting is Prettier's job
// (eslint-config-prettier turns off the rules that would disagree with it).
import js from '@eslint/js';
import prettier from 'eslint-config-prettier';
import reactHooks from 'eslint-plugin-react-hooks';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['**/dist/**', '**/node_modules/**', 'test-output/**', '**/*.d.ts'] },
  js.configs.recommended,
  {
    files: ['**/*.js', '**/*.mjs', '**/*.cjs'],
    languageOptions: { globals: { ...globals.node } }
  },
  {
    // Functions the dashboard benchmark runs inside the browser page.
    files: ['bench/dashboard-render.js'],
    languageOptions: { globals: { ...globals.browser } }
  },
  {
    files: ['**/*.ts', '**/*.tsx', '**/*.mts'],
    extends: [tseslint.configs.recommendedTypeChecked],
    languageOptions: {
      parserOptions: {
        project: [
          'core/*/tsconfig.json',
          'plugins/*/tsconfig.json',
          'drivers/*/tsconfig.json',
          'examples/*/tsconfig.json',
          'ui/tsconfig.json',
          'ui/web/tsconfig.json',
          'test/tsconfig.json',
          'tsconfig.tests.json'
        ],
        tsconfigRootDir: import.meta.dirname
      }
    },
    rules: {
      // `_name` marks a parameter or binding that is there for its position; `{ a, ...rest }` drops `a`.
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', ignoreRestSiblings: true }]
    }
  },
  {
    files: ['ui/web/src/**/*.tsx', 'ui/web/src/**/*.ts'],
    extends: [reactHooks.configs.flat.recommended],
    languageOptions: { globals: { ...globals.browser } }
  },
  {
    // Tests read JSON answers and device frames from the wire (typed \`any\` by design) and hand
    // methods to jest's expect.
    files: ['**/test/**/*.ts', 'test/**/*.ts'],
    rules: {
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/unbound-method': 'off'
    }
  },
  prettier
);

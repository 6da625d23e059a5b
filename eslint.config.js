// Type-aware lint rules for what the compiler does not catch: a promise nobody handles can
// turn one bad result into an unhandled rejection that ends the broker.
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/**', 'dist-win/**', 'node_modules/**', '**/*.js', '**/*.mjs', '**/*.cjs'] },
  {
    files: ['**/*.ts'],
    extends: [tseslint.configs.base],
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      // `void promise` hides a rejection as well as forgetting it does: a handler is required.
      '@typescript-eslint/no-floating-promises': ['error', { ignoreVoid: false }],
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/no-explicit-any': 'error',
    },
  },
  {
    // The broker loads node:crypto, node:vm and node:module when it first needs them
    // (crypto-on-demand.ts, process.getBuiltinModule): a static import would load them at
    // start again. The federation is itself loaded on demand.
    files: ['src/broker/**/*.ts', 'src/protocol/**/*.ts'],
    ignores: ['src/broker/federation/**'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: [
            { name: 'node:crypto', allowTypeImports: true, message: 'use nodeCrypto() from crypto-on-demand.ts' },
            { name: 'node:vm', allowTypeImports: true, message: "use process.getBuiltinModule('node:vm') where it is needed" },
            { name: 'node:module', allowTypeImports: true, message: "use process.getBuiltinModule('node:module') where it is needed" },
          ],
        },
      ],
    },
  },
);

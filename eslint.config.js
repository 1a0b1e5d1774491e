import tseslint from 'typescript-eslint'

export default tseslint.config(
  { ignores: ['**/dist/**', 'packages/*/build/**', '**/node_modules/**', 'coverage/**'] },
  {
    files: ['**/*.ts'],
    languageOptions: {
      parser: tseslint.parser,
      parserOptions: {
        project: [
          './packages/*/tsconfig.json',
          './tools/*/tsconfig.json',
          './examples/*/tsconfig.json',
          './tsconfig.tests.json',
        ],
        tsconfigRootDir: import.meta.dirname,
      },
    },
    plugins: { '@typescript-eslint': tseslint.plugin },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/consistent-type-imports': 'error',
    },
  },
  {
    // @codegrant/session is the framework-agnostic engine: no framework or session middleware
    // there (packages/session/test/no-framework.test.ts checks the same).
    files: ['packages/session/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              regex: '^(?:express|express-session|fastify|@fastify/.+|@types/express.*)(?:/.*)?$',
              message: '@codegrant/session must not depend on a web framework',
            },
          ],
        },
      ],
    },
  },
)

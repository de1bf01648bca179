import js from '@eslint/js'
import tseslint from 'typescript-eslint'

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'coverage/**', 'test-artifacts/**', 'bench-results/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      globals: { process: 'readonly', console: 'readonly', Buffer: 'readonly', URL: 'readonly', setTimeout: 'readonly', clearTimeout: 'readonly', setInterval: 'readonly', clearInterval: 'readonly', AbortController: 'readonly', AbortSignal: 'readonly', fetch: 'readonly', setImmediate: 'readonly' },
      parserOptions: {
        // vitest.config.ts sits outside tsconfig.json's include; the default project types it.
        projectService: { allowDefaultProject: ['vitest.config.ts'] },
        tsconfigRootDir: import.meta.dirname,
      },
    },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      // A promise nobody awaits loses its rejection; one passed where a callback returns void is never awaited.
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
    },
  },
  {
    files: ['test/**'],
    rules: {
      // vitest types its asymmetric matchers (expect.stringMatching, expect.objectContaining) as any, so they
      // fit any field; each one inside an expected object counts as an unsafe assignment. The other
      // no-unsafe rules stay on: JSON answers are read through typed helpers (test/helpers/answers.ts).
      '@typescript-eslint/no-unsafe-assignment': 'off',
    },
  },
  // Plain .js (bin/, scripts/, this file) is outside the TypeScript project, so it gets the syntax rules only.
  { files: ['**/*.js'], ...tseslint.configs.disableTypeChecked },
)

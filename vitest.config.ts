import { defineConfig } from 'vitest/config'

/**
 * Every test file that exercises the store through the in-process harness
 * (test/core/server/harness.ts), and the end-to-end files where real npm installs, publishes,
 * logs in and searches against a `serve` started by test/helpers/server.ts. The `postgres`
 * project runs them a second time on a fresh PostgreSQL database each
 * (SINOPIA_TEST_STORE=postgres), so both backends pass one suite.
 */
const STORE_SUITE = [
  'test/core/maintenance/server.test.ts',
  'test/core/search/search-route.test.ts',
  'test/core/server/bad-input.test.ts',
  'test/core/server/cache.test.ts',
  'test/core/server/htpasswd-login.test.ts',
  'test/core/server/publish.test.ts',
  'test/core/server/read-api.test.ts',
  'test/core/server/users.test.ts',
  'test/core/web/web-routes.test.ts',
  'test/security/audit.test.ts',
  'test/security/auth.test.ts',
  'test/security/blobs.test.ts',
  'test/security/headers.test.ts',
  'test/security/publish.test.ts',
  'test/commands/acl.test.ts',
  'test/e2e/install.test.ts',
  'test/e2e/lockfile-repoint.test.ts',
  'test/e2e/login.test.ts',
  'test/e2e/publish.test.ts',
  'test/e2e/search-uplink.test.ts',
  'test/e2e/web-search.test.ts',
]

export default defineConfig({
  test: {
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
    // Two files at once on this 2-core machine (vitest's default is cores - 1): most files wait on
    // child processes, sockets and PostgreSQL, not on CPU. Stall bounds are measured against a
    // canary of the machine's load (test/helpers/watchdog.ts), so they hold with a neighbour running.
    maxWorkers: 2,
    // One throwaway PostgreSQL cluster for the run, started only when a test asks for a database (test/helpers/postgres.ts).
    globalSetup: ['test/helpers/postgres-global.ts'],
    // The JSON report lets .ci/run print a plain "N passed, N failed" closing line.
    reporters: ['default', 'json'],
    outputFile: { json: 'test-artifacts/vitest.json' },
    projects: [
      { extends: true, test: { name: 'folder', include: ['test/**/*.test.ts'] } },
      { extends: true, test: { name: 'postgres', include: STORE_SUITE, env: { SINOPIA_TEST_STORE: 'postgres' } } },
    ],
  },
})

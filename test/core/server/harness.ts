import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { stringify } from 'yaml'
import { parseConfig } from '../../../src/core/config/index.js'
import { silentLogger } from '../../../src/core/log.js'
import { startServer, type RunningServer } from '../../../src/core/server/index.js'
import { redactLocation } from '../../../src/core/store/index.js'
import { defaultBlobCache } from '../../../src/core/store/pg/open.js'
import { buildPackage, type BuiltPackage } from '../../helpers/packages.js'
import { freshDatabase } from '../../helpers/postgres.js'
import { startFakeUpstream, type FakeUpstream } from '../../helpers/fake-upstream.js'

export interface Harness {
  upstream: FakeUpstream
  server: RunningServer
  url: string
  storage: string
  dir: string
  packages: { a1: BuiltPackage; a2: BuiltPackage; a3: BuiltPackage; scoped: BuiltPackage; big: BuiltPackage }
  close(): Promise<void>
}

/** SINOPIA_TEST_STORE=postgres: the harness (and every test file run through it) uses a fresh PostgreSQL database. */
export const onPostgres = process.env.SINOPIA_TEST_STORE === 'postgres'

/**
 * A test about the folder layout itself (it writes or reads the storage folder's files), run
 * with `it.skipIf(onPostgres)`: on PostgreSQL its name says why it is skipped.
 */
export const folderLayout = (name: string, why: string): string => (onPostgres ? `${name} [skipped on PostgreSQL: ${why}]` : name)

type HarnessPackages = Harness['packages']
let built: Promise<HarnessPackages> | undefined

/**
 * The upstream's packages, built once per test process: a spec always gives the same bytes, and
 * building them (the 2 MB one above all) took longer than many a test using them. Each harness
 * gets its own copy of the manifests.
 */
async function harnessPackages(): Promise<HarnessPackages> {
  built ??= (async () => ({
    a1: await buildPackage({ name: 'alpha', version: '1.0.0' }),
    a2: await buildPackage({ name: 'alpha', version: '1.1.0' }),
    a3: await buildPackage({ name: 'alpha', version: '2.0.0' }),
    scoped: await buildPackage({ name: '@acme/widget', version: '1.0.0' }),
    big: await buildPackage({ name: 'big', version: '1.0.0', padding: 2 * 1024 * 1024 }),
  }))()
  const once = await built
  const copy = (pkg: BuiltPackage): BuiltPackage => ({ ...pkg, manifest: structuredClone(pkg.manifest) })
  return { a1: copy(once.a1), a2: copy(once.a2), a3: copy(once.a3), scoped: copy(once.scoped), big: copy(once.big) }
}

/** An in-process server (the real app, store and upstream client) in front of a fake upstream. */
export async function startHarness(options: { uplink?: Record<string, unknown>; extra?: Record<string, unknown> } = {}): Promise<Harness> {
  const packages = await harnessPackages()
  const upstream = await startFakeUpstream({ packages: Object.values(packages) })
  const dir = await mkdtemp(path.join(tmpdir(), 'sinopia-harness-'))
  const storage = onPostgres ? await freshDatabase() : path.join(dir, 'storage')
  const text = stringify({
    storage,
    uplinks: { npmjs: { url: upstream.url, maxage: '1h', ...options.uplink } },
    packages: {
      '@*/*': { access: '$all', publish: '$authenticated', proxy: 'npmjs' },
      'private-*': { access: '$authenticated', publish: '$authenticated' },
      '**': { access: '$all', publish: '$authenticated', proxy: 'npmjs' },
    },
    ...options.extra,
  })
  const { config } = parseConfig(text, path.join(dir, 'config.yaml'))
  const server = await startServer(config, { host: '127.0.0.1', port: 0 }, silentLogger)
  return {
    upstream,
    server,
    url: server.url,
    storage,
    dir,
    packages,
    async close() {
      await server.close(1000)
      await upstream.stop()
      await rm(dir, { recursive: true, force: true })
      if (onPostgres) await rm(defaultBlobCache(redactLocation(storage)), { recursive: true, force: true })
    },
  }
}

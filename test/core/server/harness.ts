import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { stringify } from 'yaml'
import { parseConfig } from '../../../src/core/config/index.js'
import { silentLogger } from '../../../src/core/log.js'
import { startServer, type RunningServer } from '../../../src/core/server/index.js'
import { openStore, redactLocation } from '../../../src/core/store/index.js'
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

/** What a harness's store holds, read through the store's own interface (another store opened on the same location), so one assertion checks the folder and the database alike. */
export async function storedNow(h: Harness): Promise<{ packages: string[]; contents: string[] }> {
  const store = await openStore(h.storage, { blobCache: path.join(h.dir, 'reader-blob-cache') })
  try {
    const contents: string[] = []
    for await (const content of store.blobs.content()) contents.push(content.integrity)
    return { packages: await store.packages.list(), contents }
  } finally {
    await store.close()
  }
}

/** An in-process server (the real app, store and upstream client) in front of a fake upstream. */
export async function startHarness(options: { uplink?: Record<string, unknown>; extra?: Record<string, unknown> } = {}): Promise<Harness> {
  const packages = {
    a1: await buildPackage({ name: 'alpha', version: '1.0.0' }),
    a2: await buildPackage({ name: 'alpha', version: '1.1.0' }),
    a3: await buildPackage({ name: 'alpha', version: '2.0.0' }),
    scoped: await buildPackage({ name: '@acme/widget', version: '1.0.0' }),
    big: await buildPackage({ name: 'big', version: '1.0.0', padding: 2 * 1024 * 1024 }),
  }
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

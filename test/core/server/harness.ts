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
  // SINOPIA_TEST_STORE=postgres runs the same tests on a fresh PostgreSQL database (read-api passes
  // whole; tests that read the storage folder itself, 5 in publish and 2 in cache, apply to the folder store only).
  const onPostgres = process.env.SINOPIA_TEST_STORE === 'postgres'
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

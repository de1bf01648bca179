import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { stringify } from 'yaml'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { CACHE_BOUNDS } from '../../../src/core/cache-bounds.js'
import { parseConfig } from '../../../src/core/config/index.js'
import { Registry } from '../../../src/core/registry/index.js'
import { emptyLocal } from '../../../src/core/registry/merge.js'
import { openStore, type Store } from '../../../src/core/store/index.js'
import { UpstreamClient } from '../../../src/core/upstream/client.js'

// The real code with small bounds, so that 5,000 small packages overflow each of them many times.
vi.mock('../../../src/core/cache-bounds.js', async (importOriginal) => {
  const real = await importOriginal<typeof import('../../../src/core/cache-bounds.js')>()
  return { CACHE_BOUNDS: { ...real.CACHE_BOUNDS, upstreamViewBytes: 1024 * 1024, derivedViewBytes: 512 * 1024, localDocs: 100 } }
})

const PACKAGES = 5_000
/** Packages with something published here (a tag): they go through the locals and derived caches even online. */
const OVERRIDDEN = 300
const nameOf = (i: number) => (i % 2 === 0 ? `outage-pkg-${i}` : `@outage/pkg-${i}`)

async function runLimited<T>(items: T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0
  await Promise.all(
    Array.from({ length: limit }, async () => {
      while (next < items.length) await fn(items[next++] as T)
    }),
  )
}

/** A port nothing listens on: every uplink request is refused. */
async function deadPort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  await new Promise<void>((resolve) => server.close(() => resolve()))
  return port
}

async function fillStore(store: Store, uplinkUrl: string): Promise<void> {
  const indices = Array.from({ length: PACKAGES }, (_, i) => i)
  await runLimited(indices, 32, async (i) => {
    const name = nameOf(i)
    const versions = Object.fromEntries(
      ['1.0.0', '1.1.0'].map((version) => [
        version,
        { name, version, description: `package ${i} `.repeat(20), dist: { tarball: `${uplinkUrl}${name}/-/x-${version}.tgz`, shasum: 'a'.repeat(40) } },
      ]),
    )
    const doc = { name, 'dist-tags': { latest: '1.1.0' }, versions, readme: 'r'.repeat(200), time: { created: '2020-01-01T00:00:00.000Z', '1.0.0': '2020-01-01T00:00:00.000Z' } }
    await store.packages.writeUpstream(name, { uplink: 'npmjs', upstreamUrl: uplinkUrl, doc })
    // Fetched long ago: every request would revalidate, if the uplink answered.
    await store.packages.writeFetched(name, { uplink: 'npmjs', fetchedAt: 0 })
    if (i < OVERRIDDEN) await store.packages.writeLocal(name, { ...emptyLocal('override'), 'dist-tags': { beta: '1.0.0' }, revision: 1 })
  })
}

describe('Packuments during an uplink outage', () => {
  let dir: string
  let registry: Registry
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'sinopia-outage-'))
    const url = `http://127.0.0.1:${await deadPort()}/`
    // One failure opens the circuit for the rest of the test: from then on nothing is asked.
    const yaml = stringify({ storage: path.join(dir, 'storage'), uplinks: { npmjs: { url, timeout: '1s', max_fails: 1, fail_timeout: '1h' } } })
    const { config } = parseConfig(yaml, path.join(dir, 'c.yaml'))
    const store = await openStore(config.storage)
    await fillStore(store, url)
    registry = new Registry(config, store, new UpstreamClient(config.uplinks))
  }, 60_000)
  afterAll(async () => {
    await registry.upstream.close()
    await rm(dir, { recursive: true, force: true })
  })

  it('serves 5,000 cached packages offline while its caches stay within their bounds', async () => {
    const peak = { upstream: 0, derived: 0, locals: 0 }
    const names = Array.from({ length: PACKAGES }, (_, i) => nameOf(i))
    const served = new Set<string>()
    await runLimited(names, 16, async (name) => {
      const answer = await registry.packuments.get(name)
      expect(answer.offline).toBe(true)
      expect(answer.view.name).toBe(name)
      served.add(name)
      const use = registry.packuments.cacheUse()
      peak.upstream = Math.max(peak.upstream, use.upstream.bytes)
      peak.derived = Math.max(peak.derived, use.derived.bytes)
      peak.locals = Math.max(peak.locals, use.locals.entries)
    })
    expect(served.size).toBe(PACKAGES)
    expect(peak.upstream).toBeLessThanOrEqual(CACHE_BOUNDS.upstreamViewBytes)
    expect(peak.derived).toBeLessThanOrEqual(CACHE_BOUNDS.derivedViewBytes)
    expect(peak.locals).toBeLessThanOrEqual(CACHE_BOUNDS.localDocs)
    // The bounds were reached, not merely respected by data that never needed them.
    expect(peak.upstream).toBeGreaterThan(CACHE_BOUNDS.upstreamViewBytes * 0.9)
    expect(peak.derived).toBeGreaterThan(CACHE_BOUNDS.derivedViewBytes * 0.9)
    expect(peak.locals).toBe(CACHE_BOUNDS.localDocs)
    const use = registry.packuments.cacheUse()
    expect(use.upstream.entries).toBeLessThan(PACKAGES)
    expect(use.derived.entries).toBeLessThan(PACKAGES)

    // Evicted long ago, and served again the same way: rebuilt from the store.
    const first = await registry.packuments.get(nameOf(0))
    expect(first.offline).toBe(true)
    // No tarball is stored, so offline no version is offered (nor a tag that points at one).
    const doc = JSON.parse(first.view.abbreviated.toString()) as { name: string; 'dist-tags': object; versions: object }
    expect([doc.name, doc['dist-tags'], doc.versions]).toEqual([nameOf(0), {}, {}])
    const local = await registry.packuments.local(nameOf(1))
    expect(local?.doc['dist-tags']).toEqual({ beta: '1.0.0' })
  }, 60_000)
})

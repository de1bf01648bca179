import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { applyPrune, planPrune, storageInfo, verifyStore } from '../../../src/core/maintenance/index.js'
import { openStore, tarballKey, type Store } from '../../../src/core/store/index.js'
import { freshDatabase } from '../../helpers/postgres.js'
import { bytesOf, integrityOf } from './fixture.js'

/**
 * Maintenance on each kind of store, through the store interface alone: five cached tarballs of
 * 100..500 bytes, last used (usage records, after every fetch time) in the order a, e, c, d, b.
 */
const kinds: Array<[string, () => Promise<string>]> = [
  ['folder', () => Promise.resolve(path.join(dir, 'storage'))],
  ['postgresql', () => freshDatabase()],
]
let dir: string

describe.each(kinds)('maintenance on a %s store', (_kind, location) => {
  let store: Store
  const sizes = { a: 100, b: 200, c: 300, d: 400, e: 500 }
  const order = ['a', 'e', 'c', 'd', 'b']

  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'sinopia-maint-stores-'))
    store = await openStore(await location(), { blobCache: path.join(dir, 'cache') })
    const later = Date.now() + 60_000
    for (const [name, size] of Object.entries(sizes)) {
      const bytes = bytesOf(name, '1.0.0', size)
      const doc = { name, 'dist-tags': { latest: '1.0.0' }, versions: { '1.0.0': { name, version: '1.0.0', dist: { tarball: `http://127.0.0.1:9/${name}/-/${name}-1.0.0.tgz`, integrity: integrityOf(bytes) } } } }
      await store.packages.withLock(name, async () => {
        await store.packages.writeUpstream(name, { uplink: 'npmjs', upstreamUrl: 'http://127.0.0.1:9/', doc })
        await store.packages.writeFetched(name, { uplink: 'npmjs', fetchedAt: Date.now() })
      })
      const write = store.blobs.write(tarballKey(name, '1.0.0'), integrityOf(bytes), size)
      write.stream.end(bytes)
      await write.done
    }
    await store.usage.update((usage) => {
      for (const [at, name] of order.entries()) usage.set(tarballKey(name, '1.0.0'), later + at * 1000)
    })
  })
  afterEach(async () => {
    await store.close()
    await rm(dir, { recursive: true, force: true })
  })

  it('storage info counts the tarballs per package and their last use', async () => {
    const info = await storageInfo(store, { top: 2 })
    expect(info.blobs).toEqual({ count: 5, bytes: 1500 })
    expect(info.packages).toEqual({ total: 5, local: 0, cached: 5 })
    expect(info.versions).toEqual({ local: 0, cached: 5 })
    expect(info.largest).toEqual([
      { name: 'e', bytes: 500, versions: 1 },
      { name: 'd', bytes: 400, versions: 1 },
    ])
  })

  it('prune --max-size removes the least recently used until the rest fits', async () => {
    const plan = await planPrune(store, { maxBytes: 800, graceMs: 0 })
    // 1500 -> -100 (a) -> -500 (e) = 900 -> -300 (c) = 600: fits.
    expect(plan.remove.map((item) => item.name)).toEqual(['a', 'e', 'c'])
    expect(plan).toMatchObject({ cachedBytesBefore: 1500, cachedBytesAfter: 600, fits: true, freedBytes: 900 })
    const result = await applyPrune(store, plan)
    expect(result.freedBytes).toBe(900)
    const left: string[] = []
    for await (const entry of store.blobs.eachEntry()) left.push(entry.key)
    expect(left.sort()).toEqual([tarballKey('b', '1.0.0'), tarballKey('d', '1.0.0')])
    expect(await store.blobs.totals()).toEqual({ blobs: 2, bytes: 600 })
  })

  it('verify re-hashes every blob and finds nothing wrong', async () => {
    const report = await verifyStore(store)
    expect(report).toMatchObject({ problems: 0, orphans: 0, blobs: { checked: 5, bytes: 1500 }, entries: { checked: 5, dangling: [] } })
  })
})

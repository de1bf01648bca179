import { writeFile } from 'node:fs/promises'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { scanStore, storageInfo } from '../../../src/core/maintenance/index.js'
import { tarballKey } from '../../../src/core/store/index.js'
import { DAY, addUpstream, bytesOf, cacheTarball, publishLocal, setUsage, tempStore, type TestStore } from './fixture.js'

describe('storageInfo', () => {
  let t: TestStore
  afterEach(() => t.cleanup())
  beforeEach(async () => {
    t = await tempStore()
  })

  it('is all zeros for an empty store', async () => {
    expect(await storageInfo(t.store)).toMatchObject({
      totalBytes: 0,
      blobs: { count: 0, bytes: 0 },
      packages: { total: 0, local: 0, cached: 0 },
      versions: { local: 0, cached: 0 },
      use: { oldest: null, newest: null },
      largest: [],
    })
  })

  it('reads every package of a store with more packages than it reads at once, in name order', async () => {
    const names = Array.from({ length: 30 }, (_, i) => `pkg-${String(i).padStart(2, '0')}`)
    for (const name of [...names].reverse()) await addUpstream(t.store, name, { '1.0.0': bytesOf(name, '1.0.0', 10), '1.1.0': bytesOf(name, '1.1.0', 10) })
    const inventory = await scanStore(t.store)
    expect([...inventory.packages.keys()]).toEqual(names)
    expect([...inventory.packages.values()].map((scan) => scan.upstream)).toEqual(names.map(() => true))
    expect((await storageInfo(t.store)).packages).toEqual({ total: 30, local: 0, cached: 30 })
  })

  it('sizes the uplink documents without reading them: a damaged one still counts, with its bytes (verify is what finds it)', async () => {
    await addUpstream(t.store, 'damaged', { '1.0.0': bytesOf('damaged', '1.0.0', 10) })
    await writeFile(t.store.packages.where('damaged', 'upstream'), '{"doc": {"versions"')
    const info = await storageInfo(t.store)
    expect(info.packages).toEqual({ total: 1, local: 0, cached: 1 })
    expect(info.metadataBytes).toBe((await t.store.packages.sizes('damaged')).upstream + (await t.store.packages.sizes('damaged')).fetched)
    const [scan] = [...(await scanStore(t.store)).packages.values()]
    expect(scan?.broken.map((b) => b.document)).toEqual(['upstream'])
  })

  it('counts a cached packument that lists no version as a cached package', async () => {
    await addUpstream(t.store, 'empty', {})
    expect((await storageInfo(t.store)).packages).toEqual({ total: 1, local: 0, cached: 1 })
  })

  it('counts blobs, packages and versions, the oldest and newest use, and the largest packages', async () => {
    const t0 = Date.parse('2024-01-01T00:00:00.000Z')
    const big = { '1.0.0': bytesOf('big', '1.0.0', 5000), '2.0.0': bytesOf('big', '2.0.0', 6000) }
    await addUpstream(t.store, 'big', big)
    await cacheTarball(t.store, 'big', '1.0.0', big['1.0.0'], t0)
    await cacheTarball(t.store, 'big', '2.0.0', big['2.0.0'], t0 + DAY)
    await addUpstream(t.store, 'small', { '1.0.0': bytesOf('small', '1.0.0', 100) })
    await cacheTarball(t.store, 'small', '1.0.0', bytesOf('small', '1.0.0', 100), t0 + 2 * DAY)
    await publishLocal(t.store, 'mine', { '1.0.0': bytesOf('mine', '1.0.0', 700), '1.1.0': bytesOf('mine', '1.1.0', 800) }, t0 + 3 * DAY)
    await setUsage(t.store, { [tarballKey('big', '1.0.0')]: t0 + 10 * DAY })
    const info = await storageInfo(t.store, { top: 2 })
    expect(info.blobs).toEqual({ count: 5, bytes: 5000 + 6000 + 100 + 700 + 800 })
    expect(info.metadataBytes).toBeGreaterThan(0)
    expect(info.totalBytes).toBe(info.blobs.bytes + info.metadataBytes)
    expect(info.packages).toEqual({ total: 3, local: 1, cached: 2 })
    expect(info.versions).toEqual({ local: 2, cached: 3 })
    expect(info.use).toEqual({ oldest: new Date(t0 + DAY).toISOString(), newest: new Date(t0 + 10 * DAY).toISOString() })
    expect(info.largest).toEqual([
      { name: 'big', bytes: 11000, versions: 2 },
      { name: 'mine', bytes: 1500, versions: 2 },
    ])
  })

  it("counts a package's bytes once per content, below and above the ids it keeps joined in one string", async () => {
    // 40 versions (past SEEN_JOINED), where 1.5.0 and 1.39.0 repeat the bytes of 1.0.0.
    const same = bytesOf('many', '1.0.0', 300)
    for (let minor = 0; minor < 40; minor++) {
      const repeat = minor === 5 || minor === 39
      await cacheTarball(t.store, 'many', `1.${minor}.0`, repeat ? same : bytesOf('many', `1.${minor}.0`, 300))
    }
    const info = await storageInfo(t.store, { top: 1 })
    expect(info.largest).toEqual([{ name: 'many', bytes: 38 * 300, versions: 40 }])
  })
})

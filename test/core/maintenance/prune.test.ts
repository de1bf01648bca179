import { stat, utimes, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { applyPrune, planPrune, readKeepList, type KeepList, type PruneOptions } from '../../../src/core/maintenance/index.js'
import { emptyLocal } from '../../../src/core/registry/merge.js'
import { tarballKey } from '../../../src/core/store/index.js'
import { DAY, addUpstream, bytesOf, cacheTarball, integrityOf, publishLocal, putBlob, setUsage, storedVersions, tempStore, type TestStore } from './fixture.js'

/**
 * A store with, by last use:        size
 *   over@1.0.0    (uplink) 100 d     700   override package: 1.1.0 published here
 *   locked@1.0.0  (uplink) 100 d     600   in the lockfile below
 *   old@1.0.0     (uplink)  40 d     500
 *   mid@1.0.0     (uplink)  10 d     400
 *   old@2.0.0     (uplink)   1 d     300   fetched 40 d ago, served yesterday (usage.json)
 *   new@1.0.0     (uplink)   1 h     200
 *   mine@1.0.0, over@1.1.0 published here 100 d ago (900, 800)
 */
describe('prune', () => {
  let t: TestStore
  let now: number
  const b = {
    over: bytesOf('over', '1.0.0', 700),
    overLocal: bytesOf('over', '1.1.0', 800),
    locked: bytesOf('locked', '1.0.0', 600),
    old1: bytesOf('old', '1.0.0', 500),
    mid: bytesOf('mid', '1.0.0', 400),
    old2: bytesOf('old', '2.0.0', 300),
    fresh: bytesOf('new', '1.0.0', 200),
    mine: bytesOf('mine', '1.0.0', 900),
  }
  const LOCAL = ['mine@1.0.0', 'over@1.1.0']
  const prune = async (options: PruneOptions) => {
    const plan = await planPrune(t.store, { now, ...options })
    return { plan, result: await applyPrune(t.store, plan) }
  }
  const contentExists = (bytes: Buffer) =>
    stat(t.store.blobs.where(integrityOf(bytes))).then(
      () => true,
      () => false,
    )
  const lockfile = async () => {
    const file = path.join(path.dirname(t.root), 'package-lock.json')
    await writeFile(file, JSON.stringify({ lockfileVersion: 3, packages: { '': {}, 'node_modules/locked': { version: '1.0.0', integrity: integrityOf(b.locked) } } }))
    return readKeepList([file], '/')
  }

  beforeEach(async () => {
    t = await tempStore()
    now = Date.now()
    await addUpstream(t.store, 'over', { '1.0.0': b.over })
    await addUpstream(t.store, 'locked', { '1.0.0': b.locked })
    await addUpstream(t.store, 'old', { '1.0.0': b.old1, '2.0.0': b.old2 })
    await addUpstream(t.store, 'mid', { '1.0.0': b.mid })
    await addUpstream(t.store, 'new', { '1.0.0': b.fresh })
    await cacheTarball(t.store, 'over', '1.0.0', b.over, now - 100 * DAY)
    await cacheTarball(t.store, 'locked', '1.0.0', b.locked, now - 100 * DAY)
    await cacheTarball(t.store, 'old', '1.0.0', b.old1, now - 40 * DAY)
    await cacheTarball(t.store, 'mid', '1.0.0', b.mid, now - 10 * DAY)
    await cacheTarball(t.store, 'old', '2.0.0', b.old2, now - 40 * DAY)
    await cacheTarball(t.store, 'new', '1.0.0', b.fresh, now - 3600_000)
    await setUsage(t.store, { [tarballKey('old', '2.0.0')]: now - DAY })
    await publishLocal(t.store, 'mine', { '1.0.0': b.mine }, now - 100 * DAY)
    await publishLocal(t.store, 'over', { '1.1.0': b.overLocal }, now - 100 * DAY, 'override')
  })
  afterEach(() => t.cleanup())

  it('--older-than removes what was neither served nor fetched for that long, and its bytes', async () => {
    const { plan, result } = await prune({ olderThanMs: 30 * DAY })
    expect(plan.remove.map((i) => `${i.name}@${i.version}`)).toEqual(['locked@1.0.0', 'over@1.0.0', 'old@1.0.0'])
    expect(result.removed).toHaveLength(3)
    expect(result.freedBytes).toBe(700 + 600 + 500)
    expect(await storedVersions(t.store)).toEqual(['mid@1.0.0', 'mine@1.0.0', 'new@1.0.0', 'old@2.0.0', 'over@1.1.0'])
    expect(await contentExists(b.over)).toBe(false)
    expect(await contentExists(b.old1)).toBe(false)
    expect(await contentExists(b.old2)).toBe(true)
    expect(plan.kept.local).toBe(2)
  })

  it('--max-size removes the least recently used first until the cached tarballs fit', async () => {
    const { plan, result } = await prune({ maxBytes: 1000 })
    expect(plan.cachedBytesBefore).toBe(2700)
    // 2700 -> -700 (over) -> -600 (locked) -> -500 (old@1) = 900: fits.
    expect(result.removed.map((i) => i.key)).toEqual([tarballKey('locked', '1.0.0'), tarballKey('over', '1.0.0'), tarballKey('old', '1.0.0')])
    expect(result.cachedBytesAfter).toBe(900)
    expect(plan.fits).toBe(true)
  })

  it('--max-size plans the same when the maintained totals under-count, walking the index again', async () => {
    const right = await planPrune(t.store, { now, maxBytes: 1000 })
    // Totals far below what is stored: the held candidates cannot free enough on the first walk.
    await writeFile(path.join(t.root, 'blobs', 'totals.json'), JSON.stringify({ blobs: 1, bytes: 1 }))
    expect((await t.store.blobs.totals()).bytes).toBe(1)
    const low = await planPrune(t.store, { now, maxBytes: 1000 })
    expect(low.remove.map((i) => i.key)).toEqual([tarballKey('locked', '1.0.0'), tarballKey('over', '1.0.0'), tarballKey('old', '1.0.0')])
    expect({ ...low, startedAt: 0 }).toEqual({ ...right, startedAt: 0 })
  })

  it('local versions and keep-lockfile entries survive --max-size 0; everything else goes', async () => {
    const { plan, result } = await prune({ maxBytes: 0, keep: await lockfile() })
    expect(await storedVersions(t.store)).toEqual(['locked@1.0.0', ...LOCAL])
    expect(plan.kept).toEqual({ local: 2, lockfile: 1, recent: 0 })
    expect(plan.fits).toBe(false)
    expect(result.cachedBytesAfter).toBe(600)
    for (const bytes of [b.mine, b.overLocal, b.locked]) expect(await contentExists(bytes)).toBe(true)
    // local.json and the uplink metadata are untouched.
    expect(Object.keys((await t.store.packages.readLocal('over'))?.doc.versions ?? {})).toEqual(['1.1.0'])
    expect(Object.keys((await t.store.packages.readUpstream('old'))?.record.doc.versions ?? {})).toEqual(['1.0.0', '2.0.0'])
  })

  it('combines --older-than, --max-size and --keep-lockfile', async () => {
    const { result } = await prune({ olderThanMs: 30 * DAY, maxBytes: 1000, keep: await lockfile() })
    expect(Object.fromEntries(result.removed.map((i) => [`${i.name}@${i.version}`, i.reason]))).toEqual({
      'over@1.0.0': 'older-than',
      'old@1.0.0': 'older-than',
      'mid@1.0.0': 'max-size',
      'old@2.0.0': 'max-size',
    })
    // Left cached: locked (kept by the lockfile although it is the oldest, 600) and new (200).
    expect(result.cachedBytesAfter).toBe(800)
    expect(await storedVersions(t.store)).toEqual(['locked@1.0.0', 'mine@1.0.0', 'new@1.0.0', 'over@1.1.0'])
  })

  it('a plan alone (--dry-run) lists the items and bytes and changes nothing', async () => {
    const before = await storedVersions(t.store)
    const plan = await planPrune(t.store, { now, maxBytes: 0 })
    expect(plan.remove.map((i) => i.name)).toEqual(['locked', 'over', 'old', 'mid', 'old', 'new'])
    expect(plan.freedBytes).toBe(2700)
    expect(await storedVersions(t.store)).toEqual(before)
    for (const bytes of Object.values(b)) expect(await contentExists(bytes)).toBe(true)
  })

  it('--older-than also drops cached packuments left without tarballs, not fetched within the limit', async () => {
    // None of these keeps a tarball. 'gone' was fetched 60 days ago, 'stale' yesterday; the
    // other two are as old as 'gone' but in a lockfile, or carrying a tag set here.
    const old = now - 60 * DAY
    await addUpstream(t.store, 'gone', { '1.0.0': bytesOf('gone', '1.0.0', 100) }, old)
    await addUpstream(t.store, 'stale', { '1.0.0': bytesOf('stale', '1.0.0', 100) }, now - DAY)
    await addUpstream(t.store, 'locked-name', { '1.0.0': bytesOf('locked-name', '1.0.0', 100) }, old)
    await addUpstream(t.store, 'tagged-here', { '1.0.0': bytesOf('tagged-here', '1.0.0', 100) }, old)
    await t.store.packages.withLock('tagged-here', () => t.store.packages.writeLocal('tagged-here', { ...emptyLocal('override'), 'dist-tags': { stable: '1.0.0' } }))
    // 'old' loses 1.0.0 and keeps 2.0.0, fetched 90 days ago.
    await t.store.packages.withLock('old', () => t.store.packages.writeFetched('old', { uplink: 'npmjs', fetchedAt: now - 90 * DAY }))
    const keep: KeepList = { files: [], specs: new Set(['locked-name@1.0.0']), integrities: new Set() }
    const { plan, result } = await prune({ olderThanMs: 30 * DAY, keep })
    expect(plan.packuments.map((p) => p.name)).toEqual(['gone'])
    expect(plan.freedBytes).toBeGreaterThanOrEqual(700 + 600 + 500 + plan.packuments[0]!.bytes)
    expect(result.packumentsRemoved.map((p) => p.name)).toEqual(['gone'])
    expect(await t.store.packages.readUpstream('gone')).toBeNull()
    // fetched.json stays: the record that the name comes from the uplink.
    expect((await t.store.packages.readFetched('gone'))?.fetchedAt).toBe(old)
    for (const name of ['stale', 'locked-name', 'tagged-here', 'old', 'over', 'mid']) expect(await t.store.packages.readUpstream(name)).not.toBeNull()
    // Pruned again: nothing more to do for it.
    expect((await planPrune(t.store, { now, olderThanMs: 30 * DAY, keep })).packuments).toEqual([])
    // --max-size alone never drops packuments.
    expect((await planPrune(t.store, { now, maxBytes: 0 })).packuments).toEqual([])
  })

  it('only sizes a cached packument: a broken one is not prune’s to report, and with no tarballs and old it goes as stale', async () => {
    await addUpstream(t.store, 'gone', { '1.0.0': bytesOf('gone', '1.0.0', 100) }, now - 60 * DAY)
    await writeFile(path.join(t.root, 'packages', 'gone', 'upstream.json'), '{"uplink": not json')
    const { plan, result } = await prune({ olderThanMs: 30 * DAY })
    expect(plan.warnings.join('\n')).not.toMatch(/gone/)
    expect(result.packumentsRemoved.map((p) => p.name)).toContain('gone')
    expect(await t.store.packages.upstreamMtime('gone')).toBeNull()
  })

  it('leaves a packument fetched again, or given a tag here, after the plan', async () => {
    await addUpstream(t.store, 'refetched', { '1.0.0': bytesOf('refetched', '1.0.0', 100) }, now - 60 * DAY)
    await addUpstream(t.store, 'claimed', { '1.0.0': bytesOf('claimed', '1.0.0', 100) }, now - 60 * DAY)
    const plan = await planPrune(t.store, { now, olderThanMs: 30 * DAY })
    expect(plan.packuments.map((p) => p.name)).toEqual(['claimed', 'refetched'])
    await t.store.packages.withLock('refetched', () => t.store.packages.writeFetched('refetched', { uplink: 'npmjs', fetchedAt: now }))
    await t.store.packages.withLock('claimed', () => t.store.packages.writeLocal('claimed', { ...emptyLocal('override'), 'dist-tags': { stable: '1.0.0' } }))
    const result = await applyPrune(t.store, plan)
    expect(result.packumentsRemoved).toEqual([])
    expect(result.skipped.filter((s) => s.key.startsWith('packument:'))).toEqual([
      { key: 'packument:claimed', why: 'published here since the plan' },
      { key: 'packument:refetched', why: 'fetched again since the plan' },
    ])
  })

  it('needs a criterion', async () => {
    await expect(planPrune(t.store, {})).rejects.toMatchObject({ code: 'EUSAGE' })
  })

  it('keeps tarballs stored in the last minutes (a publish may be about to claim them)', async () => {
    const plan = await planPrune(t.store, { now: now - 3600_000 + 30_000, maxBytes: 0 })
    expect(plan.kept.recent).toBe(1)
    expect(plan.remove.map((i) => i.name)).not.toContain('new')
  })

  it('leaves a version published after the plan, and a tarball stored again after it', async () => {
    const plan = await planPrune(t.store, { now, olderThanMs: 30 * DAY })
    // Meanwhile: old@1.0.0 is published here with the same bytes, locked@1.0.0 is fetched again.
    await publishLocal(t.store, 'old', { '1.0.0': b.old1 }, now, 'override')
    await cacheTarball(t.store, 'locked', '1.0.0', b.locked, now)
    const result = await applyPrune(t.store, plan)
    expect(result.removed.map((i) => i.key)).toEqual([tarballKey('over', '1.0.0')])
    expect(result.skipped).toEqual([
      { key: tarballKey('locked', '1.0.0'), why: 'stored again since the plan' },
      { key: tarballKey('old', '1.0.0'), why: 'published here since the plan' },
    ])
    expect(await contentExists(b.old1)).toBe(true)
    expect(await contentExists(b.locked)).toBe(true)
  })

  it('keeps every tarball of a package whose local.json does not parse', async () => {
    await writeFile(path.join(t.root, 'packages', 'old', 'local.json'), '{not json')
    const plan = await planPrune(t.store, { now, maxBytes: 0 })
    expect(plan.remove.map((i) => i.name)).not.toContain('old')
    expect(plan.warnings.join('\n')).toMatch(/local\.json is not valid JSON; its tarballs are kept/)
  })

  it('keeps bytes shared with a published version, and frees shared cached bytes with the last reference', async () => {
    // alias@1.0.0 (uplink) has the very bytes of mine@1.0.0; twin@1.0.0 those of mid@1.0.0.
    await addUpstream(t.store, 'alias', { '1.0.0': b.mine })
    await cacheTarball(t.store, 'alias', '1.0.0', b.mine, now - 100 * DAY)
    await addUpstream(t.store, 'twin', { '1.0.0': b.mid })
    await cacheTarball(t.store, 'twin', '1.0.0', b.mid, now - 100 * DAY)
    const { plan, result } = await prune({ maxBytes: 0 })
    expect(plan.kept.local).toBe(3)
    expect(result.removed.map((i) => i.name)).toContain('twin')
    expect(await contentExists(b.mine)).toBe(true)
    expect(await contentExists(b.mid)).toBe(false)
    expect(result.freedBytes).toBe(2700)
  })

  it('collects content nothing refers to, once it is older than the grace period', async () => {
    const stray = bytesOf('stray', '1.0.0', 123)
    const young = bytesOf('young', '1.0.0', 77)
    await cacheTarball(t.store, 'stray', '1.0.0', stray)
    await cacheTarball(t.store, 'young', '1.0.0', young)
    await t.store.blobs.dropEntry(tarballKey('stray', '1.0.0'))
    await t.store.blobs.dropEntry(tarballKey('young', '1.0.0'))
    const old = new Date(now - DAY)
    await utimes(t.store.blobs.where(integrityOf(stray)), old, old)
    const { plan, result } = await prune({ olderThanMs: 365 * DAY })
    expect(plan.remove).toEqual([])
    expect(result.orphansRemoved.map((o) => o.size)).toEqual([123])
    expect(await contentExists(stray)).toBe(false)
    expect(await contentExists(young)).toBe(true)
  })

  it('drops the usage records of what it removed, and of keys no longer stored', async () => {
    await setUsage(t.store, { [tarballKey('old', '1.0.0')]: now - 35 * DAY, [tarballKey('gone', '1.0.0')]: now - DAY, [tarballKey('just', '1.0.0')]: now })
    await prune({ olderThanMs: 30 * DAY })
    const usage = await t.store.usage.read()
    expect([...usage.keys()].sort()).toEqual([tarballKey('just', '1.0.0'), tarballKey('old', '2.0.0')])
  })

  it('leaves index keys of another shape alone', async () => {
    await putBlob(t.store, 'something-else', Buffer.from('x'), now - 999 * DAY)
    await prune({ maxBytes: 0 })
    expect(await t.store.blobs.entry('something-else')).toBeTruthy()
  })
})

import { mkdtemp, rm, stat, utimes } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { stringify } from 'yaml'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { parseConfig } from '../../../src/core/config/index.js'
import { Packuments } from '../../../src/core/registry/packuments.js'
import { PackageRules } from '../../../src/core/registry/index.js'
import { emptyLocal } from '../../../src/core/registry/merge.js'
import { openStore, type Store } from '../../../src/core/store/index.js'
import { UpstreamClient } from '../../../src/core/upstream/client.js'
import { startFakeUpstream, type FakeUpstream } from '../../helpers/fake-upstream.js'
import { buildPackage } from '../../helpers/packages.js'

/**
 * Packuments.local: what was published here, its file's stamp checked on every read (one
 * stat), so another process's write is seen by the next read, and the file parsed again only
 * when the stamp changed.
 */
describe('Packuments.local', () => {
  let upstream: FakeUpstream
  let dir: string
  let store: Store
  let client: UpstreamClient
  let clock: number
  let packuments: Packuments
  beforeEach(async () => {
    upstream = await startFakeUpstream({ packages: [await buildPackage({ name: 'alpha', version: '1.0.0' })] })
    dir = await mkdtemp(path.join(tmpdir(), 'sinopia-local-'))
    const { config } = parseConfig(stringify({ storage: path.join(dir, 'storage'), uplinks: { npmjs: { url: upstream.url } } }), path.join(dir, 'c.yaml'))
    store = await openStore(config.storage)
    client = new UpstreamClient(config.uplinks)
    clock = Date.now()
    packuments = new Packuments(store, client, new PackageRules(config.packages), () => clock)
  })
  afterEach(async () => {
    await client.close()
    await upstream.stop()
    await rm(dir, { recursive: true, force: true })
  })

  it('reads nothing for a package with nothing published here, and sees another process’s first publish', async () => {
    await packuments.get('alpha')
    const reads = vi.spyOn(store.packages, 'readLocal')
    for (let i = 0; i < 3; i++) expect(await packuments.local('alpha')).toBeNull()
    expect(reads).not.toHaveBeenCalled()

    // Another process (its own store object) publishes: the very next read finds it.
    const other = await openStore(store.root)
    const doc = { ...emptyLocal('override'), 'dist-tags': { beta: '1.0.0' } }
    await other.packages.withLock('alpha', () => other.packages.writeLocal('alpha', doc))
    expect((await packuments.local('alpha'))?.doc['dist-tags']).toEqual({ beta: '1.0.0' })
    expect(reads).toHaveBeenCalledTimes(1)
  })

  it('sees another process’s change on the very next read, even one of the same size and mtime', async () => {
    const other = await openStore(store.root)
    const write = (tag: string) => other.packages.withLock('alpha', () => other.packages.writeLocal('alpha', { ...emptyLocal('override'), 'dist-tags': { [tag]: '1.0.0' } }))
    await write('one')
    expect((await packuments.local('alpha'))?.doc['dist-tags']).toEqual({ one: '1.0.0' })
    // No clock moves: a time window would still answer from memory.
    const file = path.join(store.root, 'packages', 'alpha', 'local.json')
    const before = await stat(file)
    await write('two')
    // Same size, and the mtime set back, as on a file system that keeps seconds: the new inode tells.
    await utimes(file, before.atime, before.mtime)
    expect((await stat(file)).size).toBe(before.size)
    expect((await packuments.local('alpha'))?.doc['dist-tags']).toEqual({ two: '1.0.0' })
    await other.packages.withLock('alpha', () => other.packages.writeLocal('alpha', null))
    expect(await packuments.local('alpha')).toBeNull()
  })

  it('reads the file once while it stays the same, and once for concurrent reads after a change', async () => {
    const other = await openStore(store.root)
    const write = (tag: string) => other.packages.withLock('alpha', () => other.packages.writeLocal('alpha', { ...emptyLocal('override'), 'dist-tags': { [tag]: '1.0.0' } }))
    await write('one')
    const first = await packuments.local('alpha')
    const reads = vi.spyOn(store.packages, 'readLocal')
    for (let i = 0; i < 3; i++) expect(await packuments.local('alpha')).toBe(first)
    expect(reads).not.toHaveBeenCalled()
    await write('two')
    const seen = await Promise.all(Array.from({ length: 5 }, () => packuments.local('alpha')))
    expect(seen.map((entry) => entry?.doc['dist-tags'])).toEqual(Array(5).fill({ two: '1.0.0' }))
    expect(reads).toHaveBeenCalledTimes(1)
  })

  it('gives every write of local.json a later mtime than the one before, so no stamp repeats', async () => {
    const file = path.join(store.root, 'packages', 'alpha', 'local.json')
    const write = (tag: string) => store.packages.withLock('alpha', () => store.packages.writeLocal('alpha', { ...emptyLocal('override'), 'dist-tags': { [tag]: '1.0.0' } }))
    await write('one')
    // As if the clock gave the next writes an mtime no later (a coarse or stepped-back clock).
    const ahead = new Date(Date.now() + 60_000)
    await utimes(file, ahead, ahead)
    const seen = new Set([store.packages.localStamp('alpha')])
    let previous = (await stat(file)).mtimeMs
    for (const tag of ['two', 'six', 'ten']) {
      await write(tag)
      const { mtimeMs } = await stat(file)
      expect(mtimeMs).toBeGreaterThan(previous)
      previous = mtimeMs
      seen.add(store.packages.localStamp('alpha'))
    }
    expect(seen.size).toBe(4)
  })
})

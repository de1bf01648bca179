import { createHash, randomBytes } from 'node:crypto'
import { mkdtemp, readdir, rm, stat } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { openStore, tarballKey, type Store } from '../../../src/core/store/index.js'
import { BlobCache } from '../../../src/core/store/pg/blob-cache.js'
import { freshDatabase } from '../../helpers/postgres.js'

const sri = (data: Buffer) => `sha512-${createHash('sha512').update(data).digest('base64')}`
const SIZE = 64 * 1024

/** The bytes of every copy in a cache folder (its content-addressed files, not tmp/). */
async function cachedBytes(dir: string): Promise<number> {
  const files = (await readdir(path.join(dir, 'sha512'), { recursive: true, withFileTypes: true })).filter((f) => f.isFile())
  const sizes = await Promise.all(files.map(async (f) => (await stat(path.join(f.parentPath, f.name))).size))
  return sizes.reduce((sum, size) => sum + size, 0)
}

/**
 * The PostgreSQL store's disk copy of blobs is bounded: past `blobCacheBytes` the least recently
 * used copies go, and a blob whose copy went is served again from the database, verified.
 */
describe('the PostgreSQL blob cache bound', () => {
  let url: string
  let dir: string
  const opened: Store[] = []
  const open = async (cache: string, blobCacheBytes: number) => {
    const store = await openStore(url, { blobCache: path.join(dir, cache), blobCacheBytes })
    opened.push(store)
    return store
  }
  const blobs = Array.from({ length: 4 }, () => randomBytes(SIZE))
  const keys = blobs.map((_, i) => tarballKey('p', `1.0.${i}`))
  const has = (cache: string, i: number) =>
    stat(new BlobCache(path.join(dir, cache)).path(sri(blobs[i] as Buffer))).then(
      () => true,
      () => false,
    )
  const read = async (store: Store, i: number) => {
    const blob = await store.blobs.open(sri(blobs[i] as Buffer), keys[i] as string)
    const bytes = await blob?.handle.readFile()
    await blob?.handle.close()
    return bytes
  }
  /** Stores blob i, then reads it: a small write goes to the database in one statement, and the first read makes the disk copy. */
  const put = async (store: Store, i: number) => {
    const write = store.blobs.write(keys[i] as string, sri(blobs[i] as Buffer), SIZE)
    write.stream.end(blobs[i])
    await write.done
    expect((await read(store, i))?.equals(blobs[i] as Buffer)).toBe(true)
  }

  beforeEach(async () => {
    url = await freshDatabase()
    dir = await mkdtemp(path.join(tmpdir(), 'sinopia-pg-cache-'))
  })
  afterEach(async () => {
    await Promise.all(opened.splice(0).map((s) => s.close()))
    await rm(dir, { recursive: true, force: true })
  })

  it('keeps the copies within the bound, dropping the least recently used; a dropped one is served again from the database', async () => {
    const store = await open('a', 2.5 * SIZE)
    await put(store, 0)
    await put(store, 1)
    // 0 read again: 1 is now the least recently used, and goes when 2 comes.
    expect((await read(store, 0))?.equals(blobs[0] as Buffer)).toBe(true)
    await put(store, 2)
    expect([await has('a', 0), await has('a', 1), await has('a', 2)]).toEqual([true, false, true])
    expect(await cachedBytes(path.join(dir, 'a'))).toBeLessThanOrEqual(2.5 * SIZE)
    // Its copy gone, the blob is still the database's: filled again through the verified writer.
    expect((await read(store, 1))?.equals(blobs[1] as Buffer)).toBe(true)
    expect([await has('a', 0), await has('a', 1), await has('a', 2)]).toEqual([false, true, true])
    expect(await cachedBytes(path.join(dir, 'a'))).toBeLessThanOrEqual(2.5 * SIZE)
  })

  it('a reader holding a copy open keeps reading it whole after it is dropped', async () => {
    const store = await open('a', 1.5 * SIZE)
    await put(store, 0)
    const held = await store.blobs.open(sri(blobs[0] as Buffer), keys[0] as string)
    await put(store, 1)
    expect(await has('a', 0)).toBe(false)
    expect((await held?.handle.readFile())?.equals(blobs[0] as Buffer)).toBe(true)
    await held?.handle.close()
  })

  it('fills one instance’s cache from the database within that instance’s bound', async () => {
    const writer = await open('writer', 10 * SIZE)
    for (const i of [0, 1, 2, 3]) await put(writer, i)
    const reader = await open('reader', 2 * SIZE)
    for (const i of [0, 1, 2, 3]) expect((await read(reader, i))?.equals(blobs[i] as Buffer)).toBe(true)
    expect([await has('reader', 0), await has('reader', 1), await has('reader', 2), await has('reader', 3)]).toEqual([false, false, true, true])
  })

  it('counts the copies a restart finds, and removes the oldest past a smaller bound', async () => {
    const first = await open('a', 10 * SIZE)
    for (const i of [0, 1, 2, 3]) await put(first, i)
    await first.close()
    opened.splice(opened.indexOf(first), 1)
    const again = await open('a', 2 * SIZE)
    expect(await cachedBytes(path.join(dir, 'a'))).toBeLessThanOrEqual(2 * SIZE)
    expect(await has('a', 3)).toBe(true)
    for (const i of [0, 1, 2, 3]) expect((await read(again, i))?.equals(blobs[i] as Buffer)).toBe(true)
  })
})

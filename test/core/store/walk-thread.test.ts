import { createHash } from 'node:crypto'
import { mkdir, mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { Worker } from 'node:worker_threads'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { WALK_BATCH } from '../../../src/core/store/fs/walk-thread.js'
import { openStore, tarballKey, type Store } from '../../../src/core/store/index.js'

/** The folder store's walks on worker threads: their items, their errors, and leaving early. */
describe('folder store walks on worker threads', () => {
  let dir: string
  let store: Store
  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'sinopia-walk-'))
    store = await openStore(path.join(dir, 'storage'))
  })
  afterEach(() => rm(dir, { recursive: true, force: true }))

  const put = async (name: string, version: string) => {
    const data = Buffer.from(`${name}@${version}`)
    const write = store.blobs.write(tarballKey(name, version), `sha512-${createHash('sha512').update(data).digest('base64')}`, data.length)
    write.stream.end(data)
    await write.done
  }
  const collect = async <T>(items: AsyncIterable<T>) => {
    const out: T[] = []
    for await (const item of items) out.push(item)
    return out
  }

  it('yields every index entry across batches; leaving early stops the thread, and a later walk still works', async () => {
    // More entries than one batch of the thread (WALK_BATCH), written 32 at once.
    const keys = Array.from({ length: WALK_BATCH + 88 }, (_, i) => tarballKey(`pkg-${i}`, '1.0.0'))
    for (let i = 0; i < keys.length; i += 32) await Promise.all(keys.slice(i, i + 32).map((_, j) => put(`pkg-${i + j}`, '1.0.0')))
    const first = (await collect(store.blobs.eachEntry())).map((entry) => entry.key)
    expect([...first].sort()).toEqual([...keys].sort())
    const terminate = vi.spyOn(Worker.prototype, 'terminate')
    let taken = 0
    for await (const _ of store.blobs.eachEntry()) if (++taken === 3) break
    expect(taken).toBe(3)
    expect(terminate).toHaveBeenCalledTimes(1)
    terminate.mockRestore()
    expect((await collect(store.blobs.eachEntry())).length).toBe(keys.length)
  })

  it("throws the walk's error with its code and errno fields (an entries file that is a folder: EISDIR)", async () => {
    await put('fine', '1.0.0')
    await mkdir(path.join(dir, 'storage', 'blobs', 'entries', 'odd'))
    await expect(collect(store.blobs.eachEntry())).rejects.toMatchObject({ code: 'EISDIR', syscall: 'read', errno: expect.any(Number) })
  })

  it('scans packages on threads: a document that is a folder fails the scan with its code', async () => {
    await store.packages.withLock('odd', () => store.packages.writeFetched('odd', { uplink: 'npmjs', fetchedAt: 1 }))
    await mkdir(store.packages.where('odd', 'upstream'))
    await expect(collect(store.packages.scan(['odd'], 'parse'))).rejects.toMatchObject({ code: 'EISDIR' })
    await expect(collect(store.packages.scan(['odd'], 'size'))).rejects.toMatchObject({ code: 'EISDIR' })
  })
})

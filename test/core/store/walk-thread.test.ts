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

  it('checks the content in two lanes, the helper thread started by helpersAfter: every content once', async () => {
    const keys = Array.from({ length: 200 }, (_, i) => tarballKey(`lane-${i}`, '1.0.0'))
    for (let i = 0; i < keys.length; i += 32) await Promise.all(keys.slice(i, i + 32).map((_, j) => put(`lane-${i + j}`, '1.0.0')))
    const expected = keys.map((key) => {
      const data = Buffer.from(key.slice('tarball:'.length))
      return `sha512-${createHash('sha512').update(data).digest('base64')}`
    })
    // walkOnThread listens on its worker as soon as it makes it: the helper's start.
    const started = vi.spyOn(Worker.prototype, 'on')
    let open: () => void = () => undefined
    const gate = new Promise<void>((resolve) => (open = resolve))
    const seen: string[] = []
    for await (const checked of store.blobs.checkContent({ helpersAfter: gate })) {
      expect(checked.result).toBe('ok')
      seen.push(checked.integrity)
      // The first comes from this thread's lane; then the helper joins for what is left.
      if (seen.length === 1) {
        expect(started).not.toHaveBeenCalled()
        open()
      }
    }
    expect([...seen].sort()).toEqual([...expected].sort())
    expect(started).toHaveBeenCalled()
    started.mockRestore()
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

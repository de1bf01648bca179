import { createHash } from 'node:crypto'
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import cacache from 'cacache'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { entriesFileOf, formatLine } from '../../../src/core/store/fs/entries.js'
import { openFsStore, type FsStore } from '../../../src/core/store/fs/open.js'
import { tarballKey } from '../../../src/core/store/index.js'

const sri = (data: Buffer) => `sha512-${createHash('sha512').update(data).digest('base64')}`

/** A format 1 folder (cacache's index-v5, one bucket per key) opened by this version. */
describe('upgrading a format 1 storage folder', () => {
  let root: string
  const blobs = () => path.join(root, 'blobs')
  const bytes = (key: string) => Buffer.from(`bytes of ${key}`)
  const put = (key: string, time: number, verified = true) =>
    cacache.put(blobs(), key, bytes(key), { time, algorithms: ['sha512'], ...(verified ? { metadata: { verified: 1 } } : {}) } as cacache.put.Options)

  beforeEach(async () => {
    root = await mkdtemp(path.join(tmpdir(), 'sinopia-upgrade-'))
    await writeFile(path.join(root, 'format.json'), '{"format": 1}\n')
    await mkdir(path.join(root, 'packages'))
    await put(tarballKey('a', '1.0.0'), 1000)
    await put(tarballKey('a', '2.0.0'), 2000)
    await put(tarballKey('@scope/b', '1.0.0'), 3000, false)
    await put(tarballKey('gone', '1.0.0'), 4000)
    await cacache.rm.entry(blobs(), tarballKey('gone', '1.0.0'))
    await put('something-else', 5000)
  })
  afterEach(() => rm(root, { recursive: true, force: true }))

  const entriesOf = async (store: FsStore) => {
    const out: Array<{ key: string; time: number }> = []
    for await (const entry of store.blobs.eachEntry()) out.push({ key: entry.key, time: entry.time })
    return out.sort((x, y) => (x.key < y.key ? -1 : 1))
  }
  const expected = [
    { key: 'something-else', time: 5000 },
    { key: tarballKey('@scope/b', '1.0.0'), time: 3000 },
    { key: tarballKey('a', '1.0.0'), time: 1000 },
    { key: tarballKey('a', '2.0.0'), time: 2000 },
  ]

  it("moves every live entry into its package's file with its time and mark, then drops index-v5 and writes format 2", async () => {
    const store = await openFsStore(root)
    expect(JSON.parse(await readFile(path.join(root, 'format.json'), 'utf8'))).toEqual({ format: 2 })
    await expect(stat(path.join(blobs(), 'index-v5'))).rejects.toMatchObject({ code: 'ENOENT' })
    expect(await entriesOf(store)).toEqual(expected)
    expect(await store.blobs.entries.get(tarballKey('@scope/b', '1.0.0'))).toMatchObject({ verified: false })
    expect(await store.blobs.entries.get(tarballKey('a', '1.0.0'))).toMatchObject({ verified: true })
    // Served as before: the content did not move.
    const blob = await store.blobs.open(sri(bytes(tarballKey('a', '2.0.0'))), tarballKey('a', '2.0.0'))
    expect(await blob?.handle.readFile()).toEqual(bytes(tarballKey('a', '2.0.0')))
    await blob?.handle.close()
    // The unverified one is hashed on its first open, and marked.
    expect(await store.blobs.has(undefined, tarballKey('@scope/b', '1.0.0'))).toBe(true)
    expect(await store.blobs.entries.get(tarballKey('@scope/b', '1.0.0'))).toMatchObject({ verified: true, time: 3000 })
    await store.close()
  })

  it('runs again after a crash: an entry appended before it reads once', async () => {
    // What a crash after the first appends leaves: some lines in the new files, index-v5 whole,
    // format.json saying an upgrade runs (which a format 1 reader refuses).
    const key = tarballKey('a', '1.0.0')
    await writeFile(path.join(root, 'format.json'), '{"format":2,"upgrading":1}\n')
    await mkdir(path.join(blobs(), 'entries'))
    await writeFile(entriesFileOf(blobs(), key), formatLine({ key, integrity: sri(bytes(key)), time: 1000, size: bytes(key).length, metadata: { verified: 1 } }))
    const store = await openFsStore(root)
    expect(await entriesOf(store)).toEqual(expected)
    await store.close()
  })

  it('two processes opening it at once: one upgrades, the other waits and finds format 2', async () => {
    const [one, two] = await Promise.all([openFsStore(root), openFsStore(root)])
    expect(await entriesOf(one)).toEqual(expected)
    expect(await entriesOf(two)).toEqual(expected)
    await Promise.all([one.close(), two.close()])
  })

  it('upgrades a folder with a format 1 index and no format.json, rather than taking it for a new one', async () => {
    await rm(path.join(root, 'format.json'))
    const store = await openFsStore(root)
    expect(await entriesOf(store)).toEqual(expected)
    await store.close()
  })

  it('is not stopped by a stray folder in the old index; a leftover of it (a removal cut short) goes at the next open', async () => {
    await mkdir(path.join(blobs(), 'index-v5', 'zz', 'zz', 'not-a-bucket', 'inside'), { recursive: true })
    const store = await openFsStore(root)
    expect(await entriesOf(store)).toEqual(expected)
    await store.close()
    expect(JSON.parse(await readFile(path.join(root, 'format.json'), 'utf8'))).toEqual({ format: 2 })
    await expect(stat(path.join(blobs(), 'index-v5'))).rejects.toMatchObject({ code: 'ENOENT' })
    // A crash during the removal leaves some of it, under format 2.
    await mkdir(path.join(blobs(), 'index-v5', 'ab', 'cd'), { recursive: true })
    await writeFile(path.join(blobs(), 'index-v5', 'ab', 'cd', 'ef'), 'a bucket')
    const again = await openFsStore(root)
    await expect(stat(path.join(blobs(), 'index-v5'))).rejects.toMatchObject({ code: 'ENOENT' })
    expect(await entriesOf(again)).toEqual(expected)
    await again.close()
  })

  it('refuses a format it does not know', async () => {
    await writeFile(path.join(root, 'format.json'), '{"format": 3}\n')
    await expect(openFsStore(root)).rejects.toMatchObject({ code: 'ESTORAGE', message: expect.stringContaining('has format 3') })
  })
})

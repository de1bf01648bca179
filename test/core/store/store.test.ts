import { createHash } from 'node:crypto'
import { mkdtemp, readFile, readdir, rm, truncate, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { openFsStore, type FsStore } from '../../../src/core/store/fs/open.js'
import { expectedIntegrity } from '../../../src/core/store/index.js'

const sri = (data: Buffer, algo = 'sha512') => `${algo}-${createHash(algo).update(data).digest('base64')}`

async function listFiles(dir: string): Promise<string[]> {
  const out: string[] = []
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) out.push(path.join(entry.parentPath, entry.name))
  }
  return out
}

describe('store', () => {
  let root: string
  let store: FsStore
  beforeEach(async () => {
    root = await mkdtemp(path.join(tmpdir(), 'sinopia-store-'))
    store = await openFsStore(root)
  })
  afterEach(() => rm(root, { recursive: true, force: true }))

  it('stores a blob under its sha512 and opens it by integrity', async () => {
    const data = Buffer.from('tarball bytes')
    const write = store.blobs.write('tarball:a@1.0.0', sri(data), data.length)
    write.stream.end(data)
    const { integrity, size } = await write.done
    expect(integrity).toBe(sri(data))
    expect(size).toBe(data.length)
    const blob = await store.blobs.open(sri(data), 'tarball:a@1.0.0')
    expect(blob?.size).toBe(data.length)
    expect(await blob?.handle.readFile()).toEqual(data)
    await blob?.handle.close()
  })

  it('finds a blob known only by sha1 through the key it was stored under', async () => {
    const data = Buffer.from('old package')
    const sha1 = expectedIntegrity({ shasum: createHash('sha1').update(data).digest('hex') })
    expect(sha1).toMatch(/^sha1-/)
    const write = store.blobs.write('tarball:old@0.1.0', sha1 as string)
    write.stream.end(data)
    expect((await write.done).integrity).toBe(sri(data))
    expect(await store.blobs.has(sha1 as string, 'tarball:old@0.1.0')).toBe(true)
    expect(await store.blobs.has(sha1 as string, 'tarball:other@0.1.0')).toBe(false)
  })

  it('refuses bytes that do not match and leaves nothing visible', async () => {
    const data = Buffer.from('the real bytes')
    const write = store.blobs.write('tarball:a@1.0.0', sri(Buffer.from('other bytes')))
    write.stream.end(data)
    await expect(write.done).rejects.toMatchObject({ code: 'EINTEGRITY' })
    expect(await store.blobs.has(sri(data), 'tarball:a@1.0.0')).toBe(false)
    const content = (await listFiles(store.blobs.dir)).filter((f) => f.includes('content-v2'))
    expect(content).toEqual([])
  })

  it('serves a blob only under the key it was stored for', async () => {
    const data = Buffer.from('published under one name')
    const write = store.blobs.write('tarball:mine@1.0.0', sri(data), data.length)
    write.stream.end(data)
    await write.done
    expect(await store.blobs.has(sri(data), 'tarball:mine@1.0.0')).toBe(true)
    expect(await store.blobs.has(sri(data), 'tarball:theirs@1.0.0')).toBe(false)
  })

  it('hashes an entry written by an older version once before serving it; a truncated one is quarantined, not served', async () => {
    const good = Buffer.from('bytes an older version stored')
    const cut = Buffer.from('bytes that lost their tail on a full disk')
    // As a format 1 folder's entries come out of the upgrade: without the mark that the bytes were checked on disk.
    for (const [key, data] of [['tarball:old@1.0.0', good], ['tarball:cut@1.0.0', cut]] as const) {
      const write = store.blobs.write(key, sri(data), data.length)
      write.stream.end(data)
      await write.done
      await store.blobs.entries.put(key, { integrity: sri(data), size: data.length, time: 1234, verified: false })
    }
    // A fresh store over the same folder: nothing remembered in memory.
    store = await openFsStore(root)
    await truncate(store.blobs.where(sri(cut)), 10)
    const blob = await store.blobs.open(sri(good), 'tarball:old@1.0.0')
    expect(await blob?.handle.readFile()).toEqual(good)
    await blob?.handle.close()
    expect(await store.blobs.open(sri(cut), 'tarball:cut@1.0.0')).toBeNull()
    const quarantined = await readdir(path.join(root, 'quarantine', 'blobs'))
    expect(quarantined).toHaveLength(1)
    expect(quarantined[0]).toMatch(new RegExp(`^${createHash('sha512').update(cut).digest('hex')}\\.\\d+$`))
    // The check is recorded: a new process trusts the first entry without hashing it again.
    const entry = await store.blobs.entries.get('tarball:old@1.0.0')
    expect(entry).toMatchObject({ verified: true, time: 1234 })
  })

  it('blob totals: counted once from the content when totals.json is missing, then kept; a drifted file is put right by recount', async () => {
    const put = async (key: string, data: Buffer) => {
      const write = store.blobs.write(key, sri(data), data.length)
      write.stream.end(data)
      await write.done
    }
    await put('tarball:a@1.0.0', Buffer.alloc(300, 1))
    await put('tarball:b@1.0.0', Buffer.alloc(200, 2))
    const file = path.join(root, 'blobs', 'totals.json')
    // Merged in the background; closing waits for it.
    await store.blobs.close()
    expect(JSON.parse(await readFile(file, 'utf8'))).toEqual({ blobs: 2, bytes: 500 })
    expect(await store.blobs.countHint()).toBe(2)
    // A store written by an older version has no file: the first answer walks the content.
    await rm(file)
    await put('tarball:c@1.0.0', Buffer.alloc(50, 3))
    // The hint only reads: it neither walks nor writes the file.
    expect(await store.blobs.countHint()).toBe(0)
    expect(await readFile(file, 'utf8').catch(() => null)).toBeNull()
    expect(await store.blobs.totals()).toEqual({ blobs: 3, bytes: 550 })
    expect(JSON.parse(await readFile(file, 'utf8'))).toEqual({ blobs: 3, bytes: 550 })
    // Drift (a process killed before it merged its changes): answered as kept until counted again.
    await writeFile(file, JSON.stringify({ blobs: 7, bytes: 9 }))
    expect(await store.blobs.totals()).toEqual({ blobs: 7, bytes: 9 })
    expect(await store.blobs.recount()).toEqual({ blobs: 3, bytes: 550 })
    expect(await store.blobs.totals()).toEqual({ blobs: 3, bytes: 550 })
    // A file that does not parse is counted again rather than trusted.
    await writeFile(file, '{"blobs": -1')
    expect(await store.blobs.totals()).toEqual({ blobs: 3, bytes: 550 })
  })

  it('writes metadata atomically and reads a missing file as null', async () => {
    expect(await store.packages.readUpstream('@acme/x')).toBeNull()
    await store.packages.withLock('@acme/x', () =>
      store.packages.writeUpstream('@acme/x', { uplink: 'npmjs', upstreamUrl: 'http://up/', doc: { name: '@acme/x', versions: {} } }),
    )
    const loaded = await store.packages.readUpstream('@acme/x')
    expect(loaded?.record.doc.name).toBe('@acme/x')
    expect(await store.packages.list()).toEqual(['@acme/x'])
    const files = await readdir(path.join(root, 'packages', '%40acme%2Fx'))
    expect(files.filter((f) => f.endsWith('.tmp'))).toEqual([])
  })

  it('reports a broken metadata file as ECORRUPT', async () => {
    await store.packages.withLock('x', () => store.packages.writeFetched('x', { uplink: 'npmjs', fetchedAt: 1 }))
    await writeFile(path.join(root, 'packages', 'x', 'upstream.json'), '{not json')
    await expect(store.packages.readUpstream('x')).rejects.toMatchObject({ code: 'ECORRUPT' })
  })

  it('refuses a storage folder of another format', async () => {
    await writeFile(path.join(root, 'format.json'), JSON.stringify({ format: 99 }))
    await expect(openFsStore(root)).rejects.toMatchObject({ code: 'ESTORAGE' })
    expect(JSON.parse(await readFile(path.join(root, 'format.json'), 'utf8'))).toEqual({ format: 99 })
  })

  it('serializes read-modify-write on one package', async () => {
    const bump = () =>
      store.packages.withLock('counter', async () => {
        const current = (await store.packages.readFetched('counter'))?.fetchedAt ?? 0
        await new Promise((r) => setTimeout(r, 1))
        await store.packages.writeFetched('counter', { uplink: 'n', fetchedAt: current + 1 })
      })
    await Promise.all(Array.from({ length: 20 }, bump))
    expect((await store.packages.readFetched('counter'))?.fetchedAt).toBe(20)
  })
})

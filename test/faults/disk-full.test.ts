import { readdir } from 'node:fs/promises'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Users } from '../../src/core/auth/index.js'
import { verifyStore } from '../../src/core/maintenance/index.js'
import { KeyedLock } from '../../src/core/fs/lock.js'
import { openStore, tarballKey } from '../../src/core/store/index.js'
import { startHarness, type Harness } from '../core/server/harness.js'
import { buildPackage, integrityOf, type BuiltPackage } from '../helpers/packages.js'
import { publishBody } from '../helpers/publish.js'
import { canMount, mountTmpfs, skipReason, type Volume } from './tmpfs.js'

const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`

/** Storage on a 20 MiB tmpfs that the tests fill up and make read-only under a running server. */
describe.skipIf(!canMount)(`a full or read-only storage volume${canMount ? '' : ` (skipped: ${skipReason})`}`, () => {
  let volume: Volume
  let h: Harness
  let storage: string
  let alice: string
  let big: BuiltPackage

  beforeAll(async () => {
    volume = await mountTmpfs('20m')
    storage = path.join(volume.dir, 'storage')
    h = await startHarness({ extra: { storage } })
    const users = new Users(path.join(h.dir, 'htpasswd'), Infinity, new KeyedLock())
    await users.add('alice', 'alice-pw')
    alice = basic('alice', 'alice-pw')
    big = h.packages.big
  })
  afterAll(async () => {
    await h?.close()
    await volume?.unmount()
  })

  const get = async (pkg: BuiltPackage) => {
    const res = await fetch(`${h.url}${pkg.name}/-/${pkg.filename}`)
    // A response cut short (the only way to stop one whose headers went out) reads as null.
    const body = await res.arrayBuffer().then((b) => Buffer.from(b), () => null)
    return { status: res.status, body, error: res.headers.get('content-type')?.includes('json') ? (JSON.parse(String(body)) as { error: string }).error : '' }
  }
  const publish = (pkg: BuiltPackage) =>
    fetch(`${h.url}${pkg.name}`, { method: 'PUT', body: JSON.stringify(publishBody(pkg)), headers: { 'content-type': 'application/json', authorization: alice } })
  const tmpFiles = async () => readdir(path.join(storage, 'blobs', 'tmp')).catch(() => [])

  it('a blob write that runs out of space fails with ENOSPC and leaves nothing behind, not a truncated blob', async () => {
    const store = await openStore(storage)
    const data = (await buildPackage({ name: 'cut-short', version: '1.0.0', padding: 3 * 1024 * 1024 })).tarball
    // Room for all but the last few pages: the final write(2) comes back short.
    await volume.fill(data.length - 16 * 1024)
    try {
      const write = store.blobs.write(tarballKey('cut-short', '1.0.0'), integrityOf(data), data.length)
      write.stream.end(data)
      await expect(write.done).rejects.toMatchObject({ code: 'ENOSPC' })
      expect(await store.blobs.has(undefined, tarballKey('cut-short', '1.0.0'))).toBe(false)
      expect(await tmpFiles()).toEqual([])
      expect((await verifyStore(store)).blobs.corrupt).toEqual([])
    } finally {
      await volume.drain()
    }
  })

  it('a cache fill on a full disk answers 507, never wrong bytes, and works once space is back', async () => {
    await volume.fill(big.tarball.length - 16 * 1024)
    try {
      for (let i = 0; i < 2; i++) {
        const got = await get(big)
        // Never a complete 200 with other bytes: a clear 507, or at worst a response cut short.
        if (got.status === 200) expect(got.body === null || got.body.equals(big.tarball)).toBe(true)
        else {
          expect(got.status).toBe(507)
          expect(got.error).toMatch(/storage is full/)
        }
      }
      // A response cut short can reach the client before the failed write has removed its temp file.
      await expect.poll(tmpFiles, { timeout: 10_000 }).toEqual([])
      expect((await verifyStore(await openStore(storage))).blobs.corrupt).toEqual([])
    } finally {
      await volume.drain()
    }
    const got = await get(big)
    expect(got.status).toBe(200)
    expect(got.body?.equals(big.tarball)).toBe(true)
    expect((await verifyStore(await openStore(storage))).problems).toBe(0)
  })

  it('a publish on a full disk answers 507 and publishes nothing; the same publish works once space is back', async () => {
    const pkg = await buildPackage({ name: 'full-disk-pub', version: '1.0.0', padding: 3 * 1024 * 1024 })
    await volume.fill(pkg.tarball.length - 16 * 1024)
    try {
      const res = await publish(pkg)
      expect(res.status).toBe(507)
      expect(((await res.json()) as { error: string }).error).toMatch(/storage is full \(ENOSPC\)/)
      expect((await fetch(`${h.url}${pkg.name}`)).status).toBe(404)
      expect((await get(pkg)).status).toBe(404)
      expect(await tmpFiles()).toEqual([])
    } finally {
      await volume.drain()
    }
    expect((await publish(pkg)).status).toBe(201)
    const got = await get(pkg)
    expect(got.status).toBe(200)
    expect(got.body?.equals(pkg.tarball)).toBe(true)
  })

  it('a read-only volume still serves what it holds, answers 503 to what needs a write, and recovers when writable again', async () => {
    const stored = await get(big)
    expect(stored.body?.equals(big.tarball)).toBe(true)
    const pkg = await buildPackage({ name: 'ro-disk-pub', version: '1.0.0' })
    await volume.readOnly(true)
    try {
      expect((await get(big)).body?.equals(big.tarball)).toBe(true)
      const res = await publish(pkg)
      expect(res.status).toBe(503)
      expect(((await res.json()) as { error: string }).error).toMatch(/read-only \(EROFS\)/)
      const fill = await get(h.packages.a1)
      expect(fill.status).toBe(503)
      expect(fill.error).toMatch(/read-only/)
    } finally {
      await volume.readOnly(false)
    }
    expect((await publish(pkg)).status).toBe(201)
    expect((await get(pkg)).body?.equals(pkg.tarball)).toBe(true)
    expect((await get(h.packages.a1)).body?.equals(h.packages.a1.tarball)).toBe(true)
    expect((await verifyStore(await openStore(storage))).problems).toBe(0)
  })
})

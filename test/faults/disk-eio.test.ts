import { readFile, readdir, stat, writeFile } from 'node:fs/promises'
import { Readable } from 'node:stream'
import path from 'node:path'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { verifyStore } from '../../src/core/maintenance/index.js'
import { parsePublish } from '../../src/core/registry/index.js'
import { Syncer, type OpenRegistry } from '../../src/core/sync/index.js'
import { sha512Of, tarballKey } from '../../src/core/store/index.js'
import { startFakeUpstream, type FakeUpstream } from '../helpers/fake-upstream.js'
import { buildPackage, type BuiltPackage } from '../helpers/packages.js'
import { publishBody } from '../helpers/publish.js'
import { open, recorder, tempConfig } from '../core/sync/harness.js'

/** Files whose reads fail with EIO, as a disk with a bad sector answers, through a stream or a handle. */
const faults = vi.hoisted(() => ({ eio: new Set<string>() }))
vi.mock('node:fs', async (importOriginal) => {
  const actual = await importOriginal<typeof import('node:fs')>()
  const createReadStream = ((file: string, options?: unknown) => {
    if (!faults.eio.has(String(file))) return actual.createReadStream(file, options as never)
    const failing = new Readable({ read() {} })
    setImmediate(() => failing.destroy(Object.assign(new Error(`EIO: i/o error, read`), { code: 'EIO', errno: -5, syscall: 'read' })))
    return failing
  }) as typeof actual.createReadStream
  // The same disk read with blocking calls (verify's walk over every blob): descriptors opened on a bad file fail their reads.
  const failing = new Set<number>()
  const openSync = ((file: string, ...rest: unknown[]) => {
    const fd = (actual.openSync as (...args: unknown[]) => number)(file, ...rest)
    if (faults.eio.has(String(file))) failing.add(fd)
    else failing.delete(fd)
    return fd
  }) as typeof actual.openSync
  const readSync = ((fd: number, ...rest: unknown[]) => {
    if (failing.has(fd)) throw Object.assign(new Error('EIO: i/o error, read'), { code: 'EIO', errno: -5, syscall: 'read' })
    return (actual.readSync as (...args: unknown[]) => number)(fd, ...rest)
  }) as typeof actual.readSync
  const mocked = { createReadStream, openSync, readSync }
  return { ...actual, ...mocked, default: { ...actual, ...mocked } }
})
// The same disk seen through a file handle (verify hashes small blobs with one open and read).
vi.mock('node:fs/promises', async (importOriginal) => {
  const actual = await importOriginal<typeof import('node:fs/promises')>()
  const open = (async (file: string, ...rest: unknown[]) => {
    const handle = await (actual.open as (...args: unknown[]) => ReturnType<typeof actual.open>)(file, ...rest)
    if (faults.eio.has(String(file))) {
      handle.read = (() => Promise.reject(Object.assign(new Error('EIO: i/o error, read'), { code: 'EIO', errno: -5, syscall: 'read' })))
    }
    return handle
  }) as typeof actual.open
  return { ...actual, open, default: { ...actual, open } }
})

describe('lock-sync --verify on a disk that fails reads', () => {
  let upstream: FakeUpstream
  let env: Awaited<ReturnType<typeof tempConfig>>
  let opened: OpenRegistry
  let secret: BuiltPackage
  const locked = () => ({ name: secret.name, version: secret.version, integrity: secret.manifest.dist.integrity })
  const key = () => tarballKey(secret.name, secret.version)
  const contentFile = () => opened.store.blobs.where(sha512Of(secret.manifest.dist.integrity) as string)

  beforeEach(async () => {
    upstream = await startFakeUpstream({ packages: [] })
    env = await tempConfig(upstream)
    opened = await open(env.config)
    secret = await buildPackage({ name: 'in-house', version: '1.0.0', padding: 4096 })
    const { config } = env
    const actor = { user: { name: 'alice', groups: [] }, rule: opened.registry.rules.match(secret.name)! }
    const limits = { maxUnpackedSize: config.maxUnpackedSize, maxManifestSize: config.maxBodySize, maxJsonDepth: config.maxJsonDepth }
    await opened.registry.publisher.publish(secret.name, await parsePublish(secret.name, publishBody(secret), limits), actor)
  })
  afterEach(async () => {
    faults.eio.clear()
    await opened.close()
    await upstream.stop()
    await env.cleanup()
  })

  it('a read error while re-hashing a tarball published here fails that package and removes nothing', async () => {
    faults.eio.add(contentFile())
    const { events, onEvent } = recorder()
    const syncer = new Syncer(opened.registry, { concurrency: 1, retries: 0, verify: true, onEvent })
    syncer.add([locked()])
    const summary = await syncer.finish()
    expect(summary.failed).toMatchObject([{ package: 'in-house@1.0.0', code: 'EIO' }])
    expect(events.filter((e) => e.type === 'corrupt')).toEqual([])
    faults.eio.clear()
    // The bytes are all still there and intact: the version installs as before.
    expect(await opened.store.blobs.has(secret.manifest.dist.integrity, key())).toBe(true)
    expect(await opened.store.blobs.verify(sha512Of(secret.manifest.dist.integrity) as string, secret.manifest.dist.integrity)).toBe('ok')
    const answer = await opened.registry.tarballs.open(secret.name, secret.filename)
    expect(answer.kind).toBe('bytes')
  })

  it('a tarball published here whose bytes really changed is quarantined, not deleted, and reported', async () => {
    const bytes = await readFile(contentFile())
    bytes[10] = (bytes[10] as number) ^ 0xff
    await writeFile(contentFile(), bytes)
    const { events, onEvent } = recorder()
    const syncer = new Syncer(opened.registry, { concurrency: 1, retries: 0, verify: true, onEvent })
    syncer.add([locked()])
    const summary = await syncer.finish()
    expect(summary.failed).toMatchObject([{ package: 'in-house@1.0.0', code: 'ECORRUPT' }])
    expect(events).toContainEqual({ type: 'corrupt', package: 'in-house@1.0.0' })
    const quarantined = await readdir(path.join(env.dir, 'storage', 'quarantine', 'blobs'))
    expect(quarantined).toHaveLength(1)
    expect((await readFile(path.join(env.dir, 'storage', 'quarantine', 'blobs', quarantined[0] as string))).equals(bytes)).toBe(true)
    // No uplink can give it back, and none was asked.
    expect(upstream.count()).toBe(0)
  })

  it('verify --fix reports a blob it cannot read as a problem and leaves it where it is', async () => {
    faults.eio.add(contentFile())
    const report = await verifyStore(opened.store, { fix: true })
    expect(report.blobs.unreadable).toMatchObject([{ path: contentFile(), code: 'EIO' }])
    expect(report.blobs.corrupt).toEqual([])
    expect(report.missingLocal).toEqual([])
    expect(report.problems).toBe(1)
    expect((await stat(contentFile())).size).toBe(secret.tarball.length)
  })
})

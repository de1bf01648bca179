import { readFile, rm, writeFile } from 'node:fs/promises'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { Syncer, checkStore, type OpenRegistry } from '../../../src/core/sync/index.js'
import { sha512Of, tarballKey } from '../../../src/core/store/index.js'
import { packageDir } from '../../../src/core/store/fs/layout.js'
import { startFakeUpstream, type FakeUpstream } from '../../helpers/fake-upstream.js'
import { buildPackage, shasumOf, type BuiltPackage } from '../../helpers/packages.js'
import { isTarball, open, recorder, tempConfig } from './harness.js'

const locked = (pkg: BuiltPackage, integrity: string | undefined = pkg.manifest.dist.integrity) => ({
  name: pkg.name,
  version: pkg.version,
  ...(integrity ? { integrity } : {}),
})

describe('Syncer and checkStore', () => {
  let upstream: FakeUpstream
  let packages: BuiltPackage[]
  let env: Awaited<ReturnType<typeof tempConfig>>
  let opened: OpenRegistry[]

  const reopen = async () => {
    const registry = await open(env.config)
    opened.push(registry)
    return registry
  }

  beforeEach(async () => {
    packages = await Promise.all([
      buildPackage({ name: 'alpha', version: '1.0.0' }),
      buildPackage({ name: 'alpha', version: '2.0.0' }),
      buildPackage({ name: '@scope/beta', version: '1.0.0', padding: 4096 }),
      buildPackage({ name: 'gamma', version: '0.1.0' }),
    ])
    upstream = await startFakeUpstream({ packages })
    env = await tempConfig(upstream)
    opened = []
  })
  afterEach(async () => {
    await Promise.all(opened.map((o) => o.close()))
    await upstream.stop()
    await env.cleanup()
  })

  it('fetches every package once; a second run over the same store makes no upstream request', async () => {
    const first = await reopen()
    const { events, onEvent } = recorder()
    const syncer = new Syncer(first.registry, { concurrency: 3, retries: 0, onEvent })
    syncer.add(packages.map((p) => locked(p)))
    const summary = await syncer.finish()
    expect(summary).toMatchObject({ total: 4, present: 0, fetched: 4, failed: [], interrupted: 0 })
    const size = packages.reduce((sum, p) => sum + p.tarball.length, 0)
    expect(summary.bytes).toEqual({ fetched: size, total: size })
    expect(events.filter((e) => e.type === 'done')).toHaveLength(4)
    expect(events[0]).toEqual({ type: 'total', total: 4 })
    expect(upstream.count((r) => isTarball(r.url))).toBe(4)
    for (const pkg of packages) {
      expect(await first.store.blobs.has(pkg.manifest.dist.integrity, tarballKey(pkg.name, pkg.version))).toBe(true)
      expect(await first.store.packages.readUpstream(pkg.name)).not.toBeNull()
    }

    upstream.reset()
    const second = await reopen()
    const again = new Syncer(second.registry, { concurrency: 3, retries: 0 })
    again.add(packages.map((p) => locked(p)))
    expect(await again.finish()).toMatchObject({ total: 4, present: 4, fetched: 0, bytes: { fetched: 0, total: size } })
    expect(upstream.count()).toBe(0)
  })

  it('counts a package listed twice once, and finds without integrity (yarn berry) or with sha1 only (old lockfiles) what is stored', async () => {
    const { registry } = await reopen()
    const syncer = new Syncer(registry, { concurrency: 2, retries: 0 })
    const alpha = packages[0] as BuiltPackage
    syncer.add([locked(alpha), locked(alpha), locked(packages[1] as BuiltPackage, undefined)])
    expect(await syncer.finish()).toMatchObject({ total: 2, fetched: 2 })

    upstream.reset()
    const sha1 = `sha1-${Buffer.from(shasumOf(alpha.tarball), 'hex').toString('base64')}`
    const again = new Syncer((await reopen()).registry, { concurrency: 2, retries: 0 })
    again.add([locked(alpha, sha1), locked(packages[1] as BuiltPackage, undefined)])
    expect(await again.finish()).toMatchObject({ total: 2, present: 2, failed: [] })
    expect(upstream.count()).toBe(0)
  })

  it('a tampered lockfile integrity fails, naming the package and both digests, and stores no tarball', async () => {
    const { registry, store } = await reopen()
    const alpha = packages[0] as BuiltPackage
    const other = await buildPackage({ name: 'alpha', version: '1.0.0', files: { 'evil.js': 'x' } })
    const syncer = new Syncer(registry, { concurrency: 2, retries: 3, backoffMs: 1 })
    syncer.add([locked(alpha, other.manifest.dist.integrity), locked(packages[3] as BuiltPackage)])
    const summary = await syncer.finish()
    expect(summary.fetched).toBe(1)
    expect(summary.failed).toHaveLength(1)
    const [failure] = summary.failed
    expect(failure?.package).toBe('alpha@1.0.0')
    expect(failure?.code).toBe('EINTEGRITY')
    expect(failure?.message).toContain(other.manifest.dist.integrity)
    expect(failure?.message).toContain(alpha.manifest.dist.integrity)
    expect(upstream.count('/alpha/-/alpha-1.0.0.tgz')).toBe(0)
    expect(await store.blobs.has(alpha.manifest.dist.integrity, tarballKey('alpha', '1.0.0'))).toBe(false)
    expect(await store.blobs.has(other.manifest.dist.integrity, tarballKey('alpha', '1.0.0'))).toBe(false)
  })

  it('bytes that do not match fail with EINTEGRITY, and nothing is stored', async () => {
    const { registry, store } = await reopen()
    upstream.corruptTarballs(true)
    const syncer = new Syncer(registry, { concurrency: 2, retries: 2, backoffMs: 1 })
    const gamma = packages[3] as BuiltPackage
    syncer.add([locked(gamma)])
    const summary = await syncer.finish()
    expect(summary.failed.map((f) => f.code)).toEqual(['EINTEGRITY'])
    expect(upstream.count((r) => isTarball(r.url))).toBe(1)
    expect(await store.blobs.has(gamma.manifest.dist.integrity, tarballKey(gamma.name, gamma.version))).toBe(false)
  })

  it('names missing versions and packages without retrying them', async () => {
    const { registry } = await reopen()
    const syncer = new Syncer(registry, { concurrency: 2, retries: 3, backoffMs: 1 })
    syncer.add([
      { name: 'alpha', version: '9.9.9' },
      { name: 'no-such-package', version: '1.0.0' },
      { name: '../../etc', version: '1.0.0' },
    ])
    const summary = await syncer.finish()
    expect(summary.failed.map((f) => `${f.package} ${f.code}`).sort()).toEqual(['../../etc@1.0.0 EINVALIDNAME', 'alpha@9.9.9 ETARGET', 'no-such-package@1.0.0 ENOTFOUND'])
    expect(upstream.count('/no-such-package')).toBe(1)
  })

  it('retries an uplink that answers 503, with backoff, and then succeeds', async () => {
    const { registry } = await reopen()
    upstream.failWith(503)
    const { events, onEvent } = recorder()
    const syncer = new Syncer(registry, {
      concurrency: 1,
      retries: 2,
      backoffMs: 5,
      onEvent: (event) => {
        onEvent(event)
        if (event.type === 'retry') upstream.failWith(null)
      },
    })
    syncer.add([locked(packages[3] as BuiltPackage)])
    expect(await syncer.finish()).toMatchObject({ fetched: 1, failed: [] })
    expect(events.filter((e) => e.type === 'retry')).toMatchObject([{ type: 'retry', label: 'gamma@0.1.0', attempt: 1 }])
  })

  it('stops retrying once the uplink circuit opens: an unreachable uplink fails fast', async () => {
    const { registry } = await reopen()
    await upstream.stop()
    const syncer = new Syncer(registry, { concurrency: 4, retries: 5, backoffMs: 5 })
    syncer.add(packages.map((p) => locked(p)))
    const started = Date.now()
    const summary = await syncer.finish()
    expect(summary.failed).toHaveLength(4)
    expect(summary.fetched).toBe(0)
    expect(Date.now() - started).toBeLessThan(5_000)
  })

  it('refuses to sync from an uplink whose tarballs are not stored', async () => {
    await env.cleanup()
    env = await tempConfig(upstream, { cache: false })
    const { registry } = await reopen()
    const syncer = new Syncer(registry, { concurrency: 2, retries: 3, backoffMs: 1 })
    syncer.add([locked(packages[3] as BuiltPackage)])
    expect((await syncer.finish()).failed).toMatchObject([{ package: 'gamma@0.1.0', code: 'ECONFIG', message: expect.stringContaining('cache: false') }])
    expect(upstream.count()).toBe(0)
  })

  it('an abort before the start leaves everything interrupted, and fetches nothing', async () => {
    const { registry } = await reopen()
    const controller = new AbortController()
    controller.abort()
    const syncer = new Syncer(registry, { concurrency: 2, retries: 0, signal: controller.signal })
    syncer.add(packages.map((p) => locked(p)))
    expect(await syncer.finish()).toMatchObject({ total: 4, fetched: 0, interrupted: 4 })
    expect(upstream.count()).toBe(0)
  })

  it('verify re-hashes stored tarballs and fetches a corrupt one again', async () => {
    const { registry, store } = await reopen()
    const first = new Syncer(registry, { concurrency: 2, retries: 0 })
    first.add(packages.map((p) => locked(p)))
    await first.finish()
    const beta = packages[2] as BuiltPackage
    const file = store.blobs.where(sha512Of(beta.manifest.dist.integrity) as string)
    const bytes = await readFile(file)
    bytes[0] = (bytes[0] as number) ^ 0xff
    await writeFile(file, bytes)

    upstream.reset()
    const plain = new Syncer((await reopen()).registry, { concurrency: 2, retries: 0 })
    plain.add(packages.map((p) => locked(p)))
    expect(await plain.finish()).toMatchObject({ present: 4, fetched: 0 })
    const { events, onEvent } = recorder()
    const verifying = new Syncer((await reopen()).registry, { concurrency: 2, retries: 0, verify: true, onEvent })
    verifying.add(packages.map((p) => locked(p)))
    expect(await verifying.finish()).toMatchObject({ present: 3, fetched: 1, refetched: ['@scope/beta@1.0.0'], failed: [] })
    expect(events).toContainEqual({ type: 'corrupt', package: '@scope/beta@1.0.0' })
    expect(upstream.count((r) => isTarball(r.url))).toBe(1)
    expect(await store.blobs.verify(sha512Of(beta.manifest.dist.integrity) as string, beta.manifest.dist.integrity)).toBe('ok')
  })

  it('checkStore reports a deleted blob, a corrupted one, a missing packument and a lockfile that disagrees, fetching nothing', async () => {
    const { registry, store } = await reopen()
    const syncer = new Syncer(registry, { concurrency: 4, retries: 0 })
    syncer.add(packages.map((p) => locked(p)))
    await syncer.finish()
    const all = packages.map((p) => locked(p))
    const { events, onEvent } = recorder()
    expect(await checkStore(store, all, [], { concurrency: 2, onEvent })).toMatchObject({ total: 4, ok: 4, missing: [], corrupt: [] })
    expect(events.filter((e) => e.type === 'done')).toHaveLength(4)

    const [alpha1, alpha2, beta, gamma] = packages as [BuiltPackage, BuiltPackage, BuiltPackage, BuiltPackage]
    await rm(store.blobs.where(sha512Of(alpha1.manifest.dist.integrity) as string))
    const betaPath = store.blobs.where(sha512Of(beta.manifest.dist.integrity) as string)
    const bytes = await readFile(betaPath)
    bytes[100] = (bytes[100] as number) ^ 0xff
    await writeFile(betaPath, bytes)
    await rm(packageDir(store.root, 'gamma'), { recursive: true })
    const tampered = await buildPackage({ name: 'alpha', version: '2.0.0', files: { 'evil.js': 'x' } })
    upstream.reset()
    const summary = await checkStore(store, [locked(alpha1), locked(alpha2, tampered.manifest.dist.integrity), locked(beta), locked(gamma)], [], { concurrency: 2 })
    expect(summary.ok).toBe(0)
    expect(summary.missing.map((p) => p.package).sort()).toEqual(['alpha@1.0.0', 'gamma@0.1.0'])
    expect(summary.missing.find((p) => p.package === 'alpha@1.0.0')?.reason).toMatch(/tarball is not in the store/)
    expect(summary.missing.find((p) => p.package === 'gamma@0.1.0')?.reason).toMatch(/packument is not in the store/)
    expect(summary.corrupt.map((p) => p.package).sort()).toEqual(['@scope/beta@1.0.0', 'alpha@2.0.0'])
    expect(summary.corrupt.find((p) => p.package === '@scope/beta@1.0.0')?.reason).toMatch(/does not hash to/)
    expect(summary.corrupt.find((p) => p.package === 'alpha@2.0.0')?.reason).toContain(tampered.manifest.dist.integrity)
    expect(upstream.count()).toBe(0)
  })
})

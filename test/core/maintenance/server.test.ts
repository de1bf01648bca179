import http from 'node:http'
import { readFile, readdir, stat, truncate, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { Users } from '../../../src/core/auth/index.js'
import { applyPrune, planPrune, verifyStore, type KeepList } from '../../../src/core/maintenance/index.js'
import { KeyedLock } from '../../../src/core/fs/lock.js'
import { openStore, tarballKey, type Store } from '../../../src/core/store/index.js'
import { cleanupTempDirs, makeProject, runNpm } from '../../helpers/clients.js'
import { buildPackage, integrityOf, type BuiltPackage } from '../../helpers/packages.js'
import { generateProjectPackages } from '../../helpers/project.js'
import { folderLayout, onPostgres, startHarness, type Harness } from '../server/harness.js'

/**
 * prune and verify against a running server (in-process, on the real store and a fake uplink):
 * installs under load while prune deletes, a stream that outlives its blob, publishes racing a
 * prune, the offline view after a prune, and verify --fix making the server fetch again.
 */

/** What `npm publish` sends for one version. */
function publishBody(pkg: BuiltPackage): Record<string, unknown> {
  return {
    _id: pkg.name,
    name: pkg.name,
    'dist-tags': { latest: pkg.version },
    versions: { [pkg.version]: { ...pkg.manifest, _id: `${pkg.name}@${pkg.version}` } },
    _attachments: { [`${pkg.name}-${pkg.version}.tgz`]: { content_type: 'application/octet-stream', data: pkg.tarball.toString('base64'), length: pkg.tarball.length } },
  }
}

const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`
const tarballPath = (pkg: BuiltPackage) => `${pkg.name}/-/${pkg.filename}`

async function download(url: string): Promise<Buffer> {
  const res = await fetch(url)
  if (res.status !== 200) throw new Error(`GET ${url}: ${res.status} ${await res.text()}`)
  return Buffer.from(await res.arrayBuffer())
}

async function pruneAll(store: Store, keep?: KeepList) {
  const plan = await planPrune(store, { maxBytes: 0, graceMs: 0, ...(keep ? { keep } : {}) })
  return applyPrune(store, plan)
}

describe('prune and verify with the server running', () => {
  let h: Harness
  let store: Store
  let alice: string
  let mine: BuiltPackage

  const publish = async (pkg: BuiltPackage) => {
    const res = await fetch(`${h.url}${pkg.name}`, { method: 'PUT', body: JSON.stringify(publishBody(pkg)), headers: { 'content-type': 'application/json', authorization: alice } })
    expect(res.status, await res.clone().text()).toBe(201)
  }

  beforeAll(async () => {
    h = await startHarness()
    for (const pkg of (await generateProjectPackages()).packages) h.upstream.addPackage(pkg)
    await new Users(path.join(h.dir, 'htpasswd'), Infinity, new KeyedLock()).add('alice', 'alice-pw')
    alice = basic('alice', 'alice-pw')
    // A second handle on the same folder, as `sinopia-cli prune` in another process would open it.
    store = await openStore(h.storage)
    mine = await buildPackage({ name: 'internal-lib', version: '1.0.0' })
    await publish(mine)
  })
  afterAll(async () => {
    await h.close()
    await cleanupTempDirs()
  })

  it('every install succeeds while prune removes everything it may, and verify finds nothing wrong afterwards', async () => {
    const { rootDependencies } = await generateProjectPackages()
    const first = await runNpm(['install', '--no-audit', '--no-fund'], { cwd: await makeProject(rootDependencies), registry: h.url })
    expect(first.code, first.stderr).toBe(0)

    const isTarball = (r: { url: string }) => r.url.endsWith('.tgz')
    const fetchedBefore = h.upstream.count(isTarball)
    let stop = false
    let rounds = 0
    let removed = 0
    const pruning = (async () => {
      while (!stop) {
        removed += (await pruneAll(store)).removed.length
        rounds++
        await sleep(20)
      }
    })()
    // Fresh npm caches: every install asks for every tarball while they are being deleted.
    const installs = await Promise.all([1, 2, 3].map(async () => runNpm(['install', '--no-audit', '--no-fund'], { cwd: await makeProject(rootDependencies), registry: h.url })))
    stop = true
    await pruning
    for (const result of installs) expect(result.code, result.stderr).toBe(0)
    expect(rounds).toBeGreaterThan(1)
    expect(removed).toBeGreaterThan(0)
    // The installs really raced the deletions: the server had to fetch tarballs it had had.
    expect(h.upstream.count(isTarball)).toBeGreaterThan(fetchedBefore)

    const report = await verifyStore(store)
    expect(report.problems, JSON.stringify(report)).toBe(0)
    // What was published here survived every round.
    expect((await download(`${h.url}${tarballPath(mine)}`)).equals(mine.tarball)).toBe(true)
  })

  it('a tarball being streamed is not cut off when prune deletes its blob', async () => {
    const big = h.packages.big
    await download(`${h.url}${tarballPath(big)}`)
    const blob = store.blobs.where(integrityOf(big.tarball))
    const chunks: Buffer[] = []
    const res = await new Promise<http.IncomingMessage>((resolve, reject) => http.get(`${h.url}${tarballPath(big)}`, resolve).on('error', reject))
    expect(res.statusCode).toBe(200)
    // Headers are out, so the server holds the blob open; read a little, then stall the stream.
    const first = await new Promise<Buffer>((resolve) => res.once('data', resolve))
    chunks.push(first)
    res.pause()
    const result = await pruneAll(store)
    expect(result.removed.map((item) => item.key)).toContain(tarballKey('big', '1.0.0'))
    await expect(stat(blob)).rejects.toMatchObject({ code: 'ENOENT' })
    // On Linux, removing a file only unlinks its name: the open descriptor still reads every byte.
    res.on('data', (chunk: Buffer) => chunks.push(chunk))
    await new Promise((resolve) => res.on('end', resolve).resume())
    expect(Buffer.concat(chunks).equals(big.tarball)).toBe(true)
  })

  it('a publish racing a prune is not lost', async () => {
    const versions = await Promise.all(['1.1.0', '1.2.0', '1.3.0', '1.4.0'].map((version) => buildPackage({ name: 'internal-lib', version })))
    let stop = false
    const pruning = (async () => {
      // Default grace: a blob whose local.json is not written yet is never taken for cached data.
      while (!stop) await applyPrune(store, await planPrune(store, { maxBytes: 0 }))
    })()
    for (const pkg of versions) await publish(pkg)
    stop = true
    await pruning
    await applyPrune(store, await planPrune(store, { maxBytes: 0, graceMs: 0 }))
    for (const pkg of [mine, ...versions]) expect((await download(`${h.url}${tarballPath(pkg)}`)).equals(pkg.tarball)).toBe(true)
  })

  it('records the use of tarballs served from the store, flushed at shutdown', async () => {
    const extra = await startHarness()
    try {
      const pkg = extra.packages.a1
      await download(`${extra.url}${tarballPath(pkg)}`)
      const before = Date.now()
      await download(`${extra.url}${tarballPath(pkg)}`)
      await extra.server.close(1000)
      const usage = await (await openStore(extra.storage)).usage.read()
      expect(usage.get(tarballKey('alpha', '1.0.0'))).toBeGreaterThanOrEqual(before)
    } finally {
      await extra.upstream.stop()
      await extra.close().catch(() => undefined)
    }
  })
})

describe('after a prune or a verify --fix', () => {
  let h: Harness
  let store: Store
  afterEach(() => h.close())

  it('a packument pruned while the server holds it is fetched again whole, and stored again', async () => {
    h = await startHarness({ uplink: { maxage: '0s' } })
    store = await openStore(h.storage)
    await download(`${h.url}alpha`)
    // Old enough for --older-than, and no tarball of it was ever stored.
    const plan = await planPrune(store, { olderThanMs: 1, graceMs: 0, now: Date.now() + 60_000 })
    expect(plan.packuments.map((p) => p.name)).toEqual(['alpha'])
    expect((await applyPrune(store, plan)).packumentsRemoved).toHaveLength(1)
    expect(await store.packages.readUpstream('alpha')).toBeNull()
    h.upstream.reset()
    const doc = JSON.parse((await download(`${h.url}alpha`)).toString()) as { versions: Record<string, unknown> }
    expect(Object.keys(doc.versions)).toEqual(['1.0.0', '1.1.0', '2.0.0'])
    // Asked without If-None-Match: a 304 would have left nothing on disk.
    expect(h.upstream.requests.filter((r) => r.url === '/alpha').map((r) => r.headers['if-none-match'])).toEqual([undefined])
    expect(await store.packages.readUpstream('alpha')).not.toBeNull()
  })

  it('a name whose packument was pruned is still known from the uplink: a publish overrides it', async () => {
    // Publishing over an uplink package takes the override right.
    const packages = { '**': { access: '$all', publish: '$authenticated', override: '$authenticated', proxy: 'npmjs' } }
    h = await startHarness({ uplink: { maxage: '0s' }, extra: { packages } })
    store = await openStore(h.storage)
    await download(`${h.url}alpha`)
    const plan = await planPrune(store, { olderThanMs: 1, graceMs: 0, now: Date.now() + 60_000 })
    await applyPrune(store, plan)
    expect(await store.packages.readUpstream('alpha')).toBeNull()
    await new Users(path.join(h.dir, 'htpasswd'), Infinity, new KeyedLock()).add('alice', 'alice-pw')
    const pkg = await buildPackage({ name: 'alpha', version: '2.0.1-fix.0' })
    const res = await fetch(`${h.url}alpha`, { method: 'PUT', body: JSON.stringify(publishBody(pkg)), headers: { 'content-type': 'application/json', authorization: basic('alice', 'alice-pw') } })
    expect(res.status).toBe(201)
    const doc = JSON.parse((await download(`${h.url}alpha`)).toString()) as { versions: Record<string, unknown> }
    expect(Object.keys(doc.versions).sort()).toEqual(['1.0.0', '1.1.0', '2.0.0', '2.0.1-fix.0'])
  })

  it('a tag set right after a prune, while the server still has the packument in memory, works', async () => {
    h = await startHarness()
    store = await openStore(h.storage)
    await download(`${h.url}alpha`)
    await applyPrune(store, await planPrune(store, { olderThanMs: 1, graceMs: 0, now: Date.now() + 60_000 }))
    await new Users(path.join(h.dir, 'htpasswd'), Infinity, new KeyedLock()).add('alice', 'alice-pw')
    const res = await fetch(`${h.url}-/package/alpha/dist-tags/stable`, {
      method: 'PUT',
      body: JSON.stringify('1.1.0'),
      headers: { 'content-type': 'application/json', authorization: basic('alice', 'alice-pw') },
    })
    expect(res.status, await res.clone().text()).toBe(201)
    const tags = JSON.parse((await download(`${h.url}-/package/alpha/dist-tags`)).toString()) as Record<string, string>
    expect(tags.stable).toBe('1.1.0')
  })

  it('a tarball downloaded while prune drops its packument brings the packument back', async () => {
    h = await startHarness()
    store = await openStore(h.storage)
    await download(`${h.url}alpha`)
    // As a prune in another process would, between the packument read and the download.
    await store.packages.withLock('alpha', () => store.packages.dropUpstreamDocument('alpha'))
    expect((await download(`${h.url}${tarballPath(h.packages.a2)}`)).equals(h.packages.a2.tarball)).toBe(true)
    for (let i = 0; i < 100 && !(await store.packages.readUpstream('alpha')); i++) await sleep(20)
    expect(await store.packages.readUpstream('alpha')).not.toBeNull()
  })

  it('a pruned version is not advertised while offline, and its tarball is a 404', async () => {
    h = await startHarness({ uplink: { maxage: '0s' } })
    store = await openStore(h.storage)
    await download(`${h.url}alpha`)
    for (const pkg of [h.packages.a1, h.packages.a2, h.packages.a3]) await download(`${h.url}${tarballPath(pkg)}`)
    const keep: KeepList = { files: [], specs: new Set(['alpha@1.1.0']), integrities: new Set() }
    const result = await pruneAll(store, keep)
    expect(result.removed.map((i) => i.version).sort()).toEqual(['1.0.0', '2.0.0'])
    await h.upstream.stop()
    const res = await fetch(`${h.url}alpha`)
    expect(res.headers.get('x-sinopia-offline')).toBe('1')
    const doc = (await res.json()) as { versions: Record<string, unknown> }
    expect(Object.keys(doc.versions)).toEqual(['1.1.0'])
    expect((await fetch(`${h.url}${tarballPath(h.packages.a1)}`)).status).toBe(404)
    expect((await download(`${h.url}${tarballPath(h.packages.a2)}`)).equals(h.packages.a2.tarball)).toBe(true)
  })

  it.skipIf(onPostgres)(folderLayout('verify finds a flipped byte and a truncated blob; the server never serves them and fetches both again by itself', 'it damages blob files of the folder'), async () => {
    h = await startHarness()
    store = await openStore(h.storage)
    const [flipped, cut] = [h.packages.a1, h.packages.a2]
    for (const pkg of [flipped, cut]) await download(`${h.url}${tarballPath(pkg)}`)
    const flippedFile = store.blobs.where(integrityOf(flipped.tarball))
    const data = await readFile(flippedFile)
    data[100] = (data[100] as number) ^ 0x01
    await writeFile(flippedFile, data)
    await truncate(store.blobs.where(integrityOf(cut.tarball)), 50)

    const found = await verifyStore(store)
    expect(found.blobs.corrupt).toHaveLength(2)
    expect(found.problems).toBe(2)

    // Damaged bytes are found on the way out (a re-hash into memory, a size that is not the
    // recorded one), moved to the quarantine folder, and fetched again from the uplink.
    const fetchesOf = (pkg: BuiltPackage) => h.upstream.count((r) => r.url.endsWith(`/${pkg.filename}`))
    const before = [fetchesOf(flipped), fetchesOf(cut)]
    for (const pkg of [flipped, cut]) expect((await download(`${h.url}${tarballPath(pkg)}`)).equals(pkg.tarball)).toBe(true)
    expect([fetchesOf(flipped), fetchesOf(cut)]).toEqual([before[0]! + 1, before[1]! + 1])
    expect(await readdir(path.join(h.storage, 'quarantine', 'blobs'))).toHaveLength(2)
    // Stored again, intact: served from the store from now on.
    expect((await verifyStore(store)).problems).toBe(0)
    await download(`${h.url}${tarballPath(flipped)}`)
    expect(fetchesOf(flipped)).toBe(before[0]! + 1)
  })
})

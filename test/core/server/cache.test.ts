import { afterEach, describe, expect, it } from 'vitest'
import { startHarness, type Harness } from './harness.js'
import { storedNow } from '../../helpers/stored.js'
import { docOf, errorOf } from '../../helpers/answers.js'

const isPackument = (name: string) => (r: { method: string; url: string }) => r.method === 'GET' && r.url.split('?')[0] === `/${name}`
const isTarball = (r: { url: string }) => r.url.endsWith('.tgz')

/** The contents stored, read through the store (folder or database). */
const storedContents = async (h: Harness) => (await storedNow(h.storage)).contents

describe('caching', () => {
  let h: Harness
  afterEach(() => h.close())

  it('50 concurrent requests for a cold packument make one upstream request', async () => {
    h = await startHarness()
    h.upstream.delay(200)
    const answers = await Promise.all(Array.from({ length: 50 }, () => fetch(`${h.url}alpha`).then((r) => r.status)))
    expect(answers.every((s) => s === 200)).toBe(true)
    expect(h.upstream.count(isPackument('alpha'))).toBe(1)
  })

  it('50 concurrent requests for a cold tarball make one upstream request and all get the bytes', async () => {
    h = await startHarness()
    await fetch(`${h.url}big`)
    h.upstream.throttle(64 * 1024, 5)
    const bodies = await Promise.all(
      Array.from({ length: 50 }, () => fetch(`${h.url}big/-/big-1.0.0.tgz`).then(async (r) => Buffer.from(await r.arrayBuffer()))),
    )
    expect(bodies.every((b) => b.equals(h.packages.big.tarball))).toBe(true)
    expect(h.upstream.count(isTarball)).toBe(1)
    // Served from the store afterwards. (Buffer.equals: a deep toEqual of 2 MB takes seconds.)
    expect(Buffer.from(await (await fetch(`${h.url}big/-/big-1.0.0.tgz`)).arrayBuffer()).equals(h.packages.big.tarball)).toBe(true)
    expect(h.upstream.count(isTarball)).toBe(1)
  })

  it('streams a tarball to the first client before the download completes', async () => {
    h = await startHarness()
    await fetch(`${h.url}big`)
    h.upstream.throttle(64 * 1024, 20)
    const res = await fetch(`${h.url}big/-/big-1.0.0.tgz`)
    const reader = (res.body as ReadableStream<Uint8Array>).getReader()
    const first = await reader.read()
    expect(first.done).toBe(false)
    // The upstream needs ~32 chunks x 20 ms: the first bytes arrived long before the end.
    expect(await storedContents(h)).toEqual([])
    await reader.cancel()
    // The download goes on without its client and ends up in the store.
    await expect.poll(() => storedContents(h), { timeout: 10_000, interval: 50 }).toHaveLength(1)
  })

  it('does not store a tarball whose bytes do not match the integrity, and the client gets an error', async () => {
    h = await startHarness()
    await fetch(`${h.url}alpha`)
    h.upstream.corruptTarballs(true)
    const res = await fetch(`${h.url}alpha/-/alpha-1.0.0.tgz`).catch((error: unknown) => error)
    if (res instanceof Response) {
      expect(res.status).toBe(502)
      expect((await errorOf(res))).toMatch(/integrity/)
    } else {
      expect(res).toBeInstanceOf(Error)
    }
    expect(await storedContents(h)).toEqual([])
    h.upstream.corruptTarballs(false)
    const good = await fetch(`${h.url}alpha/-/alpha-1.0.0.tgz`)
    expect(Buffer.from(await good.arrayBuffer()).equals(h.packages.a1.tarball)).toBe(true)
    expect((await storedContents(h)).length).toBe(1)
  })

  it('cuts a large corrupt tarball before its last bytes', async () => {
    h = await startHarness()
    await fetch(`${h.url}big`)
    h.upstream.corruptTarballs(true)
    h.upstream.throttle(256 * 1024, 1)
    const outcome = await fetch(`${h.url}big/-/big-1.0.0.tgz`)
      .then(async (r) => (r.status === 200 ? Buffer.from(await r.arrayBuffer()) : r.status))
      .catch((error: unknown) => error)
    expect(Buffer.isBuffer(outcome)).toBe(false)
    expect(await storedContents(h)).toEqual([])
  })

  it('serves a fresh packument without asking the upstream (maxage)', async () => {
    h = await startHarness({ uplink: { maxage: '1h' } })
    await fetch(`${h.url}alpha`)
    await fetch(`${h.url}alpha`, { headers: { accept: 'application/vnd.npm.install-v1+json' } })
    await fetch(`${h.url}alpha/-/alpha-1.0.0.tgz`)
    expect(h.upstream.count(isPackument('alpha'))).toBe(1)
  })

  it('revalidates a stale packument conditionally; a 304 refreshes the cache', async () => {
    h = await startHarness({ uplink: { maxage: '1s' } })
    await fetch(`${h.url}alpha`)
    const etag = h.upstream.requests.find(isPackument('alpha'))
    expect(etag?.headers['if-none-match']).toBeUndefined()
    await new Promise((r) => setTimeout(r, 1100)) // past maxage, on purpose
    const res = await fetch(`${h.url}alpha`)
    expect(res.status).toBe(200)
    const revalidation = h.upstream.requests.filter(isPackument('alpha'))[1]
    expect(revalidation?.headers['if-none-match']).toBeDefined()
    // The 304 made the copy fresh again: the next request does not go upstream.
    await fetch(`${h.url}alpha`)
    expect(h.upstream.count(isPackument('alpha'))).toBe(2)
  })

  it('?write=true bypasses maxage and shows new upstream versions at once', async () => {
    h = await startHarness({ uplink: { maxage: '1h' } })
    await fetch(`${h.url}alpha`)
    const { buildPackage } = await import('../../helpers/packages.js')
    h.upstream.addPackage(await buildPackage({ name: 'alpha', version: '3.0.0' }))
    expect(Object.keys((await docOf(await fetch(`${h.url}alpha`))).versions)).not.toContain('3.0.0')
    expect(Object.keys((await docOf(await fetch(`${h.url}alpha?write=true`))).versions)).toContain('3.0.0')
  })

  it('keeps serving from the store when the upstream is down, advertising only stored versions', async () => {
    h = await startHarness({ uplink: { maxage: '0s' } })
    await fetch(`${h.url}alpha`)
    await (await fetch(`${h.url}alpha/-/alpha-1.1.0.tgz`)).arrayBuffer()
    await h.upstream.stop()
    const started = Date.now()
    const res = await fetch(`${h.url}alpha`)
    expect(res.status).toBe(200)
    expect(res.headers.get('x-sinopia-offline')).toBe('1')
    const doc = await docOf(res)
    expect(Object.keys(doc.versions)).toEqual(['1.1.0'])
    expect(doc['dist-tags']).toEqual({})
    const missing = await fetch(`${h.url}alpha/-/alpha-1.0.0.tgz`)
    expect(missing.status).toBe(404)
    expect(Date.now() - started).toBeLessThan(5000)
    const stored = await fetch(`${h.url}alpha/-/alpha-1.1.0.tgz`)
    expect(Buffer.from(await stored.arrayBuffer()).equals(h.packages.a2.tarball)).toBe(true)
  })

  it('moves dist-tags to the highest stored version of the same major while offline', async () => {
    h = await startHarness({ uplink: { maxage: '0s' } })
    await fetch(`${h.url}alpha`)
    await (await fetch(`${h.url}alpha/-/alpha-2.0.0.tgz`)).arrayBuffer()
    await (await fetch(`${h.url}alpha/-/alpha-1.0.0.tgz`)).arrayBuffer()
    h.upstream.failWith(503)
    const doc = await docOf(await fetch(`${h.url}alpha`))
    expect(doc['dist-tags']).toEqual({ latest: '2.0.0' })
    expect(Object.keys(doc.versions).sort()).toEqual(['1.0.0', '2.0.0'])
  })

  it('does not cache a 404 from the upstream', async () => {
    h = await startHarness()
    expect((await fetch(`${h.url}later`)).status).toBe(404)
    const { buildPackage } = await import('../../helpers/packages.js')
    h.upstream.addPackage(await buildPackage({ name: 'later', version: '1.0.0' }))
    expect((await fetch(`${h.url}later`)).status).toBe(200)
  })

  it('passes npm audit through to the uplink, and says 503 when it is down', async () => {
    h = await startHarness()
    const body = JSON.stringify({ alpha: ['1.0.0'] })
    const res = await fetch(`${h.url}-/npm/v1/security/advisories/bulk`, { method: 'POST', body, headers: { 'content-type': 'application/json' } })
    expect(res.status).toBe(200)
    expect(h.upstream.requests.at(-1)?.body).toEqual({ alpha: ['1.0.0'] })
    await h.upstream.stop()
    const tree = JSON.stringify({ name: 'app', version: '1.0.0', requires: { alpha: '^1.0.0' }, dependencies: { alpha: { version: '1.0.0' } } })
    const down = await fetch(`${h.url}-/npm/v1/security/audits/quick`, { method: 'POST', body: tree })
    expect(down.status).toBe(503)
    expect(await down.json()).toHaveProperty('error')
  })
})

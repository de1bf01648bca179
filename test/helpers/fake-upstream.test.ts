import { createHash } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { request, type IncomingHttpHeaders } from 'node:http'
import path from 'node:path'
import { gunzipSync, gzipSync } from 'node:zlib'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { cleanupTempDirs, makeProject, runNpm } from './clients.js'
import { startFakeUpstream, type FakeUpstream, type Packument } from './fake-upstream.js'
import { buildPackage, type BuiltPackage } from './packages.js'

interface RawResponse {
  status: number
  headers: IncomingHttpHeaders
  body: Buffer
}

/** A plain node:http request: no automatic decompression, no connection reuse. */
function raw(url: string, opts: { method?: string; headers?: Record<string, string>; body?: Buffer } = {}): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: opts.method ?? 'GET', headers: opts.headers, agent: false }, (res) => {
      const parts: Buffer[] = []
      res.on('data', (part: Buffer) => parts.push(part))
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(parts) }))
      res.on('error', reject)
    })
    req.on('error', reject)
    req.end(opts.body)
  })
}

const json = (response: RawResponse) => JSON.parse(response.body.toString('utf8')) as unknown
const sha512 = (data: Buffer) => `sha512-${createHash('sha512').update(data).digest('base64')}`

describe('fake upstream', () => {
  let upstream: FakeUpstream
  let plain: BuiltPackage[]
  let scoped: BuiltPackage

  beforeAll(async () => {
    plain = await Promise.all(['1.0.0', '1.1.0', '2.0.0-rc.1'].map((version) => buildPackage({ name: 'plain', version })))
    scoped = await buildPackage({ name: '@acme/scoped', version: '1.0.0', dependencies: { plain: '^1.0.0' }, padding: 64 * 1024 })
    upstream = await startFakeUpstream({ packages: [...plain, scoped] })
  })
  afterAll(async () => {
    await upstream.stop()
    await cleanupTempDirs()
  })
  afterEach(() => {
    upstream.failWith(null)
    upstream.corruptTarballs(false)
    upstream.delay(0)
    upstream.throttle(null)
    upstream.setGzip(false)
    upstream.reset()
  })

  it('listens on 127.0.0.1 with a base url ending in /', () => {
    expect(upstream.url).toBe(`http://127.0.0.1:${upstream.port}/`)
    expect(upstream.port).toBeGreaterThan(0)
  })

  it('serves the full packument with tarball urls, dist-tags and times', async () => {
    const response = await raw(`${upstream.url}plain`)
    expect(response.status).toBe(200)
    expect(response.headers['content-type']).toBe('application/json')
    expect(response.headers.etag).toMatch(/^"[0-9a-f]{40}"$/)
    expect(new Date(response.headers['last-modified'] ?? '').getTime()).not.toBeNaN()
    const doc = json(response) as Packument
    expect(doc).toMatchObject({ _id: 'plain', name: 'plain', 'dist-tags': { latest: '1.1.0' }, description: 'Test package plain' })
    expect(Object.keys(doc.versions)).toEqual(['1.0.0', '1.1.0', '2.0.0-rc.1'])
    expect(doc.versions['1.1.0']?.dist.tarball).toBe(`${upstream.url}plain/-/plain-1.1.0.tgz`)
    expect(doc.versions['1.1.0']?._id).toBe('plain@1.1.0')
    expect(Object.keys(doc.time)).toEqual(['created', 'modified', '1.0.0', '1.1.0', '2.0.0-rc.1'])
    expect(doc.readme).toContain('plain')
  })

  it('serves all three scoped spellings, and a version or tag document', async () => {
    const bodies = await Promise.all(['@acme%2fscoped', '@acme%2Fscoped', '@acme/scoped'].map((p) => raw(`${upstream.url}${p}`)))
    for (const response of bodies) expect(response.status).toBe(200)
    expect(new Set(bodies.map((response) => response.body.toString()))).toHaveProperty('size', 1)
    const doc = json(bodies[0] as RawResponse) as Packument
    expect(doc.versions['1.0.0']?.dist.tarball).toBe(`${upstream.url}@acme/scoped/-/scoped-1.0.0.tgz`)
    expect(json(await raw(`${upstream.url}@acme/scoped/latest`))).toMatchObject({ name: '@acme/scoped', version: '1.0.0' })
    expect(json(await raw(`${upstream.url}plain/1.0.0`))).toMatchObject({ version: '1.0.0' })
    expect((await raw(`${upstream.url}plain/9.9.9`)).status).toBe(404)
  })

  it('answers 404 {"error":"not found"} for unknown names', async () => {
    for (const p of ['nope', '@acme/nope', '@nobody%2fnope', 'plain/-/plain-9.9.9.tgz']) {
      const response = await raw(`${upstream.url}${p}`)
      expect(response.status).toBe(404)
      expect(json(response)).toEqual({ error: 'not found' })
    }
  })

  it('answers 304 to a matching If-None-Match or If-Modified-Since, and changes the ETag on new versions', async () => {
    const first = await raw(`${upstream.url}plain`)
    const etag = first.headers.etag as string
    const lastModified = first.headers['last-modified'] as string
    const notModified = await raw(`${upstream.url}plain`, { headers: { 'if-none-match': etag } })
    expect(notModified.status).toBe(304)
    expect(notModified.body.length).toBe(0)
    expect(notModified.headers.etag).toBe(etag)
    expect((await raw(`${upstream.url}plain`, { headers: { 'if-modified-since': lastModified } })).status).toBe(304)
    expect((await raw(`${upstream.url}plain`, { headers: { 'if-none-match': '"other"' } })).status).toBe(200)

    const next = await buildPackage({ name: 'plain-growing', version: '1.0.0' })
    upstream.addPackage(next)
    const before = await raw(`${upstream.url}plain-growing`)
    upstream.addPackage(await buildPackage({ name: 'plain-growing', version: '1.0.1' }))
    const after = await raw(`${upstream.url}plain-growing`, { headers: { 'if-none-match': before.headers.etag as string, 'if-modified-since': before.headers['last-modified'] as string } })
    expect(after.status).toBe(200)
    expect(after.headers.etag).not.toBe(before.headers.etag)
    expect((json(after) as Packument)['dist-tags'].latest).toBe('1.0.1')
    expect((await raw(`${upstream.url}plain-growing`, { headers: { 'if-modified-since': before.headers['last-modified'] as string } })).status).toBe(200)
  })

  it('dates versions by a fake clock in the past, or by the given date', async () => {
    const now = new Date()
    upstream.addPackage(await buildPackage({ name: 'dated', version: '1.0.0' }))
    upstream.addPackage(await buildPackage({ name: 'dated', version: '1.1.0' }), now)
    const time = upstream.packument('dated')?.time ?? {}
    expect(Date.parse(time['1.0.0'] as string)).toBeLessThan(Date.parse('2021-01-01'))
    expect(time['1.1.0']).toBe(now.toISOString())
    expect(time.modified).toBe(now.toISOString())
    upstream.addPackage(await buildPackage({ name: 'dated', version: '1.2.0' }))
    expect(Date.parse(upstream.packument('dated')?.time.modified as string)).toBeGreaterThan(now.getTime())
  })

  it('sets dist-tags', async () => {
    upstream.setTag('plain', 'next', '2.0.0-rc.1')
    upstream.setTag('plain', 'latest', '1.0.0')
    expect(upstream.packument('plain')?.['dist-tags']).toEqual({ latest: '1.0.0', next: '2.0.0-rc.1' })
    expect(json(await raw(`${upstream.url}plain/next`))).toMatchObject({ version: '2.0.0-rc.1' })
    upstream.setTag('plain', 'latest', '1.1.0')
    expect(() => upstream.setTag('plain', 'x', '7.0.0')).toThrow(/no plain@7.0.0/)
  })

  it('serves tarballs (scoped too) whose bytes match the manifest integrity', async () => {
    for (const pkg of [plain[0] as BuiltPackage, scoped]) {
      const doc = upstream.packument(pkg.name) as Packument
      const response = await raw(doc.versions[pkg.version]?.dist.tarball as string, { headers: { 'accept-encoding': 'gzip' } })
      expect(response.status).toBe(200)
      expect(response.headers['content-length']).toBe(String(pkg.tarball.length))
      expect(response.headers['content-encoding']).toBeUndefined()
      expect(sha512(response.body)).toBe(doc.versions[pkg.version]?.dist.integrity)
    }
    expect((await raw(`${upstream.url}@acme%2fscoped/-/scoped-1.0.0.tgz`)).body.equals(scoped.tarball)).toBe(true)
  })

  it('corrupts tarballs on demand: same length, wrong digest', async () => {
    upstream.corruptTarballs(true)
    const response = await raw(upstream.tarballUrl('@acme/scoped', '1.0.0'))
    expect(response.body.length).toBe(scoped.tarball.length)
    expect(sha512(response.body)).not.toBe(scoped.manifest.dist.integrity)
    upstream.corruptTarballs(false)
    expect((await raw(upstream.tarballUrl('@acme/scoped', '1.0.0'))).body.equals(scoped.tarball)).toBe(true)
  })

  it('fails every request with the chosen status', async () => {
    upstream.failWith(503)
    expect((await raw(`${upstream.url}plain`)).status).toBe(503)
    expect((await raw(upstream.tarballUrl('plain', '1.0.0'))).status).toBe(503)
    upstream.failWith(null)
    expect((await raw(`${upstream.url}plain`)).status).toBe(200)
  })

  it('gzips JSON when enabled and asked to, never tarballs', async () => {
    upstream.setGzip(true)
    const zipped = await raw(`${upstream.url}plain`, { headers: { 'accept-encoding': 'gzip, deflate' } })
    expect(zipped.headers['content-encoding']).toBe('gzip')
    expect((JSON.parse(gunzipSync(zipped.body).toString()) as Packument).name).toBe('plain')
    expect((await raw(`${upstream.url}plain`)).headers['content-encoding']).toBeUndefined()
    const tarball = await raw(upstream.tarballUrl('plain', '1.0.0'), { headers: { 'accept-encoding': 'gzip' } })
    expect(tarball.headers['content-encoding']).toBeUndefined()
  })

  it('answers audit endpoints with {} and records the (gunzipped) body', async () => {
    const body = { plain: ['1.0.0'] }
    const bulk = await raw(`${upstream.url}-/npm/v1/security/advisories/bulk`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' },
      body: gzipSync(JSON.stringify(body)),
    })
    expect(json(bulk)).toEqual({})
    const quick = await raw(`${upstream.url}-/npm/v1/security/audits/quick`, { method: 'POST', body: Buffer.from('{"name":"x"}') })
    expect(json(quick)).toEqual({})
    expect(upstream.requests.map((r) => [r.method, r.url, r.body])).toEqual([
      ['POST', '/-/npm/v1/security/advisories/bulk', body],
      ['POST', '/-/npm/v1/security/audits/quick', { name: 'x' }],
    ])
  })

  it('records and counts requests by path or predicate', async () => {
    await raw(`${upstream.url}plain`, { headers: { 'x-test': 'a' } })
    await raw(`${upstream.url}plain?write=true`)
    await raw(upstream.tarballUrl('plain', '1.0.0'))
    expect(upstream.requests[0]).toMatchObject({ method: 'GET', url: '/plain', headers: { 'x-test': 'a' } })
    expect(upstream.count('/plain')).toBe(2)
    expect(upstream.count('/plain?write=true')).toBe(1)
    expect(upstream.count((r) => r.url.endsWith('.tgz'))).toBe(1)
    expect(upstream.count()).toBe(3)
    upstream.reset()
    expect(upstream.requests).toEqual([])
  })

  it('delays response headers', async () => {
    upstream.delay(200)
    const started = Date.now()
    await raw(`${upstream.url}plain`)
    expect(Date.now() - started).toBeGreaterThanOrEqual(190)
  })

  it('throttles tarballs, and survives a client that leaves mid-download', async () => {
    upstream.throttle(16 * 1024, 50)
    const started = Date.now()
    const response = await raw(upstream.tarballUrl('@acme/scoped', '1.0.0'))
    expect(Date.now() - started).toBeGreaterThanOrEqual(150)
    expect(response.body.equals(scoped.tarball)).toBe(true)

    await new Promise<void>((resolve, reject) => {
      const req = request(upstream.tarballUrl('@acme/scoped', '1.0.0'), { agent: false }, (res) => {
        res.once('data', () => {
          req.destroy()
          resolve()
        })
      })
      req.on('error', (error) => (req.destroyed ? undefined : reject(error)))
      req.end()
    })
    upstream.throttle(null)
    expect((await raw(`${upstream.url}plain`)).status).toBe(200)
  })

  it('stops (connection refused) and starts again on the same port', async () => {
    const port = upstream.port
    await upstream.stop()
    await expect(raw(`${upstream.url}plain`)).rejects.toMatchObject({ code: 'ECONNREFUSED' })
    await upstream.start()
    expect(upstream.port).toBe(port)
    expect((await raw(`${upstream.url}plain`)).status).toBe(200)
  })

  it('closes open keep-alive connections on stop', async () => {
    const other = await startFakeUpstream({ packages: plain })
    const response = await fetch(`${other.url}plain`)
    expect(response.status).toBe(200)
    await response.arrayBuffer()
    const started = Date.now()
    await other.stop()
    expect(Date.now() - started).toBeLessThan(1000)
    await expect(fetch(`${other.url}plain`)).rejects.toThrow()
  })

  it('works with npm: npm view --json', async () => {
    const cwd = await makeProject({})
    const result = await runNpm(['view', '@acme/scoped', '--json'], { cwd, registry: upstream.url })
    expect(result.code, result.stderr).toBe(0)
    expect(JSON.parse(result.stdout)).toMatchObject({ name: '@acme/scoped', version: '1.0.0', dependencies: { plain: '^1.0.0' } })
    expect(upstream.count((r) => r.headers['user-agent']?.startsWith('npm/') ?? false)).toBeGreaterThan(0)
  })

  it('works with npm: npm install', async () => {
    const cwd = await makeProject({ '@acme/scoped': '^1.0.0' })
    const result = await runNpm(['install'], { cwd, registry: upstream.url })
    expect(result.code, result.stderr).toBe(0)
    const installed = JSON.parse(await readFile(path.join(cwd, 'node_modules', 'plain', 'package.json'), 'utf8')) as { version: string }
    expect(installed.version).toBe('1.1.0')
    const lock = JSON.parse(await readFile(path.join(cwd, 'package-lock.json'), 'utf8')) as { packages: Record<string, { resolved?: string; integrity?: string }> }
    expect(lock.packages['node_modules/@acme/scoped']).toMatchObject({ resolved: upstream.tarballUrl('@acme/scoped', '1.0.0'), integrity: scoped.manifest.dist.integrity })
    expect(upstream.count('/@acme%2fscoped') + upstream.count('/@acme/scoped')).toBeGreaterThan(0)
    expect(upstream.count('/@acme/scoped/-/scoped-1.0.0.tgz')).toBe(1)
    expect(upstream.count((r) => r.url.startsWith('/-/npm/v1/security/'))).toBe(0)
  })
})

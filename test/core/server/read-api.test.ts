import { gunzipSync, brotliDecompressSync } from 'node:zlib'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startHarness, type Harness } from './harness.js'
import { docOf, errorOf, versionIn, versionOf } from '../../helpers/answers.js'

describe('read API', () => {
  let h: Harness
  beforeAll(async () => {
    h = await startHarness({ extra: { trust_proxy: '127.0.0.1' } })
  })
  afterAll(() => h.close())

  it('serves the full packument with tarball URLs pointing at this server', async () => {
    const res = await fetch(`${h.url}alpha`)
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toBe('application/json')
    const doc = await docOf(res)
    expect(Object.keys(doc.versions)).toEqual(['1.0.0', '1.1.0', '2.0.0'])
    expect(doc['dist-tags'].latest).toBe('2.0.0')
    expect(doc.versions['1.0.0']?.dist.tarball).toBe(`${h.url}alpha/-/alpha-1.0.0.tgz`)
    expect(doc.versions['1.0.0']?.dist.integrity).toBe(h.packages.a1.manifest.dist.integrity)
    expect(doc.readme).toBeDefined()
  })

  it('serves the abbreviated packument when asked, with time for pnpm', async () => {
    const res = await fetch(`${h.url}alpha`, {
      headers: { accept: 'application/vnd.npm.install-v1+json; q=1.0, application/json; q=0.8, */*' },
    })
    expect(res.headers.get('content-type')).toBe('application/vnd.npm.install-v1+json')
    const doc = await docOf(res)
    expect(doc.readme).toBeUndefined()
    expect(doc.modified).toBeDefined()
    expect(doc.time['1.0.0']).toBeDefined()
    expect(doc.versions['1.1.0']?.dist.tarball).toBe(`${h.url}alpha/-/alpha-1.1.0.tgz`)
    expect(Object.keys(versionIn(doc, '1.1.0')).sort()).toEqual(['dist', 'license', 'name', 'version'])
  })

  it('serves scoped packages in both spellings, packuments and tarballs', async () => {
    for (const path of ['@acme%2fwidget', '@acme%2Fwidget', '@acme/widget']) {
      const res = await fetch(`${h.url}${path}`)
      expect(res.status).toBe(200)
      const doc = await docOf(res)
      expect(doc.name).toBe('@acme/widget')
      expect(doc.versions['1.0.0']?.dist.tarball).toBe(`${h.url}@acme/widget/-/widget-1.0.0.tgz`)
    }
    for (const path of ['@acme/widget/-/widget-1.0.0.tgz', '@acme%2fwidget/-/widget-1.0.0.tgz']) {
      const res = await fetch(`${h.url}${path}`)
      expect(res.status).toBe(200)
      expect(Buffer.from(await res.arrayBuffer())).toEqual(h.packages.scoped.tarball)
    }
  })

  it('serves single versions by version, tag and range', async () => {
    expect((await versionOf(await fetch(`${h.url}alpha/1.1.0`))).version).toBe('1.1.0')
    expect((await versionOf(await fetch(`${h.url}alpha/latest`))).version).toBe('2.0.0')
    const ranged = await versionOf(await fetch(`${h.url}alpha/%5E1.0.0`))
    expect(ranged.version).toBe('1.1.0')
    expect(ranged.dist.tarball).toBe(`${h.url}alpha/-/alpha-1.1.0.tgz`)
    const missing = await fetch(`${h.url}alpha/9.9.9`)
    expect(missing.status).toBe(404)
    expect((await errorOf(missing))).toMatch(/9\.9\.9/)
  })

  it('answers 304 to a matching ETag, for every encoding', async () => {
    const first = await fetch(`${h.url}alpha`, { headers: { 'accept-encoding': 'identity' } })
    const etag = first.headers.get('etag') as string
    expect(etag).toMatch(/^"[^"]+"$/)
    const again = await fetch(`${h.url}alpha`, { headers: { 'if-none-match': etag } })
    expect(again.status).toBe(304)
    const gz = await fetch(`${h.url}alpha`, { headers: { 'accept-encoding': 'gzip' } })
    const gzEtag = gz.headers.get('etag') as string
    expect(gzEtag).not.toBe(etag)
    expect((await fetch(`${h.url}alpha`, { headers: { 'if-none-match': gzEtag } })).status).toBe(304)
  })

  it('compresses packuments with gzip or brotli, never tarballs', async () => {
    const plain = Buffer.from(await (await fetch(`${h.url}alpha`)).arrayBuffer())
    // Node's fetch decodes bodies itself; use a raw request to see the bytes on the wire.
    const raw = async (path: string, encoding: string) => {
      const { request } = await import('node:http')
      return new Promise<{ headers: Record<string, unknown>; body: Buffer }>((resolve, reject) => {
        request(`${h.url}${path}`, { headers: { 'accept-encoding': encoding } }, (res) => {
          const chunks: Buffer[] = []
          res.on('data', (c: Buffer) => chunks.push(c))
          res.on('end', () => resolve({ headers: res.headers, body: Buffer.concat(chunks) }))
        })
          .on('error', reject)
          .end()
      })
    }
    const gz = await raw('alpha', 'gzip, deflate')
    expect(gz.headers['content-encoding']).toBe('gzip')
    expect(gunzipSync(gz.body)).toEqual(plain)
    const br = await raw('alpha', 'gzip, deflate, br')
    expect(br.headers['content-encoding']).toBe('br')
    expect(brotliDecompressSync(br.body)).toEqual(plain)
    const tgz = await raw('alpha/-/alpha-1.0.0.tgz', 'gzip')
    expect(tgz.headers['content-encoding']).toBeUndefined()
    expect(tgz.body).toEqual(h.packages.a1.tarball)
  })

  it('rewrites tarball URLs for a trusted proxy in front (X-Forwarded-*, trust_proxy)', async () => {
    const doc = await docOf(await fetch(`${h.url}alpha`, { headers: { 'x-forwarded-proto': 'https', 'x-forwarded-host': 'npm.corp.test' } }))
    expect(doc.versions['1.0.0']?.dist.tarball).toBe('https://npm.corp.test/alpha/-/alpha-1.0.0.tgz')
  })

  it('serves HEAD for tarballs and packuments', async () => {
    const tgz = await fetch(`${h.url}alpha/-/alpha-1.0.0.tgz`, { method: 'HEAD' })
    expect(tgz.status).toBe(200)
    expect(Number(tgz.headers.get('content-length'))).toBe(h.packages.a1.tarball.length)
    const doc = await fetch(`${h.url}alpha`, { method: 'HEAD' })
    expect(doc.status).toBe(200)
    expect(await doc.text()).toBe('')
  })

  it('answers npm ping and a page at /', async () => {
    const ping = await fetch(`${h.url}-/ping?write=true`)
    expect(ping.status).toBe(200)
    expect(await ping.json()).toEqual({})
    expect((await fetch(h.url)).headers.get('content-type')).toMatch(/text\/html/)
  })

  it('answers 404 for packages neither the store nor the uplink has', async () => {
    const res = await fetch(`${h.url}no-such-package`)
    expect(res.status).toBe(404)
    expect(await res.json()).toHaveProperty('error')
    const tgz = await fetch(`${h.url}alpha/-/alpha-7.7.7.tgz`)
    expect(tgz.status).toBe(404)
  })

  it('reads public packages with a stale token as if anonymous', async () => {
    const stale = { authorization: 'Bearer snp_revoked-long-ago' }
    expect((await fetch(`${h.url}alpha`, { headers: stale })).status).toBe(200)
    expect((await fetch(`${h.url}private-thing`, { headers: stale })).status).toBe(401)
    expect((await fetch(`${h.url}alpha`, { method: 'PUT', body: '{}', headers: stale })).status).toBe(401)
  })

  it('requires credentials where access is not $all', async () => {
    const res = await fetch(`${h.url}private-thing`)
    expect(res.status).toBe(401)
    expect(await res.json()).toHaveProperty('error')
  })
})

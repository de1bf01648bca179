import { gzipSync } from 'node:zlib'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { startHarness, type Harness } from '../core/server/harness.js'
import { addUsers, publish } from '../core/search/helpers.js'

/**
 * `npm audit` goes to the uplink with the uplink's credentials: only names this registry
 * proxies to that uplink may go, never private ones (scoped rules without `proxy`) nor those
 * published here. The body, gzip included, is bounded after inflating.
 */

const PACKAGES = {
  '@private/*': { access: '$authenticated', publish: '$authenticated' },
  '@*/*': { access: '$all', publish: '$authenticated', proxy: 'npmjs' },
  'private-*': { access: '$authenticated', publish: '$authenticated' },
  '**': { access: '$all', publish: '$authenticated', proxy: 'npmjs' },
}

describe('npm audit forwarding', () => {
  let h: Harness
  beforeAll(async () => {
    h = await startHarness({ extra: { packages: PACKAGES, limits: { audit_body_size: '1mb' } } })
    await addUsers(h)
    await publish(h, { name: 'made-here', version: '1.0.0' })
  })
  afterAll(() => h.close())
  beforeEach(() => h.upstream.reset())

  const post = (path: string, body: Buffer | string, headers: Record<string, string> = {}) =>
    fetch(new URL(path, h.url), { method: 'POST', body: typeof body === 'string' ? body : new Uint8Array(body), headers: { 'content-type': 'application/json', ...headers } })
  const audits = () => h.upstream.requests.filter((r) => r.url.startsWith('/-/npm/v1/security/'))

  const bulk = { alpha: ['1.0.0'], '@acme/widget': ['1.0.0'], '@private/secret': ['1.0.0'], 'private-tool': ['2.0.0'], 'made-here': ['1.0.0'] }

  it('forwards only names proxied to the uplink (bulk advisories)', async () => {
    const res = await post('-/npm/v1/security/advisories/bulk', JSON.stringify(bulk))
    expect(res.status).toBe(200)
    expect(audits().map((r) => r.body)).toEqual([{ alpha: ['1.0.0'], '@acme/widget': ['1.0.0'] }])
  })

  it('filters gzip bodies the same way', async () => {
    const res = await post('-/npm/v1/security/advisories/bulk', gzipSync(JSON.stringify(bulk)), { 'content-encoding': 'gzip' })
    expect(res.status).toBe(200)
    expect(audits().map((r) => r.body)).toEqual([{ alpha: ['1.0.0'], '@acme/widget': ['1.0.0'] }])
  })

  it('filters the npm 6 / yarn tree (quick audit): requires, dependencies at every depth, and the project’s own name', async () => {
    const tree = {
      name: '@private/app',
      version: '1.0.0',
      install: [],
      remove: [],
      metadata: { npm_version: '6.14.0' },
      requires: { alpha: '^1.0.0', '@private/secret': '^1.0.0', 'made-here': '^1.0.0' },
      dependencies: {
        alpha: { version: '1.0.0', requires: { 'private-tool': '^2.0.0', '@acme/widget': '^1.0.0' }, dependencies: { 'private-tool': { version: '2.0.0' }, '@acme/widget': { version: '1.0.0' } } },
        '@private/secret': { version: '1.0.0' },
        'made-here': { version: '1.0.0' },
      },
    }
    const res = await post('-/npm/v1/security/audits/quick', JSON.stringify(tree))
    expect(res.status).toBe(200)
    const sent = audits()[0]?.body as Record<string, unknown>
    expect(JSON.stringify(sent)).not.toMatch(/private|made-here/)
    expect(sent.requires).toEqual({ alpha: '^1.0.0' })
    expect(sent.dependencies).toEqual({ alpha: { version: '1.0.0', requires: { '@acme/widget': '^1.0.0' }, dependencies: { '@acme/widget': { version: '1.0.0' } } } })
  })

  it('answers by itself when no name may go to the uplink', async () => {
    const res = await post('-/npm/v1/security/advisories/bulk', JSON.stringify({ '@private/secret': ['1.0.0'] }))
    expect(res.status).toBe(200)
    expect(await res.json()).toEqual({})
    expect(audits()).toHaveLength(0)
  })

  it('refuses a body that inflates past limits.audit_body_size with 413, before anything is sent', async () => {
    const bomb = gzipSync(Buffer.alloc(20 * 1024 * 1024, 0x20))
    expect(bomb.length).toBeLessThan(1024 * 1024)
    const res = await post('-/npm/v1/security/advisories/bulk', bomb, { 'content-encoding': 'gzip' })
    expect(res.status).toBe(413)
    expect(audits()).toHaveLength(0)
  })

  it('refuses a body that is not JSON or not gzip with 400, without echoing it', async () => {
    const res = await post('-/npm/v1/security/advisories/bulk', '<script>alert(1)</script>')
    expect(res.status).toBe(400)
    expect(await res.text()).not.toMatch(/script/)
    expect((await post('-/npm/v1/security/advisories/bulk', 'not gzip', { 'content-encoding': 'gzip' })).status).toBe(400)
    expect(audits()).toHaveLength(0)
  })
})

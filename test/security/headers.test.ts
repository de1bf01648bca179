import type { IncomingMessage } from 'node:http'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { publicBaseUrl } from '../../src/core/server/negotiate.js'
import { startHarness, type Harness } from '../core/server/harness.js'
import { addUsers, basic, publish } from '../core/search/helpers.js'

/**
 * Response headers at the server's edge: what shared caches may keep, which forwarded
 * headers count, and that no JSON answer is sniffed as something else. In-process, with the
 * harness's rules: `private-*` needs a login, everything else is `$all`.
 */

const ALICE = basic('alice', 'alice-pw')

describe('caching headers', () => {
  let h: Harness
  beforeAll(async () => {
    h = await startHarness()
    await addUsers(h)
    await publish(h, { name: 'private-plans', version: '1.0.0' })
  })
  afterAll(() => h.close())

  it('marks private packuments, manifests and tarballs private, varying on Authorization and Cookie', async () => {
    for (const path of ['private-plans', 'private-plans/1.0.0', 'private-plans/-/private-plans-1.0.0.tgz']) {
      const res = await fetch(new URL(path, h.url), { headers: { authorization: ALICE } })
      await res.arrayBuffer()
      expect(res.status, path).toBe(200)
      expect(res.headers.get('cache-control'), path).toMatch(/\bprivate\b/)
      expect(res.headers.get('vary'), path).toMatch(/Authorization/)
      expect(res.headers.get('vary'), path).toMatch(/Cookie/)
    }
    const again = await fetch(new URL('private-plans', h.url), { headers: { authorization: ALICE, 'if-none-match': '*' } })
    expect(again.status).toBe(304)
    expect(again.headers.get('cache-control')).toMatch(/\bprivate\b/)
  })

  it('lets shared caches keep public packuments (revalidated) and public tarballs (immutable)', async () => {
    const doc = await fetch(new URL('alpha', h.url))
    await doc.arrayBuffer()
    expect(doc.headers.get('cache-control')).toMatch(/^public\b/)
    expect(doc.headers.get('cache-control')).toMatch(/max-age=0/)
    const tgz = await fetch(new URL('alpha/-/alpha-1.0.0.tgz', h.url))
    await tgz.arrayBuffer()
    expect(tgz.headers.get('cache-control')).toBe('public, max-age=31536000, immutable')
  })

  it('never lets an error be cached as the package', async () => {
    const res = await fetch(new URL('private-plans', h.url))
    expect(res.status).toBe(401)
    expect(res.headers.get('cache-control') ?? '').not.toMatch(/public|immutable/)
  })
})

describe('nosniff on JSON', () => {
  let h: Harness
  beforeAll(async () => {
    h = await startHarness()
  })
  afterAll(() => h.close())

  it('sends X-Content-Type-Options: nosniff on JSON answers and on errors that echo input', async () => {
    for (const path of ['alpha', '-/whoami', '-/user/org.couchdb.user:%3Cscript%3E', '-/v1/done/%3Chtml%3E', 'alpha/9.9.9-%3Cb%3E', '-/nothing-here']) {
      const res = await fetch(new URL(path, h.url))
      await res.arrayBuffer()
      expect(res.headers.get('content-type'), path).toMatch(/json/)
      expect(res.headers.get('x-content-type-options'), path).toBe('nosniff')
    }
  })
})

describe('X-Forwarded-Host and -Proto', () => {
  const forwarded = { 'x-forwarded-proto': 'https', 'x-forwarded-host': 'attacker.example' }

  it('are ignored from a client that is not a configured proxy (the default: none)', async () => {
    const h = await startHarness()
    try {
      const doc = (await (await fetch(new URL('alpha', h.url), { headers: forwarded })).json()) as { versions: Record<string, { dist: { tarball: string } }> }
      expect(doc.versions['1.0.0']?.dist.tarball).toBe(`${h.url}alpha/-/alpha-1.0.0.tgz`)
      const login = (await (await fetch(new URL('-/v1/login', h.url), { method: 'POST', headers: forwarded })).json()) as { loginUrl: string }
      expect(login.loginUrl.startsWith(`${h.url}-/v1/login/`)).toBe(true)
    } finally {
      await h.close()
    }
  })

  it('count from an address listed in trust_proxy', async () => {
    const h = await startHarness({ extra: { trust_proxy: ['127.0.0.1/32', '::1'] } })
    try {
      const doc = (await (await fetch(new URL('alpha', h.url), { headers: forwarded })).json()) as { versions: Record<string, { dist: { tarball: string } }> }
      expect(doc.versions['1.0.0']?.dist.tarball).toBe('https://attacker.example/alpha/-/alpha-1.0.0.tgz')
    } finally {
      await h.close()
    }
  })

  it('publicBaseUrl: forwarded headers only from trusted addresses; url_prefix as a URL wins over all', () => {
    const req = (remoteAddress: string) => ({ headers: { host: 'reg.local:4873', ...forwarded }, socket: { remoteAddress } }) as unknown as IncomingMessage
    expect(publicBaseUrl(req('10.1.2.3'), undefined, 'x')).toBe('http://reg.local:4873/')
    expect(publicBaseUrl(req('10.1.2.3'), undefined, 'x', ['10.0.0.0/8'])).toBe('https://attacker.example/')
    expect(publicBaseUrl(req('::ffff:10.1.2.3'), '/npm', 'x', ['10.0.0.0/8'])).toBe('https://attacker.example/npm/')
    expect(publicBaseUrl(req('10.1.2.3'), 'https://npm.corp/', 'x', ['10.0.0.0/8'])).toBe('https://npm.corp/')
  })
})

describe('X-Forwarded-For', () => {
  const startLogin = async (h: Harness, forwardedFor: string) => {
    const res = await fetch(new URL('-/v1/login', h.url), { method: 'POST', headers: { 'x-forwarded-for': forwardedFor } })
    await res.arrayBuffer()
    return res.status
  }

  it('names the client behind a trusted proxy, so per-address limits count clients, not the proxy', async () => {
    const h = await startHarness({ extra: { trust_proxy: '127.0.0.1', limits: { pending_logins_per_address: 1 } } })
    try {
      expect(await startLogin(h, '10.0.0.1')).toBe(200)
      expect(await startLogin(h, '10.0.0.1')).toBe(429)
      expect(await startLogin(h, '10.0.0.2')).toBe(200)
      // The right-most address the proxy did not add itself: a client cannot prepend its way out.
      expect(await startLogin(h, '10.9.9.9, 10.0.0.2')).toBe(429)
    } finally {
      await h.close()
    }
  })

  it('is ignored from anyone else', async () => {
    const h = await startHarness({ extra: { limits: { pending_logins_per_address: 1 } } })
    try {
      expect(await startLogin(h, '10.0.0.1')).toBe(200)
      expect(await startLogin(h, '10.0.0.2')).toBe(429)
    } finally {
      await h.close()
    }
  })
})

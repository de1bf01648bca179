import { readFile } from 'node:fs/promises'
import vm from 'node:vm'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { startHarness, type Harness } from '../server/harness.js'
import { buildPackage } from '../../helpers/packages.js'
import { addUsers, basic, publish, publishBody } from '../search/helpers.js'

const CSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'"

describe('web pages', () => {
  let h: Harness
  const get = (path: string, headers: Record<string, string> = {}) => fetch(`${h.url}${path.replace(/^\//, '')}`, { headers, redirect: 'manual' })
  const page = async (path: string, headers: Record<string, string> = {}) => {
    const res = await get(path, headers)
    return { status: res.status, text: await res.text(), headers: res.headers }
  }
  /** Logs in through the form, expecting the redirect to `expected`; returns the Cookie header value. */
  async function login(name: string, password: string, next = '/', expected = next): Promise<string> {
    const res = await fetch(`${h.url}-/web/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', origin: h.url.slice(0, -1) },
      body: new URLSearchParams({ name, password, next }).toString(),
      redirect: 'manual',
    })
    expect(res.status).toBe(303)
    expect(res.headers.get('location')).toBe(expected)
    const cookie = res.headers.get('set-cookie') ?? ''
    expect(cookie).toMatch(/^sinopia_session=[\w-]{43}; Path=\/; HttpOnly; SameSite=Strict; Max-Age=43200$/)
    return cookie.split(';')[0] as string
  }

  beforeEach(async () => {
    h = await startHarness()
    await addUsers(h)
  })
  afterEach(() => h.close())

  it('serves the list at / under the CSP, with the script and stylesheet as files', async () => {
    await publish(h, { name: 'listed-lib', version: '1.0.0', description: 'A <b>listed</b> library' })
    const res = await page('/')
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8')
    expect(res.headers.get('content-security-policy')).toBe(CSP)
    expect(res.headers.get('x-frame-options')).toBe('DENY')
    expect(res.text).toContain('<input id="q" name="q" type="search"')
    expect(res.text).toMatch(/<li class="package" data-name="listed-lib">[\s\S]*<span class="badge local">local<\/span>/)
    expect(res.text).toContain('A &lt;b&gt;listed&lt;/b&gt; library')
    expect(res.text).not.toMatch(/<script>|<style>|\sstyle=|\son\w+=/)
    const script = res.text.match(/<script src="(\/-\/web\/static\/app\.js\?v=\w+)" defer><\/script>/)?.[1]
    const style = res.text.match(/<link rel="stylesheet" href="(\/-\/web\/static\/style\.css\?v=\w+)">/)?.[1]
    expect(script && style).toBeTruthy()
    const js = await get(script as string)
    expect(js.headers.get('content-type')).toBe('text/javascript; charset=utf-8')
    expect(js.headers.get('cache-control')).toContain('immutable')
    const source = await js.text()
    expect(() => new vm.Script(source)).not.toThrow()
    expect(source).toContain('-/web/fragment')
    const css = await get(style as string)
    expect(css.headers.get('content-type')).toBe('text/css; charset=utf-8')
    expect((await get('/-/web/static/style.css', { 'if-none-match': css.headers.get('etag') as string })).status).toBe(304)
    expect((await get('/-/web/static/nothing.js')).status).toBe(404)
    expect((await get('/-/web/static/constructor')).status).toBe(404)
  })

  it('searches and pages on the server: the fragment is what live search swaps in', async () => {
    await Promise.all(Array.from({ length: 27 }, (_, i) => publish(h, { name: `many-${String(i).padStart(2, '0')}`, version: '1.0.0' })))
    await publish(h, { name: 'other', version: '1.0.0' })
    const first = await page('/?q=many')
    expect(first.text).toContain('27 packages matching <q class="query">many</q>')
    expect(first.text.match(/<li class="package"/g)).toHaveLength(25)
    expect(first.text).toContain('Page 1 of 2')
    expect(first.text).toContain('<a rel="next" data-page="2" href="/?q=many&amp;page=2">')
    const second = await page('/-/web/fragment?q=many&page=2')
    expect(second.headers.get('content-security-policy')).toBe(CSP)
    expect(second.text).not.toContain('<html')
    expect(second.text.match(/data-name="([^"]+)"/g)).toEqual(['data-name="many-25"', 'data-name="many-26"'])
    expect((await page('/-/web/fragment?q=nothing-at-all')).text).toContain('Nothing here matches.')
  })

  it('shows a package page: README, versions with dates, dist-tags, deprecations, install, dependencies, tarballs', async () => {
    const readme = await readFile(new URL('./fixtures/xss-readme.md', import.meta.url), 'utf8')
    const dependencies = { alpha: '^1.0.0', '@acme/widget': '1.0.0' }
    await publish(h, { name: 'shown-lib', version: '1.0.0', dependencies }, { readme })
    await publish(h, { name: 'shown-lib', version: '1.1.0', dependencies, description: 'Shown <i>here</i>', extra: { homepage: 'javascript:alert(1)', license: 'MIT' } }, { readme })
    const deprecate = await fetch(`${h.url}shown-lib`, { headers: { authorization: basic('alice', 'alice-pw') } })
    const doc = (await deprecate.json()) as { _rev: string; versions: Record<string, Record<string, unknown>> }
    ;(doc.versions['1.0.0'] as Record<string, unknown>).deprecated = 'use 1.1.0'
    const put = await fetch(`${h.url}shown-lib/-rev/${doc._rev}`, { method: 'PUT', headers: { 'content-type': 'application/json', authorization: basic('alice', 'alice-pw') }, body: JSON.stringify(doc) })
    expect(put.status).toBe(201)

    const res = await page('/-/web/package/shown-lib')
    expect(res.status).toBe(200)
    expect(res.headers.get('content-security-policy')).toBe(CSP)
    const text = res.text
    expect(text).toContain('<h1>shown-lib <span class="badge local">local</span></h1>')
    expect(text).toContain('Shown &lt;i&gt;here&lt;/i&gt;')
    expect(text).toContain('<pre><code>npm install shown-lib</code></pre>')
    expect(text).toMatch(/<th scope="row">latest<\/th><td class="version">1\.1\.0<\/td>/)
    expect(text).toMatch(/<td class="version">1\.0\.0 <span class="badge deprecated" title="use 1\.1\.0">deprecated<\/span><\/td><td>\d{4}-\d\d-\d\d<\/td>/)
    expect(text).toContain('<a href="/shown-lib/-/shown-lib-1.1.0.tgz" download>.tgz</a>')
    expect(text).toContain('<a href="/-/web/package/@acme/widget">@acme/widget</a>')
    expect(text).toContain('<a href="/-/web/package/alpha">alpha</a>')
    expect(text).toContain('License: MIT')
    expect(text).toContain('<h1>XSS fixture</h1>')
    expect(text).not.toContain('javascript:alert')
    expect(text).not.toContain('__xss')
    expect(text.match(/<script/g)).toHaveLength(1)
    expect((await get('/shown-lib/-/shown-lib-1.1.0.tgz')).status).toBe(200)
  })

  it('shows cached and scoped packages, fetching them from the uplink when needed', async () => {
    const res = await page('/-/web/package/@acme/widget')
    expect(res.status).toBe(200)
    expect(res.text).toContain('<span class="badge cached">cached</span>')
    expect((await page('/-/web/package/@acme%2fwidget')).status).toBe(200)
    expect((await page('/')).text).toContain('data-name="@acme/widget"')
    expect((await page('/-/web/package/no-such-package')).status).toBe(404)
    expect((await page('/-/web/package/..%2f..%2fetc')).status).toBe(404)
  })

  it('logs in with the npm users; private packages show only to those allowed', async () => {
    await publish(h, { name: 'private-roadmap', version: '1.0.0', description: 'internal' })
    const anonymous = await page('/')
    expect(anonymous.text).not.toContain('private-roadmap')
    expect(anonymous.text).toContain('<a class="login-link" href="/-/web/login?next=%2F">Log in</a>')
    const hidden = await page('/-/web/package/private-roadmap')
    expect(hidden.status).toBe(404)
    expect(hidden.text).toContain('log in</a> to see it')
    expect((await page('/-/web/package/no-such-thing')).text).toEqual(hidden.text.replaceAll('private-roadmap', 'no-such-thing'))

    const form = await page('/-/web/login?next=/-/web/package/private-roadmap')
    expect(form.text).toContain('<input type="hidden" name="next" value="/-/web/package/private-roadmap">')
    const cookie = await login('alice', 'alice-pw', '/-/web/package/private-roadmap')
    const shown = await page('/-/web/package/private-roadmap', { cookie })
    expect(shown.status).toBe(200)
    expect(shown.text).toContain('Logged in as <strong class="user">alice</strong>')
    expect((await page('/', { cookie })).text).toContain('data-name="private-roadmap"')
    expect((await page('/-/web/fragment?q=roadmap', { cookie })).text).toContain('data-name="private-roadmap"')
    const search = (await (await get('/-/v1/search?text=roadmap', { cookie })).json()) as { total: number }
    expect(search.total).toBe(1)

    const out = await fetch(`${h.url}-/web/logout`, { method: 'POST', headers: { cookie }, redirect: 'manual' })
    expect(out.status).toBe(303)
    expect(out.headers.get('set-cookie')).toContain('Max-Age=0')
    expect((await page('/-/web/package/private-roadmap', { cookie })).status).toBe(404)
  })

  it('refuses wrong passwords, foreign forms, off-site redirects, and never takes the cookie for writes', async () => {
    const wrong = await fetch(`${h.url}-/web/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'name=alice&password=nope&next=%2F',
    })
    expect(wrong.status).toBe(401)
    expect(wrong.headers.get('set-cookie')).toBeNull()
    expect(wrong.headers.get('www-authenticate')).toBeNull()
    expect(await wrong.text()).toContain('<p class="error" role="alert">wrong user name or password</p>')
    const foreign = await fetch(`${h.url}-/web/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', origin: 'http://evil.example' },
      body: 'name=alice&password=alice-pw',
    })
    expect(foreign.status).toBe(403)
    await login('alice', 'alice-pw', '//evil.example/', '/')
    await login('alice', 'alice-pw', 'https://evil.example/', '/')

    const cookie = await login('bob', 'bob-pw')
    const pkg = await buildPackage({ name: 'cookie-publish', version: '1.0.0' })
    const res = await fetch(`${h.url}cookie-publish`, { method: 'PUT', headers: { 'content-type': 'application/json', cookie }, body: JSON.stringify(publishBody(pkg)) })
    expect(res.status).toBe(401)
    expect((await get('/-/whoami', { cookie })).status).toBe(200)
  })
})

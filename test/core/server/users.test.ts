import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest'
import { Users } from '../../../src/core/auth/index.js'
import { KeyedLock } from '../../../src/core/fs/lock.js'
import { parseConfig } from '../../../src/core/config/index.js'
import { createLogger } from '../../../src/core/log.js'
import { startServer } from '../../../src/core/server/index.js'
import { LoginSessions } from '../../../src/core/server/login-page.js'
import { redactPath } from '../../../src/core/server/redact.js'
import { startHarness, type Harness } from './harness.js'

/**
 * Logging in and tokens, against the real app in-process: the couch user document (legacy
 * npm login/adduser, yarn, pnpm), whoami, logout, `npm token`, and npm's web login.
 */

interface Answer {
  status: number
  headers: Headers
  text: string
  json: () => Record<string, unknown>
}

interface Call {
  method?: string
  token?: string
  basic?: [string, string]
  body?: unknown
  form?: Record<string, string>
}

async function call(base: string, path: string, opts: Call = {}): Promise<Answer> {
  const headers: Record<string, string> = {}
  if (opts.token) headers.authorization = `Bearer ${opts.token}`
  if (opts.basic) headers.authorization = `Basic ${Buffer.from(opts.basic.join(':')).toString('base64')}`
  let body: string | undefined
  if (opts.form) {
    headers['content-type'] = 'application/x-www-form-urlencoded'
    body = new URLSearchParams(opts.form).toString()
  } else if (opts.body !== undefined) {
    headers['content-type'] = 'application/json'
    body = typeof opts.body === 'string' ? opts.body : JSON.stringify(opts.body)
  }
  const res = await fetch(new URL(path, base), { method: opts.method ?? (body === undefined ? 'GET' : 'POST'), headers, body, redirect: 'manual' })
  const text = await res.text()
  return { status: res.status, headers: res.headers, text, json: () => JSON.parse(text) as Record<string, unknown> }
}

const couch = (name: string) => `/-/user/org.couchdb.user:${name}`
const userDoc = (name: string, password: string) => ({ _id: `org.couchdb.user:${name}`, name, password, email: `${name}@example.com`, type: 'user', roles: [], date: new Date().toISOString() })

describe('users and tokens', () => {
  let h: Harness
  const api = (p: string, opts?: Call) => call(h.url, p, opts)
  /** alice's first token, from adduser. */
  let alice: string

  beforeAll(async () => {
    // The web-login test also checks URLs behind a proxy (X-Forwarded-*), trusted from here.
    h = await startHarness({ extra: { trust_proxy: '127.0.0.1' } })
  })
  afterAll(() => h.close())

  it('adduser creates a user and returns a token that whoami accepts', async () => {
    const res = await api(couch('alice'), { method: 'PUT', body: userDoc('alice', 's3cret') })
    expect(res.status).toBe(201)
    const body = res.json()
    expect(body).toMatchObject({ ok: true, id: 'org.couchdb.user:alice' })
    expect(body.token).toMatch(/^snp_[\w-]{40,}$/)
    alice = body.token as string
    const who = await api('/-/whoami', { token: alice })
    expect(who.status).toBe(200)
    expect(who.json()).toEqual({ username: 'alice' })
    expect(await new Users(path.join(h.dir, 'htpasswd'), Infinity, new KeyedLock()).list()).toEqual(['alice'])
  })

  it('logs an existing user in with the right password, with a new token each time', async () => {
    const res = await api(couch('alice'), { method: 'PUT', body: userDoc('alice', 's3cret') })
    expect(res.status).toBe(201)
    const token = res.json().token as string
    expect(token).not.toBe(alice)
    expect((await api('/-/whoami', { token })).json()).toEqual({ username: 'alice' })
  })

  it('refuses a wrong password with 401, an {error} body and no WWW-Authenticate header', async () => {
    const res = await api(couch('alice'), { method: 'PUT', body: userDoc('alice', 'wrong') })
    expect(res.status).toBe(401)
    expect(res.headers.get('www-authenticate')).toBeNull()
    expect(res.json().error).toMatch(/wrong user name or password/)
    expect(res.text).not.toContain('wrong"')
  })

  it('rejects a user document whose name differs from the URL, or that is not JSON, without echoing it', async () => {
    const other = await api(couch('alice'), { method: 'PUT', body: userDoc('mallory', 's3cret') })
    expect(other.status).toBe(400)
    const broken = await api(couch('alice'), { method: 'PUT', body: '{"name":"alice","password":"hunter2' })
    expect(broken.status).toBe(400)
    expect(broken.text).not.toContain('hunter2')
    expect((await api(couch('alice'), { method: 'PUT', body: { name: 'alice' } })).status).toBe(400)
    expect((await api(couch('bad%20name'), { method: 'PUT', body: userDoc('bad name', 'x') })).status).toBe(400)
    expect((await api('/-/user/someone', { method: 'PUT', body: userDoc('someone', 'x') })).status).toBe(404)
    expect((await api(couch('alice'), { method: 'DELETE' })).status).toBe(405)
  })

  it('answers whoami for Basic credentials, and 401 without WWW-Authenticate when anonymous', async () => {
    expect((await api('/-/whoami', { basic: ['alice', 's3cret'] })).json()).toEqual({ username: 'alice' })
    const anonymous = await api('/-/whoami')
    expect(anonymous.status).toBe(401)
    expect(anonymous.headers.get('www-authenticate')).toBeNull()
    expect(anonymous.json().error).toMatch(/log in/)
    expect((await api('/-/whoami', { token: 'snp_not-a-token' })).status).toBe(401)
  })

  it('shows a user document (the name only) to logged-in users, 404 for an unknown name', async () => {
    expect((await api(couch('alice'), { token: alice })).json()).toEqual({ _id: 'org.couchdb.user:alice', name: 'alice' })
    const bob = (await api(couch('bob'), { method: 'PUT', body: userDoc('bob', 'b0b') })).json().token as string
    // npm owner add reads the other user's document: its name, nothing more.
    expect((await api(couch('alice'), { token: bob })).json()).toEqual({ _id: 'org.couchdb.user:alice', name: 'alice' })
    expect((await api(couch('nobody'), { token: bob })).status).toBe(404)
    expect((await api(couch('alice'))).status).toBe(401)
  })

  it('lists tokens with a shortened token, the key and npm fields, never the token itself', async () => {
    const res = await api('/-/npm/v1/tokens', { token: alice })
    expect(res.status).toBe(200)
    const body = res.json() as { objects: Record<string, unknown>[]; total: number; urls: object }
    expect(body.total).toBe(2)
    expect(body.urls).toEqual({})
    expect(body.objects).toHaveLength(2)
    for (const token of body.objects) {
      expect(Object.keys(token).sort()).toEqual(['cidr_whitelist', 'created', 'key', 'name', 'readonly', 'token', 'updated'])
      expect(token.token).toMatch(/^snp_.{6}$/)
      expect(token.key).toMatch(/^[0-9a-f]{128}$/)
      expect(token).toMatchObject({ cidr_whitelist: null, readonly: false, name: 'login' })
      expect(Date.parse(token.created as string)).not.toBeNaN()
    }
    expect(res.text).not.toContain(alice)
    expect((await api('/-/npm/v1/tokens')).status).toBe(401)
  })

  it('creates API tokens after checking the password again; read-only and CIDR limits apply', async () => {
    const wrong = await api('/-/npm/v1/tokens', { token: alice, body: { password: 'nope', readonly: false, cidr_whitelist: [] } })
    expect(wrong.status).toBe(401)
    expect(wrong.headers.get('www-authenticate')).toBeNull()

    const created = await api('/-/npm/v1/tokens', { token: alice, body: { password: 's3cret', readonly: true, cidr_whitelist: [] } })
    expect(created.status).toBe(201)
    const record = created.json()
    expect(record).toMatchObject({ readonly: true, cidr_whitelist: null, name: 'api' })
    expect(record.key).toMatch(/^[0-9a-f]{128}$/)
    const readonly = record.token as string
    expect((await api('/-/whoami', { token: readonly })).json()).toEqual({ username: 'alice' })
    // A read-only token reads, but manages no tokens.
    expect((await api('/-/npm/v1/tokens', { token: readonly, body: { password: 's3cret' } })).status).toBe(403)
    expect((await api(`/-/npm/v1/tokens/token/${record.key as string}`, { method: 'DELETE', token: readonly })).status).toBe(403)

    const elsewhere = (await api('/-/npm/v1/tokens', { token: alice, body: { password: 's3cret', cidr_whitelist: ['10.0.0.0/8'] } })).json()
    expect(elsewhere.cidr_whitelist).toEqual(['10.0.0.0/8'])
    expect((await api('/-/whoami', { token: elsewhere.token as string })).status).toBe(403)
    const here = (await api('/-/npm/v1/tokens', { token: alice, body: { password: 's3cret', cidr_whitelist: ['127.0.0.0/8'] } })).json()
    expect((await api('/-/whoami', { token: here.token as string })).status).toBe(200)

    expect((await api('/-/npm/v1/tokens', { token: alice, body: { password: 's3cret', cidr_whitelist: ['::1/128'] } })).status).toBe(400)
    expect((await api('/-/npm/v1/tokens', { token: alice, body: { readonly: true } })).status).toBe(400)
    expect((await api('/-/npm/v1/tokens', { body: { password: 's3cret' } })).status).toBe(401)
  })

  it('revokes a token by key or by value, only the caller’s own', async () => {
    const make = async () => (await api('/-/npm/v1/tokens', { token: alice, body: { password: 's3cret' } })).json() as { token: string; key: string }
    const byKey = await make()
    const bob = (await api(couch('bob'), { method: 'PUT', body: userDoc('bob', 'b0b') })).json().token as string
    expect((await api(`/-/npm/v1/tokens/token/${byKey.key}`, { method: 'DELETE', token: bob })).status).toBe(404)
    expect((await api('/-/whoami', { token: byKey.token })).status).toBe(200)

    const revoked = await api(`/-/npm/v1/tokens/token/${byKey.key}`, { method: 'DELETE', token: alice })
    expect(revoked.status).toBe(204)
    expect((await api('/-/whoami', { token: byKey.token })).status).toBe(401)
    expect((await api(`/-/npm/v1/tokens/token/${byKey.key}`, { method: 'DELETE', token: alice })).status).toBe(404)

    const byValue = await make()
    expect((await api(`/-/npm/v1/tokens/token/${byValue.token}`, { method: 'DELETE', token: alice })).status).toBe(204)
    expect((await api('/-/whoami', { token: byValue.token })).status).toBe(401)
    // A key prefix is not enough here (npm resolves ids to full keys itself).
    const byPrefix = await make()
    expect((await api(`/-/npm/v1/tokens/token/${byPrefix.key.slice(0, 8)}`, { method: 'DELETE', token: alice })).status).toBe(404)
  })

  it('logout revokes the login token it names; API tokens and other users’ tokens stay', async () => {
    const login = (await api(couch('alice'), { method: 'PUT', body: userDoc('alice', 's3cret') })).json().token as string
    const bob = (await api(couch('bob'), { method: 'PUT', body: userDoc('bob', 'b0b') })).json().token as string
    expect((await api(`/-/user/token/${login}`, { method: 'DELETE', token: bob })).status).toBe(404)

    const out = await api(`/-/user/token/${login}`, { method: 'DELETE', token: login })
    expect(out.status).toBe(200)
    expect(out.json()).toEqual({ ok: true })
    expect((await api('/-/whoami', { token: login })).status).toBe(401)
    // Again (npm logout with a token already gone): still 200, so npm clears its config.
    expect((await api(`/-/user/token/${login}`, { method: 'DELETE', token: login })).status).toBe(200)

    const apiToken = (await api('/-/npm/v1/tokens', { token: alice, body: { password: 's3cret' } })).json().token as string
    expect((await api(`/-/user/token/${apiToken}`, { method: 'DELETE', token: apiToken })).status).toBe(200)
    expect((await api('/-/whoami', { token: apiToken })).status).toBe(200)
  })

  it('npm profile: get shows the name; set changes the password after checking the old one, and refuses fields not kept', async () => {
    const cora = (await api(couch('cora'), { method: 'PUT', body: userDoc('cora', 'c0ra-old') })).json().token as string
    expect((await api('/-/npm/v1/user')).status).toBe(401)
    expect((await api('/-/npm/v1/user', { token: cora })).json()).toEqual({ name: 'cora', email: '', email_verified: false, tfa: false })

    // What npm profile set sends: every writable field as read, '' turned into null, plus the change.
    const fields = { email: null, fullname: null, homepage: null, freenode: null, twitter: null, github: null }
    const wrong = await api('/-/npm/v1/user', { token: cora, body: { ...fields, password: { old: 'not-it', new: 'c0ra-new' } } })
    expect(wrong.status).toBe(401)
    const changed = await api('/-/npm/v1/user', { token: cora, body: { ...fields, password: { old: 'c0ra-old', new: 'c0ra-new' } } })
    expect(changed.status).toBe(200)
    expect(changed.json().name).toBe('cora')
    expect((await api(couch('cora'), { method: 'PUT', body: userDoc('cora', 'c0ra-old') })).status).toBe(401)
    expect((await api(couch('cora'), { method: 'PUT', body: userDoc('cora', 'c0ra-new') })).status).toBe(201)

    const email = await api('/-/npm/v1/user', { token: cora, body: { ...fields, email: 'cora@example.com' } })
    expect(email.status).toBe(400)
    expect(email.json().error).toMatch(/keeps no email/)
    expect((await api('/-/npm/v1/user', { token: cora, body: { tfa: { mode: 'auth-only', password: 'c0ra-new' } } })).json().error).toMatch(/two-factor/)
    const readonly = (await api('/-/npm/v1/tokens', { token: cora, body: { password: 'c0ra-new', readonly: true } })).json().token as string
    expect((await api('/-/npm/v1/user', { token: readonly, body: { password: { old: 'c0ra-new', new: 'x-another-1' } } })).status).toBe(403)
  })

  describe('web login', () => {
    afterEach(() => {
      vi.useRealTimers()
    })

    async function start(body: unknown = {}) {
      const res = await api('/-/v1/login', { body })
      expect(res.status).toBe(200)
      const { loginUrl, doneUrl } = res.json() as { loginUrl: string; doneUrl: string }
      return { loginUrl, doneUrl }
    }

    it('answers POST /-/v1/login with absolute, distinct, unguessable login and done URLs', async () => {
      const { loginUrl, doneUrl } = await start()
      expect(loginUrl).toMatch(new RegExp(`^${h.url}-/v1/login/[\\w-]{43}$`))
      expect(doneUrl).toMatch(new RegExp(`^${h.url}-/v1/done/[\\w-]{43}$`))
      expect(loginUrl.split('/').pop()).not.toBe(doneUrl.split('/').pop())
      const proxied = await fetch(`${h.url}-/v1/login`, { method: 'POST', headers: { 'x-forwarded-proto': 'https', 'x-forwarded-host': 'npm.example.com' } })
      expect(((await proxied.json()) as { loginUrl: string }).loginUrl).toMatch(/^https:\/\/npm\.example\.com\/-\/v1\/login\//)
    })

    it('serves a login page without script, with a strict CSP', async () => {
      const { loginUrl } = await start()
      const res = await call(loginUrl, '')
      expect(res.status).toBe(200)
      expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8')
      expect(res.headers.get('content-security-policy')).toBe("default-src 'none'; style-src 'unsafe-inline'; form-action 'self'")
      expect(res.headers.get('x-frame-options')).toBe('DENY')
      expect(res.headers.get('cache-control')).toBe('no-store')
      expect(res.text).not.toMatch(/<script|javascript:|\son\w+=/i)
      expect(res.text).toMatch(/<form method="post">/)
      expect(res.text).toMatch(/name="name"/)
      expect(res.text).toMatch(/name="password" type="password"/)
    })

    it('polls 202 with Retry-After until the form is sent, then hands out a token once', async () => {
      const { loginUrl, doneUrl } = await start()
      const pending = await call(doneUrl, '')
      expect(pending.status).toBe(202)
      expect(pending.headers.get('retry-after')).toBe('1')
      expect(pending.json()).toEqual({})

      const wrong = await call(loginUrl, '', { form: { name: 'alice', password: 'wrong' } })
      expect(wrong.status).toBe(401)
      expect(wrong.text).toMatch(/wrong user name or password/)
      expect(wrong.text).toMatch(/value="alice"/)
      expect(wrong.text).not.toContain('wrong"')
      expect((await call(doneUrl, '')).status).toBe(202)

      const ok = await call(loginUrl, '', { form: { name: 'alice', password: 's3cret' } })
      expect(ok.status).toBe(200)
      expect(ok.text).toMatch(/logged in as <strong>alice<\/strong>/)
      expect(ok.text).toMatch(/return to your terminal/i)
      // A second visit shows the same, and logs in nobody else.
      expect((await call(loginUrl, '', { form: { name: 'bob', password: 'b0b' } })).text).toMatch(/alice/)

      const done = await call(doneUrl, '')
      expect(done.status).toBe(200)
      const token = done.json().token as string
      expect((await api('/-/whoami', { token })).json()).toEqual({ username: 'alice' })

      const again = await call(doneUrl, '')
      expect(again.status).toBe(404)
      expect(again.json().error).toMatch(/npm login/)
      expect((await call(loginUrl, '')).status).toBe(404)
    })

    it('does not log in an unknown name, and creates one only for npm adduser ({create: true})', async () => {
      const login = await start()
      const unknown = await call(login.loginUrl, '', { form: { name: 'carol', password: 'c4rol' } })
      expect(unknown.status).toBe(401)
      const adduser = await start({ create: true })
      expect((await call(adduser.loginUrl, '')).text).toMatch(/Create an account/)
      expect((await call(adduser.loginUrl, '', { form: { name: 'carol', password: 'c4rol' } })).status).toBe(200)
      const token = (await call(adduser.doneUrl, '')).json().token as string
      expect((await api('/-/whoami', { token })).json()).toEqual({ username: 'carol' })
    })

    it('forgets sessions after 5 minutes', async () => {
      const { loginUrl, doneUrl } = await start()
      vi.useFakeTimers({ toFake: ['Date'] })
      vi.setSystemTime(Date.now() + 5 * 60 * 1000 + 1)
      expect((await call(doneUrl, '')).status).toBe(404)
      const page = await call(loginUrl, '', { form: { name: 'alice', password: 's3cret' } })
      expect(page.status).toBe(404)
      expect(page.text).toMatch(/expired/)
    })

    it('answers unknown session ids with 404', async () => {
      expect((await api('/-/v1/done/nope')).status).toBe(404)
      expect((await api('/-/v1/login/nope')).status).toBe(404)
      expect((await api('/-/v1/login', { method: 'GET' })).status).toBe(405)
    })
  })
})

describe('LoginSessions', () => {
  it('expires sessions, keeps their count bounded (the oldest goes), and finishes them by either id', () => {
    let now = 1_000
    const sessions = new LoginSessions(100, 2, () => now)
    const a = sessions.start(false)
    const b = sessions.start(true)
    expect(sessions.byLoginId(a.loginId)).toBe(a)
    expect(sessions.byDoneId(a.loginId)).toBeNull()
    sessions.finish(a)
    expect(sessions.byDoneId(a.doneId)).toBeNull()
    const c = sessions.start(false)
    sessions.start(false)
    expect(sessions.size).toBe(2)
    expect(sessions.byDoneId(b.doneId)).toBeNull()
    expect(sessions.byDoneId(c.doneId)).toBe(c)
    now += 101
    expect(sessions.byDoneId(c.doneId)).toBeNull()
    sessions.start(false)
    expect(sessions.size).toBe(1)
  })
})

describe('self-registration closed, and password guessing', () => {
  let h: Harness
  const api = (p: string, opts?: Call) => call(h.url, p, opts)
  beforeAll(async () => {
    h = await startHarness({ extra: { auth: { htpasswd: { file: './users.htpasswd', max_users: -1 } } } })
  })
  afterAll(() => h.close())

  it('refuses npm adduser for a new name with the 401 a wrong password gets, saying no accounts are taken; known users still log in', async () => {
    const res = await api(couch('dave'), { method: 'PUT', body: userDoc('dave', 'd4ve') })
    expect(res.status).toBe(401)
    expect(res.json().error).toMatch(/takes no new accounts.*sinopia-cli user add/)
    await new Users(path.join(h.dir, 'users.htpasswd'), -1, new KeyedLock()).add('dave', 'd4ve')
    expect((await api(couch('dave'), { method: 'PUT', body: userDoc('dave', 'd4ve') })).status).toBe(201)
    const web = (await api('/-/v1/login', { body: { create: true } })).json() as { loginUrl: string }
    const page = await call(web.loginUrl, '', { form: { name: 'erin', password: 'x' } })
    expect(page.status).toBe(401)
    expect(page.text).toMatch(/takes no new accounts/)
  })

  it('answers 429 after repeated wrong passwords from one address, even to the right one', async () => {
    for (let i = 0; i < 10; i++) expect((await api(couch('dave'), { method: 'PUT', body: userDoc('dave', `guess${i}`) })).status).toBe(401)
    const limited = await api(couch('dave'), { method: 'PUT', body: userDoc('dave', 'd4ve') })
    expect(limited.status).toBe(429)
    expect(limited.json().error).toMatch(/too many failed logins/)
    expect((await api('/-/whoami', { basic: ['dave', 'd4ve'] })).status).toBe(429)
    const web = (await api('/-/v1/login', { body: {} })).json() as { loginUrl: string }
    expect((await call(web.loginUrl, '', { form: { name: 'dave', password: 'd4ve' } })).status).toBe(429)
  })
})

describe('request log', () => {
  it('redacts tokens and login session ids from paths', () => {
    expect(redactPath('/-/user/token/snp_abc')).toBe('/-/user/token/***')
    expect(redactPath('/-/npm/v1/tokens/token/snp_abc')).toBe('/-/npm/v1/tokens/token/***')
    expect(redactPath('/-/v1/login/abc')).toBe('/-/v1/login/***')
    expect(redactPath('/-/v1/done/abc')).toBe('/-/v1/done/***')
    expect(redactPath('/npm/-/user/token/snp_abc')).toBe('/npm/-/user/token/***')
    expect(redactPath('/-/v1/login')).toBe('/-/v1/login')
    expect(redactPath('/-/user/org.couchdb.user:alice')).toBe('/-/user/org.couchdb.user:alice')
  })

  it('never prints a password, a token or a session id while users log in and out', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'sinopia-users-log-'))
    const lines: string[] = []
    const { config } = parseConfig(`storage: ./storage\nuplinks: {}\npackages:\n  '**': {access: $all, publish: $authenticated}\n`, path.join(dir, 'config.yaml'))
    const server = await startServer(config, { host: '127.0.0.1', port: 0 }, createLogger('trace', (line) => lines.push(line)))
    const api = (p: string, opts?: Call) => call(server.url, p, opts)
    const secrets: string[] = ['Pa55-word-one', 'wrong-Pa55']
    try {
      const token = (await api(couch('frank'), { method: 'PUT', body: userDoc('frank', 'Pa55-word-one') })).json().token as string
      await api(couch('frank'), { method: 'PUT', body: userDoc('frank', 'wrong-Pa55') })
      await api(couch('frank'), { method: 'PUT', body: '{"name":"frank","password":"Pa55-word-one' })
      const created = (await api('/-/npm/v1/tokens', { token, body: { password: 'Pa55-word-one' } })).json() as { token: string; key: string }
      await api(`/-/npm/v1/tokens/token/${created.token}`, { method: 'DELETE', token })
      const { loginUrl, doneUrl } = (await api('/-/v1/login', { body: {} })).json() as { loginUrl: string; doneUrl: string }
      await call(loginUrl, '')
      await call(loginUrl, '', { form: { name: 'frank', password: 'wrong-Pa55' } })
      await call(loginUrl, '', { form: { name: 'frank', password: 'Pa55-word-one' } })
      const web = (await call(doneUrl, '')).json().token as string
      await api(`/-/user/token/${web}`, { method: 'DELETE', token: web })
      await api(`/-/user/token/${token}`, { method: 'DELETE', token })
      secrets.push(token, created.token, web, loginUrl.split('/').pop() as string, doneUrl.split('/').pop() as string)
    } finally {
      await server.close(1000)
      await rm(dir, { recursive: true, force: true })
    }
    const log = lines.join('')
    expect(log).toMatch(/DELETE \/-\/user\/token\/\*\*\* 200/)
    expect(log).toMatch(/GET \/-\/v1\/done\/\*\*\* 200/)
    expect(log).toMatch(/user frank registered itself/)
    for (const secret of secrets) expect(log).not.toContain(secret)
  })
})

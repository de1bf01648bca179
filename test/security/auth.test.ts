import { chmod, mkdtemp, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { Auth, FailureLimiter, Tokens, Users } from '../../src/core/auth/index.js'
import { isSinopiaError } from '../../src/core/errors.js'
import { LoginSessions } from '../../src/core/server/login-page.js'
import { statusOf } from '../../src/core/server/statuses.js'
import { FsTokens } from '../../src/core/store/fs/tokens.js'
import { KeyedLock } from '../../src/core/fs/lock.js'
import { startHarness, type Harness } from '../core/server/harness.js'
import { rejection, thrownBy } from '../helpers/errors.js'

/**
 * Password guessing, lock-outs, user enumeration, bcrypt's 72-byte limit and the modes of
 * the files that hold secrets. The limiter runs on an injected clock; users that answer at
 * once stand in for bcrypt where a test sends 100,000 failures.
 */

const WINDOW = 15 * 60 * 1000

/** Users whose only account is alice/right, checked without bcrypt (a flood must stay fast). */
function quickUsers(): Users {
  return {
    authenticate: (name: string, password: string) => Promise.resolve(name === 'alice' && password === 'right'),
    exists: (name: string) => Promise.resolve(name === 'alice'),
  } as unknown as Users
}

async function outcome(auth: Auth, name: string, password: string, address: string): Promise<number> {
  try {
    await auth.checkPassword(name, password, address)
    return 200
  } catch (error) {
    if (isSinopiaError(error)) return statusOf(error.code)
    throw error
  }
}

describe('login failure limiter', () => {
  let now = 1_000_000
  const clock = () => now
  const makeAuth = () =>
    new Auth(quickUsers(), {} as Tokens, new FailureLimiter({ maxFailures: 10, windowMs: WINDOW, maxTracked: 100_000, now: clock }))

  beforeEach(() => {
    now = 1_000_000
  })

  it('keeps a lock-out through a flood of failures from 100,000+ other addresses', async () => {
    const auth = makeAuth()
    for (let i = 0; i < 10; i++) expect(await outcome(auth, 'alice', `guess${i}`, '10.0.0.1')).toBe(401)
    expect(await outcome(auth, 'alice', 'right', '10.0.0.1')).toBe(429)
    for (let i = 0; i < 120_000; i++) {
      const address = `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`
      if (address === '10.0.0.1') continue
      await auth.checkPassword(`user${i}`, 'x', `::ffff:${address.replace(/^10\./, '11.')}`).catch(() => undefined)
    }
    now += 60_000
    expect(await outcome(auth, 'alice', 'right', '10.0.0.1')).toBe(429)
    now += WINDOW
    expect(await outcome(auth, 'alice', 'right', '10.0.0.1')).toBe(200)
  })

  it('locks out the guessing address only: the right password from another address still logs in', async () => {
    const auth = makeAuth()
    for (let i = 0; i < 10; i++) await outcome(auth, 'alice', `guess${i}`, '10.0.0.1')
    expect(await outcome(auth, 'alice', 'right', '10.0.0.1')).toBe(429)
    expect(await outcome(auth, 'alice', 'right', '10.0.0.2')).toBe(200)
  })

  it('still limits one address that tries many user names', async () => {
    const auth = makeAuth()
    let limited = 0
    for (let i = 0; i < 60; i++) if ((await outcome(auth, `user${i}`, 'x', '10.0.0.9')) === 429) limited++
    expect(limited).toBeGreaterThan(0)
    expect(await outcome(auth, 'alice', 'right', '10.0.0.9')).toBe(429)
    // A success of one's own account does not reset the address's count.
    expect(await outcome(auth, 'alice', 'right', '10.0.0.10')).toBe(200)
  })

  it('counts an IPv6 client by its /64, so it cannot rotate through its own addresses', async () => {
    const auth = makeAuth()
    for (let i = 0; i < 10; i++) await outcome(auth, 'alice', `guess${i}`, `2001:db8:1:2::${(i + 1).toString(16)}`)
    expect(await outcome(auth, 'alice', 'right', '2001:db8:1:2::ff')).toBe(429)
    expect(await outcome(auth, 'alice', 'right', '2001:db8:1:3::1')).toBe(200)
  })
})

describe('users file', () => {
  let dir: string
  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'sinopia-sec-auth-'))
  })
  afterEach(() => rm(dir, { recursive: true, force: true }))

  it('checks a password hash for an unknown user too, so both take as long', async () => {
    const checked: string[] = []
    const verify = (_password: string, hash: string) => {
      checked.push(hash)
      return Promise.resolve(false)
    }
    const file = path.join(dir, 'htpasswd')
    await new Users(file, Infinity, new KeyedLock()).add('alice', 'right')
    const users = new Users(file, Infinity, new KeyedLock(), { verify })
    expect(await users.authenticate('alice', 'wrong')).toBe(false)
    expect(await users.authenticate('nobody', 'wrong')).toBe(false)
    expect(checked).toHaveLength(2)
    expect(checked[1]).toMatch(/^\$2[aby]\$10\$/)
  })

  it('pays the bcrypt compare for a wrong password of a user with an old fast hash (SHA1) too', async () => {
    const checked: string[] = []
    const verify = (_password: string, hash: string) => {
      checked.push(hash)
      return Promise.resolve(false)
    }
    const file = path.join(dir, 'htpasswd')
    // {SHA} of "right", as older htpasswd files hold it.
    await writeFile(file, 'old:{SHA}0nofEXcSAJSXFLGvmfBIpBb11vQ=\n')
    const users = new Users(file, Infinity, new KeyedLock(), { verify })
    expect(await users.authenticate('old', 'wrong')).toBe(false)
    expect(checked).toEqual(['{SHA}0nofEXcSAJSXFLGvmfBIpBb11vQ=', expect.stringMatching(/^\$2[aby]\$10\$/)])
  })

  it('refuses passwords longer than 72 bytes (bcrypt ignores the rest) on add and on set', async () => {
    const users = new Users(path.join(dir, 'htpasswd'), Infinity, new KeyedLock())
    const long = 'a'.repeat(73)
    expect(await rejection(users.add('alice', long))).toMatchObject({ code: 'EBADPASSWORD', status: 400, message: expect.stringMatching(/72 bytes/) })
    // 24 characters, 72 bytes: accepted; 25 of them (75 bytes) are not.
    await users.add('alice', '€'.repeat(24))
    await expect(users.setPassword('alice', '€'.repeat(25))).rejects.toMatchObject({ code: 'EBADPASSWORD' })
    expect(await users.authenticate('alice', '€'.repeat(24))).toBe(true)
  })

  it('writes htpasswd and tokens.json readable by their owner only, also when they were 0644', async () => {
    const file = path.join(dir, 'htpasswd')
    const tokensFile = path.join(dir, 'tokens.json')
    const users = new Users(file, Infinity, new KeyedLock())
    await users.add('alice', 'right')
    expect((await stat(file)).mode & 0o777).toBe(0o600)
    const tokens = new Tokens(new FsTokens(tokensFile, new KeyedLock()))
    await tokens.create('alice')
    expect((await stat(tokensFile)).mode & 0o777).toBe(0o600)

    await chmod(file, 0o644)
    await users.add('bob', 'right')
    expect((await stat(file)).mode & 0o777).toBe(0o600)
    await writeFile(tokensFile, JSON.stringify({ tokens: [] }), { mode: 0o644 })
    await chmod(tokensFile, 0o644)
    await tokens.create('bob')
    expect((await stat(tokensFile)).mode & 0o777).toBe(0o600)
  })
})

describe('the same answer for an unknown user and a wrong password', () => {
  let h: Harness
  const put = (name: string, password: string) =>
    fetch(new URL(`/-/user/org.couchdb.user:${name}`, h.url), {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name, password }),
    })
  beforeAll(async () => {
    h = await startHarness({ extra: { auth: { htpasswd: { file: './users.htpasswd', max_users: -1 } } } })
    await new Users(path.join(h.dir, 'users.htpasswd'), -1, new KeyedLock()).add('dave', 'd4ve')
  })
  afterAll(() => h.close())

  it('answers the couch login alike for an unknown name (registration closed) and a wrong password', async () => {
    const unknown = await put('nobody', 'x')
    const wrong = await put('dave', 'x')
    expect(unknown.status).toBe(wrong.status)
    expect(await unknown.text()).toBe(await wrong.text())
    expect((await put('dave', 'd4ve')).status).toBe(201)
  })

  it('answers Basic auth alike for an unknown name and a wrong password', async () => {
    const basic = (name: string) => ({ authorization: `Basic ${Buffer.from(`${name}:x`).toString('base64')}` })
    const unknown = await fetch(new URL('/-/whoami', h.url), { headers: basic('nobody2') })
    const wrong = await fetch(new URL('/-/whoami', h.url), { headers: basic('dave') })
    expect(unknown.status).toBe(wrong.status)
    expect(await unknown.text()).toBe(await wrong.text())
  })

})

describe('bcrypt’s 72-byte limit over HTTP', () => {
  it('refuses npm adduser and npm profile set password with a password over 72 bytes, with a clear 400', async () => {
    const h = await startHarness()
    try {
      const json = { 'content-type': 'application/json' }
      const adduser = (password: string) =>
        fetch(new URL('/-/user/org.couchdb.user:erin', h.url), { method: 'PUT', headers: json, body: JSON.stringify({ name: 'erin', password }) })
      const refused = await adduser('p'.repeat(100))
      expect(refused.status).toBe(400)
      expect(((await refused.json()) as { error: string }).error).toMatch(/72 bytes/)
      const created = await adduser('short-enough')
      expect(created.status).toBe(201)
      const { token } = (await created.json()) as { token: string }
      const profile = await fetch(new URL('/-/npm/v1/user', h.url), {
        method: 'POST',
        headers: { ...json, authorization: `Bearer ${token}` },
        body: JSON.stringify({ password: { old: 'short-enough', new: 'q'.repeat(73) } }),
      })
      expect(profile.status).toBe(400)
      expect(((await profile.json()) as { error: string }).error).toMatch(/72 bytes/)
    } finally {
      await h.close()
    }
  })
})

describe('npm web-login sessions under a flood', () => {
  it('always starts a new login: a flood from many addresses evicts the oldest pending ones', () => {
    let now = 1_000
    const sessions = new LoginSessions(5 * 60_000, 1_000, () => now, 10)
    for (let i = 0; i < 5_000; i++) sessions.start(false, `10.0.${i >> 8}.${i & 255}`)
    expect(sessions.size).toBeLessThanOrEqual(1_000)
    const mine = sessions.start(false, '192.168.1.1')
    expect(mine).not.toBeNull()
    expect(sessions.byLoginId(mine.loginId)).toBe(mine)
    now += 1
    expect(sessions.byDoneId(mine.doneId)).toBe(mine)
  })

  it('caps the logins pending per address, and frees the places as they expire', () => {
    let now = 1_000
    const sessions = new LoginSessions(5 * 60_000, 1_000, () => now, 10)
    for (let i = 0; i < 10; i++) expect(sessions.start(false, '10.0.0.1')).not.toBeNull()
    expect(thrownBy(() => sessions.start(false, '10.0.0.1'))).toMatchObject({ status: 429 })
    expect(sessions.start(false, '10.0.0.2')).not.toBeNull()
    now += 5 * 60_000 + 1
    expect(sessions.start(false, '10.0.0.1')).not.toBeNull()
  })

  it('answers the (n+1)th POST /-/v1/login from one address with 429, per `limits.pending_logins_per_address`', async () => {
    const h = await startHarness({ extra: { limits: { pending_logins_per_address: 3 } } })
    try {
      const statuses: number[] = []
      for (let i = 0; i < 4; i++) {
        const res = await fetch(new URL('/-/v1/login', h.url), { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' })
        statuses.push(res.status)
        await res.arrayBuffer()
      }
      expect(statuses).toEqual([200, 200, 200, 429])
    } finally {
      await h.close()
    }
  })
})

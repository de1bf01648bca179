import { copyFile } from 'node:fs/promises'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { REPO_ROOT } from '../../helpers/clients.js'
import { startHarness, type Harness } from './harness.js'

describe('logging in with an old htpasswd file', () => {
  let h: Harness
  beforeAll(async () => {
    h = await startHarness()
    await copyFile(path.join(REPO_ROOT, 'fixtures', 'config', 'htpasswd-mixed'), path.join(h.dir, 'htpasswd'))
  })
  afterAll(() => h.close())

  it('accepts each user through npm login (legacy) and Basic auth', async () => {
    for (const [name, password] of [
      ['md5user', 'md5-pass'],
      ['shauser', 'sha-pass'],
      ['cryptuser', 'crypt-pw'],
      ['bcryptuser', 'bcrypt-pass'],
    ] as const) {
      const login = await fetch(`${h.url}-/user/org.couchdb.user:${name}`, {
        method: 'PUT',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ _id: `org.couchdb.user:${name}`, name, password, type: 'user', roles: [] }),
      })
      expect(login.status, name).toBe(201)
      const { token } = (await login.json()) as { token: string }
      const whoami = await fetch(`${h.url}-/whoami`, { headers: { authorization: `Bearer ${token}` } })
      expect(await whoami.json()).toEqual({ username: name })
      const basic = await fetch(`${h.url}-/whoami`, { headers: { authorization: `Basic ${Buffer.from(`${name}:${password}`).toString('base64')}` } })
      expect(await basic.json()).toEqual({ username: name })
    }
    const wrong = await fetch(`${h.url}-/whoami`, { headers: { authorization: `Basic ${Buffer.from('md5user:nope').toString('base64')}` } })
    expect(wrong.status).toBe(401)
    expect(wrong.headers.get('www-authenticate')).toBeNull()
  })
})

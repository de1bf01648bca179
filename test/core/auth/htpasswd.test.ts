import { copyFile, mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { Users } from '../../../src/core/auth/index.js'
import { parseHtpasswd, verifyPassword } from '../../../src/core/auth/htpasswd.js'
import { KeyedLock } from '../../../src/core/fs/lock.js'
import { REPO_ROOT } from '../../helpers/clients.js'

const FIXTURE = path.join(REPO_ROOT, 'fixtures', 'config', 'htpasswd-mixed')

describe('htpasswd files written by older Sinopia/Verdaccio setups', () => {
  let dir: string
  let file: string
  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'sinopia-htpasswd-'))
    file = path.join(dir, 'htpasswd')
    await copyFile(FIXTURE, file)
  })
  afterEach(() => rm(dir, { recursive: true, force: true }))

  it('lets every user log in, whatever the hash format', async () => {
    const users = new Users(file, Infinity, new KeyedLock())
    for (const [name, password] of [
      ['md5user', 'md5-pass'],
      ['shauser', 'sha-pass'],
      ['cryptuser', 'crypt-pw'],
      ['bcryptuser', 'bcrypt-pass'],
      ['autouser', 'sha-pass'],
    ]) {
      expect(await users.authenticate(name as string, password as string), name).toBe(true)
      expect(await users.authenticate(name as string, 'wrong'), name).toBe(false)
    }
  })

  it('keeps the other entries as they were when a user is added', async () => {
    const users = new Users(file, Infinity, new KeyedLock())
    await users.add('newcomer', 'fresh-pass')
    const entries = parseHtpasswd(await readFile(file, 'utf8'))
    expect(entries.map((e) => e.name)).toEqual(['md5user', 'shauser', 'cryptuser', 'bcryptuser', 'autouser', 'newcomer'])
    expect(entries.find((e) => e.name === 'autouser')?.rest).toBe(':autocreated 2020-01-01T00:00:00.000Z')
    expect(entries.at(-1)?.hash).toMatch(/^\$2[aby]\$10\$/)
    expect(await users.authenticate('newcomer', 'fresh-pass')).toBe(true)
  })

  it('refuses unknown hash formats', async () => {
    expect(await verifyPassword('x', 'plaintext-x')).toBe(false)
    expect(await verifyPassword('x', '')).toBe(false)
  })
})

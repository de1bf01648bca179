import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { Users } from '../../../src/core/auth/index.js'
import { parseConfig } from '../../../src/core/config/index.js'
import { openStore, type Store } from '../../../src/core/store/index.js'
import { freshDatabase } from '../../helpers/postgres.js'

/**
 * Users kept in the store (auth.store) on a real PostgreSQL database, through two store handles
 * as two `serve` instances on one database would hold them.
 */
describe('Users in a PostgreSQL store', () => {
  let dir: string
  let url: string
  let stores: Store[]

  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'sinopia-store-users-'))
    url = await freshDatabase()
    stores = [await openStore(url, { blobCache: path.join(dir, 'a') }), await openStore(url, { blobCache: path.join(dir, 'b') })]
  })
  afterEach(async () => {
    await Promise.all(stores.map((s) => s.close()))
    await rm(dir, { recursive: true, force: true })
  })

  const usersOn = (store: Store, maxUsers = Infinity) => new Users(store.users, maxUsers)

  it('a user added through one instance logs in on the other, and their changes are seen both ways', async () => {
    const [a, b] = stores.map((s) => usersOn(s)) as [Users, Users]
    await a.add('alice', 'alice-pw')
    expect(await b.authenticate('alice', 'alice-pw')).toBe(true)
    expect(await b.authenticate('alice', 'wrong')).toBe(false)
    await b.setPassword('alice', 'new-pw')
    expect(await a.authenticate('alice', 'alice-pw')).toBe(false)
    expect(await a.authenticate('alice', 'new-pw')).toBe(true)
    await b.remove('alice')
    expect(await a.exists('alice')).toBe(false)
    expect(await a.authenticate('alice', 'new-pw')).toBe(false)
    await expect(a.remove('alice')).rejects.toMatchObject({ code: 'ENOUSER' })
  })

  it('of concurrent adds of one name on both instances, exactly one wins', async () => {
    const [a, b] = stores.map((s) => usersOn(s)) as [Users, Users]
    const results = await Promise.allSettled(Array.from({ length: 8 }, (_, i) => (i % 2 ? b : a).add('bob', `pw-${i}`)))
    const won = results.flatMap((r, i) => (r.status === 'fulfilled' ? [i] : []))
    expect(won).toHaveLength(1)
    for (const r of results) if (r.status === 'rejected') expect(r.reason).toMatchObject({ code: 'EUSEREXISTS' })
    expect(await b.list()).toEqual(['bob'])
    expect(await a.authenticate('bob', `pw-${won[0]}`)).toBe(true)
  })

  it('max_users holds for self-registration across instances; the terminal is not limited', async () => {
    const [a, b] = stores.map((s) => usersOn(s, 2)) as [Users, Users]
    const results = await Promise.allSettled(['u1', 'u2', 'u3', 'u4'].map((name, i) => (i % 2 ? b : a).add(name, 'pw', { selfRegistration: true })))
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(2)
    for (const r of results) if (r.status === 'rejected') expect(r.reason).toMatchObject({ code: 'EREGISTRATION' })
    expect(await a.registrationOpen()).toBe(false)
    await b.add('admin', 'pw')
    expect(await a.list()).toHaveLength(3)
    const closed = usersOn(stores[0] as Store, -1)
    await expect(closed.add('late', 'pw', { selfRegistration: true })).rejects.toMatchObject({ code: 'EREGISTRATION', message: /closed/ })
  })

  it('Users.of takes the store when the config says auth.store, the htpasswd file otherwise', async () => {
    const file = path.join(dir, 'config.yaml')
    const inStore = parseConfig(`storage: ${url}\nauth: { store: {} }\n`, file).config
    const store = stores[0] as Store
    await Users.of(inStore, store).add('carol', 'carol-pw')
    expect(await stores[1]!.users.read()).toHaveProperty('size', 1)
    expect(Users.of(inStore, store).where()).toMatch(/sinopia_users/)
    const inFile = parseConfig(`storage: ${url}\n`, file).config
    expect(Users.of(inFile, store).where()).toBe(path.join(dir, 'htpasswd'))
    expect(await Users.of(inFile, store).exists('carol')).toBe(false)
  })
})

import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Users } from '../../src/core/auth/index.js'
import { KeyedLock } from '../../src/core/fs/lock.js'
import { buildPackage } from '../helpers/packages.js'
import { freshDatabase } from '../helpers/postgres.js'
import { publishBody } from '../helpers/publish.js'
import { cleanupRegistries, startRegistry, type RunningRegistry } from '../helpers/server.js'

/**
 * `serve` on a PostgreSQL database named by $SINOPIA_STORAGE (over the config file's folder):
 * it prints the URL without its password, keeps what is published in the database (a second
 * server started on it serves it), and stops cleanly on SIGTERM, closing its sessions. TMPDIR
 * puts the default blob cache (os.tmpdir()/sinopia-blob-cache-<hash>) in the test's folder.
 */
describe('serve with a PostgreSQL store', () => {
  let dir: string
  let url: string
  const auth = `Basic ${Buffer.from('alice:alice-pw').toString('base64')}`
  let config: Record<string, unknown>

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'sinopia-serve-pg-'))
    const htpasswd = path.join(dir, 'htpasswd')
    await new Users(htpasswd, Infinity, new KeyedLock()).add('alice', 'alice-pw')
    config = { auth: { htpasswd: { file: htpasswd } } }
    const plain = new URL(await freshDatabase())
    // trust authentication accepts any password: it is here to be hidden.
    plain.password = 'pg-secret'
    url = plain.toString()
  })
  afterAll(async () => {
    await cleanupRegistries()
    await rm(dir, { recursive: true, force: true })
  })

  const start = () => startRegistry({ storage: path.join(dir, 'unused-folder'), config, env: { SINOPIA_STORAGE: url, TMPDIR: dir } })

  it('publishes into the database, serves it from another server on it, and stops cleanly', { timeout: 60_000 }, async () => {
    const first: RunningRegistry = await start()
    expect(first.output()).toContain(`storage ${url.replace('pg-secret', '***')}`)
    expect(first.output()).not.toContain('pg-secret')
    const pkg = await buildPackage({ name: 'in-pg', version: '1.0.0' })
    const put = await fetch(`${first.url}in-pg`, { method: 'PUT', body: JSON.stringify(publishBody(pkg)), headers: { 'content-type': 'application/json', authorization: auth } })
    expect(put.status).toBe(201)
    expect(await first.stop()).toEqual({ code: 0, signal: null })

    const second = await start()
    const doc = (await (await fetch(`${second.url}in-pg`)).json()) as { versions: Record<string, unknown> }
    expect(Object.keys(doc.versions)).toEqual(['1.0.0'])
    const tarball = await fetch(`${second.url}in-pg/-/${pkg.filename}`)
    expect(tarball.status).toBe(200)
    expect(Buffer.from(await tarball.arrayBuffer()).equals(pkg.tarball)).toBe(true)
    expect(await second.stop()).toEqual({ code: 0, signal: null })
    expect(second.output()).not.toContain('pg-secret')
  })
})

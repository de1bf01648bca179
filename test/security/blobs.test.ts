import path from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { Users } from '../../src/core/auth/index.js'
import { KeyedLock } from '../../src/core/fs/lock.js'
import { buildPackage, type BuiltPackage } from '../helpers/packages.js'
import { publishBody } from '../helpers/publish.js'
import { startHarness, type Harness } from '../core/server/harness.js'

const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`

/**
 * Blobs are content-addressed, but a digest is not a permission: bytes are served only through
 * the name@version they were stored for, so a packument that claims another package's digest
 * (an uplink's, or one forged to probe) never reaches them, and that package's access rule holds.
 */
describe('blobs are served only under the name they were stored for', () => {
  let h: Harness
  let alice: string
  let secret: BuiltPackage
  let decoy: BuiltPackage

  beforeEach(async () => {
    h = await startHarness()
    const users = new Users(path.join(h.dir, 'htpasswd'), Infinity, new KeyedLock())
    await users.add('alice', 'alice-pw')
    alice = basic('alice', 'alice-pw')
    secret = await buildPackage({ name: 'private-secret', version: '1.0.0', files: { 'key.txt': 'the crown jewels\n' } })
    const res = await fetch(`${h.url}private-secret`, {
      method: 'PUT',
      body: JSON.stringify(publishBody(secret)),
      headers: { 'content-type': 'application/json', authorization: alice },
    })
    expect(res.status).toBe(201)
    // An uplink package whose packument carries the private tarball's digests.
    const own = await buildPackage({ name: 'public-decoy', version: '1.0.0' })
    decoy = { ...own, manifest: { ...own.manifest, dist: { ...own.manifest.dist, integrity: secret.manifest.dist.integrity, shasum: secret.manifest.dist.shasum } } }
    h.upstream.addPackage(decoy)
  })
  afterEach(() => h.close())

  const anonymousGet = async (pkg: BuiltPackage) => {
    const res = await fetch(`${h.url}${pkg.name}/-/${pkg.filename}`)
    return { status: res.status, body: Buffer.from(await res.arrayBuffer()) }
  }

  it('a public name whose uplink packument claims a private tarball’s digest does not get its bytes', async () => {
    expect((await fetch(`${h.url}private-secret/-/${secret.filename}`)).status).toBe(401)
    const got = await anonymousGet(decoy)
    expect(got.body.equals(secret.tarball)).toBe(false)
    // The uplink was asked for the decoy's own bytes, which do not match the claimed digest.
    expect(got.status).toBe(502)
    expect(h.upstream.count((r) => r.url.endsWith(`/${decoy.filename}`))).toBe(1)
  })

  it('nor when the private tarball was just served from memory to someone allowed to read it', async () => {
    const allowed = await fetch(`${h.url}private-secret/-/${secret.filename}`, { headers: { authorization: alice } })
    expect(Buffer.from(await allowed.arrayBuffer()).equals(secret.tarball)).toBe(true)
    const got = await anonymousGet(decoy)
    expect(got.body.equals(secret.tarball)).toBe(false)
    expect(got.status).toBe(502)
  })
})

import { readdir, rm, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { Users } from '../../../src/core/auth/index.js'
import { KeyedLock } from '../../../src/core/fs/lock.js'
import { buildPackage } from '../../helpers/packages.js'
import { publishBody } from '../../helpers/publish.js'
import { folderLayout, onPostgres, startHarness, type Harness } from './harness.js'
import { storedNow } from '../../helpers/stored.js'
import { docOf, errorOf, versionIn } from '../../helpers/answers.js'

const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`

describe('publishing', () => {
  let h: Harness
  let alice: string
  let bob: string
  const put = (path: string, body: unknown, auth: string | null = alice) =>
    fetch(`${h.url}${path}`, {
      method: 'PUT',
      body: JSON.stringify(body),
      headers: { 'content-type': 'application/json', ...(auth ? { authorization: auth } : {}) },
    })
  const del = (path: string, auth: string | null = alice) => fetch(`${h.url}${path}`, { method: 'DELETE', headers: auth ? { authorization: auth } : {} })
  const get = async (path: string) => docOf(await fetch(`${h.url}${path}`))

  beforeEach(async () => {
    h = await startHarness({
      extra: {
        max_body_size: '200kb',
        packages: {
          'restricted-*': { access: '$all', publish: 'bob', unpublish: 'bob' },
          'forked-*': { access: '$all', publish: '$authenticated' },
          '@*/*': { access: '$all', publish: '$authenticated', proxy: 'npmjs' },
          // These tests publish over the uplink's `alpha`, which takes the override right.
          '**': { access: '$all', publish: '$authenticated', unpublish: '$authenticated', override: '$authenticated', proxy: 'npmjs' },
        },
      },
    })
    const users = new Users(path.join(h.dir, 'htpasswd'), Infinity, new KeyedLock())
    await users.add('alice', 'alice-pw')
    await users.add('bob', 'bob-pw')
    alice = basic('alice', 'alice-pw')
    bob = basic('bob', 'bob-pw')
  })
  afterEach(() => h.close())

  it('publishes a local-only package that installs from here and never asks the uplink', async () => {
    const pkg = await buildPackage({ name: 'internal-lib', version: '1.0.0' })
    const res = await put('internal-lib', publishBody(pkg))
    expect(res.status).toBe(201)
    const doc = await get('internal-lib')
    expect(Object.keys(doc.versions)).toEqual(['1.0.0'])
    expect(doc['dist-tags']).toEqual({ latest: '1.0.0' })
    expect(doc.versions['1.0.0']?.dist.tarball).toBe(`${h.url}internal-lib/-/internal-lib-1.0.0.tgz`)
    const tgz = Buffer.from(await (await fetch(versionIn(doc, '1.0.0').dist.tarball)).arrayBuffer())
    expect(tgz.equals(pkg.tarball)).toBe(true)
    // Dependency confusion: the uplink starts serving a higher version of the same name.
    h.upstream.addPackage(await buildPackage({ name: 'internal-lib', version: '9.9.9' }))
    const after = await get('internal-lib?write=true')
    expect(Object.keys(after.versions)).toEqual(['1.0.0'])
    expect(h.upstream.count((r) => r.url.startsWith('/internal-lib'))).toBe(0)
  })

  it('publishes scoped packages with a tag, and latest follows the first publish', async () => {
    const pkg = await buildPackage({ name: '@acme/tool', version: '1.0.0-beta.1' })
    expect((await put('@acme%2ftool', publishBody(pkg, 'beta'))).status).toBe(201)
    const doc = await get('@acme%2ftool')
    expect(doc['dist-tags']).toEqual({ beta: '1.0.0-beta.1', latest: '1.0.0-beta.1' })
    const tgz = await fetch(`${h.url}@acme/tool/-/tool-1.0.0-beta.1.tgz`)
    expect(Buffer.from(await tgz.arrayBuffer()).equals(pkg.tarball)).toBe(true)
  })

  it('says 401 to anonymous publishers, 403 to users the rule does not name, 409 to a re-publish', async () => {
    const pkg = await buildPackage({ name: 'restricted-thing', version: '1.0.0' })
    expect((await put('restricted-thing', publishBody(pkg), null)).status).toBe(401)
    const forbidden = await put('restricted-thing', publishBody(pkg), alice)
    expect(forbidden.status).toBe(403)
    expect((await errorOf(forbidden))).toMatch(/alice/)
    expect((await put('restricted-thing', publishBody(pkg), bob)).status).toBe(201)
    const again = await put('restricted-thing', publishBody(pkg), bob)
    expect(again.status).toBe(409)
    expect((await errorOf(again))).toMatch(/previously published/)
    expect((await put('restricted-thing', publishBody(pkg), basic('bob', 'wrong'))).status).toBe(401)
  })

  it('refuses an attachment that does not match its integrity, and stores nothing', async () => {
    const pkg = await buildPackage({ name: 'bad-bytes', version: '1.0.0' })
    const other = await buildPackage({ name: 'bad-bytes', version: '1.0.0', files: { 'x.js': 'different' } })
    const body = publishBody(pkg)
    body._attachments = { 'bad-bytes-1.0.0.tgz': { content_type: 'application/octet-stream', data: other.tarball.toString('base64') } }
    const res = await put('bad-bytes', body)
    expect(res.status).toBe(400)
    expect((await errorOf(res))).toMatch(/integrity/)
    const stored = await storedNow(h.storage)
    expect(stored.packages).not.toContain('bad-bytes')
    expect(stored.contents).toHaveLength(0)
  })

  it('refuses a tarball whose package.json names another package', async () => {
    const real = await buildPackage({ name: 'other-name', version: '1.0.0' })
    const pkg = { ...real, name: 'claimed-name', manifest: { ...real.manifest, name: 'claimed-name' } }
    const res = await put('claimed-name', publishBody(pkg))
    expect(res.status).toBe(400)
    expect((await errorOf(res))).toMatch(/other-name@1.0.0/)
  })

  it('refuses a body over max_body_size with 413', async () => {
    const pkg = await buildPackage({ name: 'too-big', version: '1.0.0', padding: 400 * 1024 })
    const res = await put('too-big', publishBody(pkg)).catch((e: unknown) => e)
    if (res instanceof Response) expect(res.status).toBe(413)
    else expect(res).toBeInstanceOf(Error)
    expect((await storedNow(h.storage)).packages).not.toContain('too-big')
  })

  it('overrides an uplink package: local versions and tags win, the others stay visible', async () => {
    expect(Object.keys((await get('alpha')).versions)).toEqual(['1.0.0', '1.1.0', '2.0.0'])
    const fix = await buildPackage({ name: 'alpha', version: '1.1.1-my-fix' })
    expect((await put('alpha', publishBody(fix, 'fix'))).status).toBe(201)
    const doc = await get('alpha?write=true')
    expect(Object.keys(doc.versions).sort()).toEqual(['1.0.0', '1.1.0', '1.1.1-my-fix', '2.0.0'])
    expect(doc['dist-tags']).toEqual({ latest: '2.0.0', fix: '1.1.1-my-fix' })
    const tgz = await fetch(`${h.url}alpha/-/alpha-1.1.1-my-fix.tgz`)
    expect(Buffer.from(await tgz.arrayBuffer()).equals(fix.tarball)).toBe(true)
    const up = await fetch(`${h.url}alpha/-/alpha-1.0.0.tgz`)
    expect(Buffer.from(await up.arrayBuffer()).equals(h.packages.a1.tarball)).toBe(true)
  })

  // fetched.json outlives a pruned upstream.json as the record that the name is the uplink's.
  // Read as "not known", a broken one made a publish create a local-only package, which hid
  // every uplink version of the name for good.
  it.skipIf(onPostgres).each([
    ['not JSON', '{"uplink": "npm'],
    ['JSON but no record', 'null'],
  ])(folderLayout('a corrupt fetched.json (%s) fails the publish with ECORRUPT; the uplink versions stay', 'a broken file of the folder, which a database has not'), async (_what, content) => {
    expect(Object.keys((await get('alpha')).versions)).toEqual(['1.0.0', '1.1.0', '2.0.0'])
    const folder = path.join(h.storage, 'packages', 'alpha')
    await rm(path.join(folder, 'upstream.json'))
    await writeFile(path.join(folder, 'fetched.json'), content)
    const fix = await buildPackage({ name: 'alpha', version: '2.0.1' })
    const res = await put('alpha', publishBody(fix, 'fix'))
    expect(res.status).toBe(500)
    expect((await errorOf(res))).toMatch(/fetched\.json/)
    expect(await readdir(folder)).not.toContain('local.json')
    expect(Object.keys((await get('alpha?write=true')).versions)).toEqual(['1.0.0', '1.1.0', '2.0.0'])
    // That read fetched the package again and wrote a good record: now the publish is an override.
    expect((await put('alpha', publishBody(fix, 'fix'))).status).toBe(201)
    expect(Object.keys((await get('alpha?write=true')).versions).sort()).toEqual(['1.0.0', '1.1.0', '2.0.0', '2.0.1'])
  })

  it('a rule without proxy is a full fork: the uplink is not consulted', async () => {
    expect((await fetch(`${h.url}forked-lib`)).status).toBe(404)
    const pkg = await buildPackage({ name: 'forked-lib', version: '0.1.0' })
    expect((await put('forked-lib', publishBody(pkg))).status).toBe(201)
    expect(Object.keys((await get('forked-lib')).versions)).toEqual(['0.1.0'])
    expect(h.upstream.count((r) => r.url.startsWith('/forked-lib'))).toBe(0)
  })

  it('keeps every version of 30 concurrent publishes, and exactly one of 30 publishes of one version', async () => {
    const versions = await Promise.all(Array.from({ length: 30 }, (_, i) => buildPackage({ name: 'busy', version: `1.0.${i}` })))
    const statuses = await Promise.all(versions.map((pkg) => put('busy', publishBody(pkg)).then((r) => r.status)))
    expect(statuses.every((s) => s === 201)).toBe(true)
    expect(Object.keys((await get('busy')).versions)).toHaveLength(30)
    const same = await buildPackage({ name: 'contested', version: '1.0.0' })
    const results = await Promise.all(Array.from({ length: 30 }, () => put('contested', publishBody(same)).then((r) => r.status)))
    expect(results.filter((s) => s === 201)).toHaveLength(1)
    expect(results.filter((s) => s === 409)).toHaveLength(29)
  })

  it('concurrent publishes of one package: each lands or is refused on its own, and only the bytes of those that landed are kept', async () => {
    const first = await buildPackage({ name: 'crowd', version: '0.0.1' })
    expect((await put('crowd', publishBody(first))).status).toBe(201)
    const versions = await Promise.all(Array.from({ length: 12 }, (_, i) => buildPackage({ name: 'crowd', version: `1.0.${i}` })))
    // The same version with other bytes: one of the two is first and lands, the other gets 409.
    const rival = await buildPackage({ name: 'crowd', version: '1.0.3', files: { 'rival.js': 'other bytes' } })
    // Refused under the lock (bob does not maintain crowd), queued among the others.
    const intruder = await buildPackage({ name: 'crowd', version: '2.0.0' })
    // Refused before the lock: its tarball is not the one its manifest names.
    const broken = publishBody(await buildPackage({ name: 'crowd', version: '3.0.0' }))
    broken._attachments = { 'crowd-3.0.0.tgz': { content_type: 'application/octet-stream', data: rival.tarball.toString('base64') } }
    const [statuses, rivalStatus, intruderStatus, brokenStatus] = await Promise.all([
      Promise.all(versions.map((pkg) => put('crowd', publishBody(pkg)).then((r) => r.status))),
      put('crowd', publishBody(rival)).then((r) => r.status),
      put('crowd', publishBody(intruder), bob).then((r) => r.status),
      put('crowd', broken).then((r) => r.status),
    ])
    expect(intruderStatus).toBe(403)
    expect(brokenStatus).toBe(400)
    expect([statuses[3], rivalStatus].sort()).toEqual([201, 409])
    expect(statuses.filter((s, i) => i !== 3)).toEqual(Array.from({ length: 11 }, () => 201))
    const doc = await get('crowd')
    expect(Object.keys(doc.versions).sort()).toEqual(['0.0.1', ...versions.map((v) => v.version)].sort())
    const landed = [first, ...versions.map((v, i) => (i === 3 && rivalStatus === 201 ? rival : v))]
    for (const pkg of landed) {
      const tgz = Buffer.from(await (await fetch(versionIn(doc, pkg.version).dist.tarball)).arrayBuffer())
      expect(tgz.equals(pkg.tarball)).toBe(true)
    }
    expect((await storedNow(h.storage)).contents.sort()).toEqual(landed.map((pkg) => pkg.manifest.dist.integrity).sort())
  })

  it('dist-tags: ls, add, rm, also on uplink packages', async () => {
    const one = await buildPackage({ name: 'tagged', version: '1.0.0' })
    const two = await buildPackage({ name: 'tagged', version: '2.0.0' })
    await put('tagged', publishBody(one))
    await put('tagged', publishBody(two))
    const tags = () => get('-/package/tagged/dist-tags')
    expect(await tags()).toEqual({ latest: '2.0.0' })
    expect((await put('-/package/tagged/dist-tags/stable', '1.0.0')).status).toBe(201)
    expect(await tags()).toEqual({ latest: '2.0.0', stable: '1.0.0' })
    expect((await del('-/package/tagged/dist-tags/stable')).status).toBe(200)
    expect(await tags()).toEqual({ latest: '2.0.0' })
    expect((await put('-/package/tagged/dist-tags/ghost', '9.9.9')).status).toBe(404)
    expect((await put('-/package/tagged/dist-tags/1.x', '1.0.0')).status).toBe(400)
    expect((await put('-/package/tagged/dist-tags/stable', '1.0.0', null)).status).toBe(401)
    // Uplink package: the tag is a local overlay.
    expect((await put('-/package/alpha/dist-tags/old', '1.0.0')).status).toBe(201)
    expect((await get('alpha'))['dist-tags']).toEqual({ latest: '2.0.0', old: '1.0.0' })
    expect(await get('-/package/@acme%2fwidget/dist-tags')).toEqual({ latest: '1.0.0' })
  })

  it('deprecates and un-deprecates, locally published and uplink versions', async () => {
    const pkg = await buildPackage({ name: 'old-lib', version: '1.0.0' })
    await put('old-lib', publishBody(pkg))
    const doc = await get('old-lib?write=true')
    versionIn(doc, '1.0.0').deprecated = 'use new-lib'
    expect((await put('old-lib', doc)).status).toBe(201)
    expect((await get('old-lib')).versions['1.0.0']?.deprecated).toBe('use new-lib')
    const abbreviated = await docOf(await fetch(`${h.url}old-lib`, { headers: { accept: 'application/vnd.npm.install-v1+json' } }))
    expect(abbreviated.versions['1.0.0']?.deprecated).toBe('use new-lib')
    // Sent again as read before the first change: refused (409), as npm reads before each write.
    versionIn(doc, '1.0.0').deprecated = ''
    expect((await put('old-lib', doc)).status).toBe(409)
    const fresh = await get('old-lib?write=true')
    versionIn(fresh, '1.0.0').deprecated = ''
    expect((await put('old-lib', fresh)).status).toBe(201)
    expect((await get('old-lib')).versions['1.0.0']?.deprecated).toBeUndefined()
    const alpha = await get('alpha?write=true')
    versionIn(alpha, '1.0.0').deprecated = 'too old'
    expect((await put('alpha', alpha)).status).toBe(201)
    expect((await get('alpha')).versions['1.0.0']?.deprecated).toBe('too old')
    expect((await put('alpha', alpha, null)).status).toBe(401)
  })

  it('npm owner add/rm: a PUT of {_id, _rev, maintainers} changes the maintainers and keeps every version', async () => {
    await put('owned-lib', publishBody(await buildPackage({ name: 'owned-lib', version: '1.0.0' })))
    await put('owned-lib', publishBody(await buildPackage({ name: 'owned-lib', version: '1.1.0' })))
    const before = await get('owned-lib?write=true')
    const maintainers = [...before.maintainers, { name: 'bob' }]
    expect((await put(`owned-lib/-rev/${before._rev}`, { _id: 'owned-lib', _rev: before._rev, maintainers })).status).toBe(201)
    const after = await get('owned-lib')
    expect(after.maintainers.map((m: { name: string }) => m.name)).toEqual(['alice', 'bob'])
    expect(Object.keys(after.versions)).toEqual(['1.0.0', '1.1.0'])
    expect((await fetch(`${h.url}owned-lib/-/owned-lib-1.0.0.tgz`)).status).toBe(200)
    // Changing owners takes the right to publish the package.
    expect((await put('owned-lib/-rev/1', { _id: 'owned-lib', maintainers: [] }, null)).status).toBe(401)
  })

  it('refuses a PUT that adds a version without its tarball', async () => {
    const pkg = await buildPackage({ name: 'sneaky', version: '1.0.0' })
    await put('sneaky', publishBody(pkg))
    const doc = await get('sneaky?write=true')
    doc.versions['2.0.0'] = { ...versionIn(doc, '1.0.0'), version: '2.0.0' }
    expect((await put('sneaky', doc)).status).toBe(400)
  })

  it('unpublishes one version (npm flow), then the package; blobs go when unreferenced', async () => {
    const one = await buildPackage({ name: 'gone', version: '1.0.0' })
    const two = await buildPackage({ name: 'gone', version: '1.1.0' })
    await put('gone', publishBody(one))
    await put('gone', publishBody(two))
    const doc = await get('gone?write=true')
    delete doc.versions['1.1.0']
    doc['dist-tags'].latest = '1.0.0'
    expect((await put(`gone/-rev/${doc._rev}`, doc)).status).toBe(201)
    expect((await del(`gone/-/gone-1.1.0.tgz/-rev/${doc._rev}`)).status).toBe(200)
    const after = await get('gone')
    expect(Object.keys(after.versions)).toEqual(['1.0.0'])
    expect(after['dist-tags']).toEqual({ latest: '1.0.0' })
    expect((await fetch(`${h.url}gone/-/gone-1.1.0.tgz`)).status).toBe(404)
    expect((await del(`gone/-rev/${after._rev}`, null)).status).toBe(401)
    expect((await del(`gone/-rev/${after._rev}`)).status).toBe(200)
    expect((await fetch(`${h.url}gone`)).status).toBe(404)
    expect((await storedNow(h.storage)).contents).toHaveLength(0)
  })

  it('refuses (409) a deprecate based on a read from before another publish, and changes nothing', async () => {
    await put('racy', publishBody(await buildPackage({ name: 'racy', version: '1.0.0' })))
    const read = await get('racy?write=true')
    await put('racy', publishBody(await buildPackage({ name: 'racy', version: '1.1.0' })))
    // The body lacks 1.1.0, published after it was read: not an unpublish of 1.1.0.
    versionIn(read, '1.0.0').deprecated = 'use 1.1'
    const stale = await put('racy', read)
    expect(stale.status).toBe(409)
    expect((await errorOf(stale))).toMatch(/changed since it was read/)
    const after = await get('racy')
    expect(Object.keys(after.versions)).toEqual(['1.0.0', '1.1.0'])
    expect(after.versions['1.0.0']?.deprecated).toBeUndefined()
    const again = await get('racy?write=true')
    versionIn(again, '1.0.0').deprecated = 'use 1.1'
    expect((await put('racy', again)).status).toBe(201)
    const done = await get('racy')
    expect(done.versions['1.0.0']?.deprecated).toBe('use 1.1')
    expect(Object.keys(done.versions)).toEqual(['1.0.0', '1.1.0'])
  })

  it('a star changes only the caller’s entry, whatever else the body says', async () => {
    await put('starry', publishBody(await buildPackage({ name: 'starry', version: '1.0.0' })))
    const read = await get('starry?write=true')
    expect((await put('starry', { _id: 'starry', _rev: read._rev, users: { alice: true } })).status).toBe(201)
    // bob read before alice's star and sends his own star with a stale users map, and tries to drop hers.
    expect((await put('starry', { _id: 'starry', _rev: read._rev, users: { bob: true } }, bob)).status).toBe(201)
    expect((await get('starry')).users).toEqual({ alice: true, bob: true })
    expect((await put('starry', { _id: 'starry', users: { alice: true } }, bob)).status).toBe(201)
    expect((await get('starry')).users).toEqual({ alice: true })
    // Starring in other people's names does nothing either; starring twice is a no-op, not a write.
    expect((await put('starry', { _id: 'starry', users: { alice: true, bob: true, eve: true } }, bob)).status).toBe(201)
    expect((await get('starry')).users).toEqual({ alice: true, bob: true })
    expect((await put('starry', { _id: 'starry', users: { alice: true, bob: true } }, bob)).status).toBe(201)
    expect((await get('starry')).users).toEqual({ alice: true, bob: true })
  })

  it('a whole-package unpublish read before another publish gets 409; overlays on an uplink package are not "unpublished"', async () => {
    await put('single', publishBody(await buildPackage({ name: 'single', version: '1.0.0' })))
    const read = await get('single?write=true')
    await put('single', publishBody(await buildPackage({ name: 'single', version: '1.1.0' })))
    expect((await del(`single/-rev/${read._rev}`)).status).toBe(409)
    expect(Object.keys((await get('single')).versions)).toEqual(['1.0.0', '1.1.0'])

    await fetch(`${h.url}alpha`)
    expect((await put('-/package/alpha/dist-tags/stable', '1.0.0')).status).toBe(201)
    const alpha = await get('alpha?write=true')
    expect((await del(`alpha/-rev/${alpha._rev}`)).status).toBe(403)
    expect((await get('alpha'))['dist-tags'].stable).toBe('1.0.0')
  })

  it('unpublishing a version drops the tags set here on it: the uplink’s tag of that name applies again', async () => {
    h.upstream.setTag('alpha', 'latest', '1.1.0')
    expect((await get('alpha'))['dist-tags'].latest).toBe('1.1.0')
    await put('alpha', publishBody(await buildPackage({ name: 'alpha', version: '2.1.0-fix.0' }), 'latest'))
    expect((await get('alpha'))['dist-tags'].latest).toBe('2.1.0-fix.0')
    const doc = await get('alpha?write=true')
    delete doc.versions['2.1.0-fix.0']
    expect((await put(`alpha/-rev/${doc._rev}`, doc)).status).toBe(201)
    expect((await get('alpha'))['dist-tags'].latest).toBe('1.1.0')
  })

  it('an unpublished local-only name answers 404 and is never proxied, until it is published again', async () => {
    await put('claimed', publishBody(await buildPackage({ name: 'claimed', version: '1.0.0' })))
    const doc = await get('claimed?write=true')
    expect((await del(`claimed/-rev/${doc._rev}`)).status).toBe(200)
    // Someone publishes the name upstream: it must not be served from here.
    h.upstream.addPackage(await buildPackage({ name: 'claimed', version: '6.6.6' }))
    const gone = await fetch(`${h.url}claimed?write=true`)
    expect(gone.status).toBe(404)
    expect((await fetch(`${h.url}claimed/-/claimed-6.6.6.tgz`)).status).toBe(404)
    expect(h.upstream.count((r) => r.url.startsWith('/claimed'))).toBe(0)
    expect((await del(`claimed/-rev/${doc._rev}`)).status).toBe(404)
    expect((await put('claimed', publishBody(await buildPackage({ name: 'claimed', version: '2.0.0' })))).status).toBe(201)
    expect(Object.keys((await get('claimed')).versions)).toEqual(['2.0.0'])
  })

  it('a whole-package unpublish of an override removes its versions and their tags, and keeps deprecations of uplink versions', async () => {
    const read = await get('alpha?write=true')
    versionIn(read, '1.0.0').deprecated = 'too old'
    expect((await put('alpha', read)).status).toBe(201)
    await put('alpha', publishBody(await buildPackage({ name: 'alpha', version: '2.1.0' }), 'next'))
    const before = await get('alpha?write=true')
    expect(before['dist-tags'].next).toBe('2.1.0')
    expect((await del(`alpha/-rev/${before._rev}`)).status).toBe(200)
    const after = await get('alpha')
    expect(Object.keys(after.versions).sort()).toEqual(['1.0.0', '1.1.0', '2.0.0'])
    expect(after['dist-tags'].next).toBeUndefined()
    expect(after.versions['1.0.0']?.deprecated).toBe('too old')
    // The publisher added as a maintainer by the publish goes with the versions.
    expect(JSON.stringify(after.maintainers ?? [])).not.toContain('alice')
    expect((await fetch(`${h.url}alpha/-/alpha-2.1.0.tgz`)).status).toBe(404)
  })

  it('says 403, not 404, to unpublishing a package that only the uplink has', async () => {
    const doc = await get('alpha?write=true')
    const res = await del(`alpha/-rev/${doc._rev}`)
    expect(res.status).toBe(403)
    expect((await get('alpha')).versions['1.0.0']).toBeDefined()
  })

  it('takes tags npm takes (not a range, nothing to URL-encode), and a provenance bundle with a publish', async () => {
    await put('tagged', publishBody(await buildPackage({ name: 'tagged', version: '1.0.0' })))
    expect((await put('-/package/tagged/dist-tags/2022-lts', '1.0.0')).status).toBe(201)
    expect((await get('tagged'))['dist-tags']['2022-lts']).toBe('1.0.0')
    expect((await del('-/package/tagged/dist-tags/2022-lts')).status).toBe(200)
    expect((await put('-/package/tagged/dist-tags/%5E1.0.0', '1.0.0')).status).toBe(400)
    const body = publishBody(await buildPackage({ name: 'tagged', version: '1.1.0' }))
    ;(body._attachments as Record<string, unknown>)['tagged-1.1.0.sigstore'] = { content_type: 'application/vnd.dev.sigstore.bundle+json', data: '{"mediaType":"x"}', length: 17 }
    expect((await put('tagged', body)).status).toBe(201)
    expect(Object.keys((await get('tagged')).versions)).toEqual(['1.0.0', '1.1.0'])
  })

  it('does not let anyone unpublish uplink versions', async () => {
    const doc = await get('alpha?write=true')
    delete doc.versions['1.0.0']
    expect((await put(`alpha/-rev/${doc._rev}`, doc)).status).toBe(403)
  })
})

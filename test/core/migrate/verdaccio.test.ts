import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import ssri from 'ssri'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { KeyedLock } from '../../../src/core/fs/lock.js'
import { Users } from '../../../src/core/auth/index.js'
import { migrateHtpasswd, migrateVerdaccio } from '../../../src/core/migrate/index.js'
import { decodeUpstream, openStore, tarballKey, type Store } from '../../../src/core/store/index.js'
import { REPO_ROOT } from '../../helpers/clients.js'
import { blobBytes } from './harness.js'

/** migrate --from-verdaccio, on the hand-made storage folder of fixtures/verdaccio-storage (see its README). */

const FIXTURE = path.join(REPO_ROOT, 'fixtures', 'verdaccio-storage')
const HTPASSWD = path.join(REPO_ROOT, 'fixtures', 'verdaccio-htpasswd')
const UPLINKS = { npmjs: { url: 'http://127.0.0.1:9/' } }
const sha512 = (data: Buffer) => ssri.fromData(data, { algorithms: ['sha512'] }).toString()

describe('migrateVerdaccio', () => {
  let work: string
  let dest: Store
  const tarball = (file: string) => readFile(path.join(FIXTURE, file))

  beforeEach(async () => {
    work = await mkdtemp(path.join(tmpdir(), 'sinopia-migrate-verdaccio-'))
    dest = await openStore(path.join(work, 'dest'))
  })
  afterEach(async () => {
    await rm(work, { recursive: true, force: true })
  })

  it('makes the listed package a local document with verified tarballs, and the other a cached uplink copy', async () => {
    const report = await migrateVerdaccio({ dir: FIXTURE, uplinks: UPLINKS }, dest)
    expect(report).toMatchObject({ ok: true, packages: 2, failed: [], warnings: [] })
    // Two published tarballs and the one cached tarball Verdaccio had downloaded (1.1.0 is metadata only).
    expect(report.blobs).toEqual({ copied: 3, skipped: 0 })

    const local = (await dest.packages.readLocal('@acme/widget'))?.doc
    expect(local).toMatchObject({ origin: 'local-only', 'dist-tags': { latest: '1.1.0', beta: '1.0.0' }, revision: 4, readme: '# widget\n\nA tiny widget.' })
    expect(local?.maintainers).toEqual([{ name: 'alice', email: 'alice@example.com' }])
    expect(Object.keys(local?.versions ?? {})).toEqual(['1.0.0', '1.1.0'])
    const v1 = await tarball('@acme/widget/widget-1.0.0.tgz')
    // 1.0.0 carried only a sha1 shasum: its dist is completed with the sha512 of the bytes, as a publish does.
    expect(local?.versions['1.0.0']?.dist).toMatchObject({ shasum: '12e498265a39c1c22751f8171a5a6370a296064e', integrity: sha512(v1) })
    expect((await blobBytes(dest, tarballKey('@acme/widget', '1.0.0')))?.equals(v1)).toBe(true)
    expect((await blobBytes(dest, tarballKey('@acme/widget', '1.1.0')))?.equals(await tarball('@acme/widget/widget-1.1.0.tgz'))).toBe(true)
    expect(await dest.packages.readUpstreamBytes('@acme/widget')).toBeNull()

    const cached = await dest.packages.readUpstreamBytes('tiny-cached')
    const record = decodeUpstream(cached?.raw ?? Buffer.from(''), 'tiny-cached')
    expect(record).toMatchObject({ uplink: 'npmjs', upstreamUrl: 'http://127.0.0.1:9/', etag: '"tiny-cached-etag"' })
    expect(Object.keys(record.doc.versions)).toEqual(['1.0.0', '1.1.0'])
    for (const field of ['_uplinks', '_distfiles', '_attachments', '_rev']) expect(record.doc).not.toHaveProperty(field)
    expect(await dest.packages.readFetched('tiny-cached')).toEqual({ uplink: 'npmjs', fetchedAt: 1_700_000_000_000 })
    expect((await blobBytes(dest, tarballKey('tiny-cached', '1.0.0')))?.equals(await tarball('tiny-cached/tiny-cached-1.0.0.tgz'))).toBe(true)
    expect(await dest.blobs.entry(tarballKey('tiny-cached', '1.1.0'))).toBeNull()
    expect(await dest.packages.readLocal('tiny-cached')).toBeNull()

    const again = await migrateVerdaccio({ dir: FIXTURE, uplinks: UPLINKS }, dest)
    expect(again).toMatchObject({ ok: true, blobs: { copied: 0, skipped: 3 }, documents: { copied: 0, skipped: 3 }, skipped: 6 })
  })

  it('records a cached package under the config\'s first uplink when it knows none of its _uplinks', async () => {
    await migrateVerdaccio({ dir: FIXTURE, uplinks: { mirror: { url: 'http://127.0.0.1:10/' } } }, dest)
    expect(await dest.packages.readFetched('tiny-cached')).toMatchObject({ uplink: 'mirror' })
  })

  it('leaves out a published version whose tarball does not match its digest, and the tags on it; reports it and is not ok', async () => {
    const dir = path.join(work, 'storage')
    await cp(FIXTURE, dir, { recursive: true })
    const file = path.join(dir, '@acme', 'widget', 'widget-1.0.0.tgz')
    const data = await readFile(file)
    data[50] = (data[50] as number) ^ 0x01
    await writeFile(file, data)
    await writeFile(path.join(dir, '.verdaccio-db.json'), JSON.stringify({ list: ['@acme/widget', 'never-stored'], secret: 'x' }))

    const report = await migrateVerdaccio({ dir, uplinks: UPLINKS }, dest)
    expect(report.ok).toBe(false)
    expect(report.failed.map((f) => [f.item, f.code])).toEqual([['@acme/widget@1.0.0', 'EINTEGRITY']])
    expect(report.warnings).toEqual([expect.stringMatching(/^never-stored is listed in the db file but has no never-stored\/package.json/)])
    const local = (await dest.packages.readLocal('@acme/widget'))?.doc
    expect(Object.keys(local?.versions ?? {})).toEqual(['1.1.0'])
    expect(local?.['dist-tags']).toEqual({ latest: '1.1.0' })
    expect(await dest.blobs.entry(tarballKey('@acme/widget', '1.0.0'))).toBeNull()
    expect(await dest.packages.readUpstreamBytes('tiny-cached')).not.toBeNull()
  })

  it('appends the Verdaccio users to the htpasswd file, keeping one that exists as it is', async () => {
    const file = path.join(work, 'htpasswd')
    await writeFile(file, 'bob:{SHA}keep-this-hash\n')
    const users = new Users(file, Infinity, new KeyedLock())
    expect(await migrateHtpasswd(HTPASSWD, users)).toEqual({ added: ['alice'], existing: ['bob'] })
    expect(await users.authenticate('alice', 'alice-secret')).toBe(true)
    expect(await readFile(file, 'utf8')).toMatch(/^bob:\{SHA\}keep-this-hash\nalice:\$2b\$10\$.*:autocreated 2024-03-01T10:00:00.000Z\n$/)
  })
})

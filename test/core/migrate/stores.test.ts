import { createHash } from 'node:crypto'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { migrateStore, type MigrateReport } from '../../../src/core/migrate/index.js'
import { openStore, tarballKey, type BlobEntry, type LocalDoc, type Store, type TokenRecord } from '../../../src/core/store/index.js'
import { freshDatabase } from '../../helpers/postgres.js'
import { blobBytes } from './harness.js'
import { sortedEntries } from '../../helpers/blobs.js'

/**
 * migrate from a storage folder into another folder, and into a PostgreSQL database (then back out
 * of it): everything arrives, verified; what is broken stays behind and is reported; a rerun resumes.
 */

const sri = (data: Buffer) => `sha512-${createHash('sha512').update(data).digest('base64')}`
const bytesOf = (label: string, size = 3000) => Buffer.from(label.repeat(Math.ceil(size / label.length)).slice(0, size))

async function put(store: Store, key: string, data: Buffer): Promise<void> {
  const write = store.blobs.write(key, sri(data), data.length)
  write.stream.end(data)
  await write.done
}

const manifest = (name: string, version: string, data: Buffer) => ({ name, version, dist: { integrity: sri(data), tarball: `http://up.invalid/${name}/-/x-${version}.tgz` } })

const token = (key: string, user: string): TokenRecord => ({ key, user, prefix: key.slice(0, 6), readonly: false, cidr: [], created: '2026-01-01T00:00:00.000Z', kind: 'login' })

/** Where the copy goes: a fresh store of each backend (the PostgreSQL one with its blob cache in `work`). */
const destinations: Array<[string, (work: string) => Promise<Store>]> = [
  ['folder', (work) => openStore(path.join(work, 'dest'))],
  ['PostgreSQL database', async (work) => openStore(await freshDatabase(), { blobCache: path.join(work, 'dest-cache') })],
]

describe.each(destinations)('migrateStore (folder to %s)', (_kind, openDest) => {
  let work: string
  let source: Store
  let dest: Store
  const blobs = {
    alpha1: bytesOf('alpha-1 '),
    alpha2: bytesOf('alpha-2 ', 5000),
    local: bytesOf('local-1 '),
    loose: bytesOf('loose-1 '),
  }

  beforeEach(async () => {
    work = await mkdtemp(path.join(tmpdir(), 'sinopia-migrate-'))
    source = await openStore(path.join(work, 'source'))
    dest = await openDest(work)
    await put(source, tarballKey('alpha', '1.0.0'), blobs.alpha1)
    await put(source, tarballKey('alpha', '2.0.0'), blobs.alpha2)
    await put(source, tarballKey('@s/local', '1.0.0'), blobs.local)
    // An entry of a package with no documents left (prune's business, still copied).
    await put(source, tarballKey('gone', '1.0.0'), blobs.loose)
    await source.packages.withLock('alpha', async () => {
      await source.packages.writeUpstream('alpha', {
        uplink: 'npmjs',
        upstreamUrl: 'http://up.invalid/',
        etag: '"e1"',
        doc: { name: 'alpha', 'dist-tags': { latest: '2.0.0' }, versions: { '1.0.0': manifest('alpha', '1.0.0', blobs.alpha1), '2.0.0': manifest('alpha', '2.0.0', blobs.alpha2) } },
      })
      await source.packages.writeFetched('alpha', { uplink: 'npmjs', fetchedAt: 1_700_000_000_000 })
      const override: LocalDoc = { origin: 'override', versions: {}, 'dist-tags': { stable: '1.0.0' }, removedTags: [], deprecated: { '1.0.0': 'old' }, time: {}, revision: 2 }
      await source.packages.writeLocal('alpha', override)
    })
    await source.packages.withLock('@s/local', () =>
      source.packages.writeLocal('@s/local', {
        origin: 'local-only',
        versions: { '1.0.0': manifest('@s/local', '1.0.0', blobs.local) },
        'dist-tags': { latest: '1.0.0' },
        removedTags: [],
        deprecated: {},
        time: { created: '2026-01-01T00:00:00.000Z', '1.0.0': '2026-01-01T00:00:00.000Z' },
        revision: 1,
        maintainers: [{ name: 'alice' }],
      }),
    )
    await source.tokens.modify(() => [token('aaaaaa11', 'alice'), token('bbbbbb22', 'bob')])
    await source.usage.update((usage) => {
      usage.set(tarballKey('alpha', '1.0.0'), 1_700_000_000_000)
      usage.set(tarballKey('@s/local', '1.0.0'), 1_700_000_500_000)
    })
  })
  afterEach(async () => {
    await dest.close()
    await rm(work, { recursive: true, force: true })
  })

  async function expectSameDocuments(name: string): Promise<void> {
    expect((await dest.packages.readUpstreamBytes(name))?.raw.toString() ?? null).toBe((await source.packages.readUpstreamBytes(name))?.raw.toString() ?? null)
    expect(await dest.packages.readFetched(name)).toEqual(await source.packages.readFetched(name))
    expect((await dest.packages.readLocal(name))?.doc ?? null).toEqual((await source.packages.readLocal(name))?.doc ?? null)
  }

  it('copies every document, blob, token and usage record, each verified; the copy equals the source', async () => {
    const seen: number[] = []
    const report = await migrateStore(source, dest, { onProgress: (p) => seen.push(p.done) })
    expect(report).toMatchObject({ ok: true, packages: 2, failed: [], skipped: 0, usage: 2 })
    expect(report.blobs).toEqual({ copied: 4, skipped: 0 })
    expect(report.bytes).toBe(3000 + 5000 + 3000 + 3000)
    // alpha: upstream, fetched, local; @s/local: local.
    expect(report.documents).toEqual({ copied: 4, skipped: 0 })
    expect(report.tokens).toEqual({ copied: 2, skipped: 0 })
    expect(seen.at(-1)).toBe(2 + 4)

    expect(await dest.packages.list()).toEqual(await source.packages.list())
    for (const name of ['alpha', '@s/local']) await expectSameDocuments(name)
    const entries = (list: BlobEntry[]) => list.map(({ key, integrity, size }) => ({ key, integrity, size }))
    expect(entries(await sortedEntries(dest.blobs))).toEqual(entries(await sortedEntries(source.blobs)))
    for (const entry of await sortedEntries(source.blobs)) expect((await blobBytes(dest, entry.key))?.equals((await blobBytes(source, entry.key)) as Buffer)).toBe(true)
    expect([...(await dest.tokens.read()).values()]).toEqual([...(await source.tokens.read()).values()])
    expect(await dest.usage.read()).toEqual(await source.usage.read())

    // And back out into a new folder: the same store again.
    const back = await openStore(path.join(work, 'back'))
    expect(await migrateStore(dest, back)).toMatchObject({ ok: true, failed: [], skipped: 0 })
    expect(await back.packages.list()).toEqual(await source.packages.list())
    expect(entries(await sortedEntries(back.blobs))).toEqual(entries(await sortedEntries(source.blobs)))
    for (const entry of await sortedEntries(source.blobs)) expect((await blobBytes(back, entry.key))?.equals((await blobBytes(source, entry.key)) as Buffer)).toBe(true)
    expect((await back.packages.readUpstreamBytes('alpha'))?.raw.equals((await source.packages.readUpstreamBytes('alpha'))?.raw as Buffer)).toBe(true)
    expect((await back.packages.readLocal('@s/local'))?.doc).toEqual((await source.packages.readLocal('@s/local'))?.doc)
    expect([...(await back.tokens.read()).values()]).toEqual([...(await source.tokens.read()).values()])
  })

  it('reports a corrupt or missing source blob and a broken document, copies the rest, and is not ok', async () => {
    const flipped = source.blobs.where(sri(blobs.alpha2))
    const data = await readFile(flipped)
    data[100] = (data[100] as number) ^ 0x01
    await writeFile(flipped, data)
    await rm(source.blobs.where(sri(blobs.loose)))
    await writeFile(source.packages.where('@s/local', 'local'), '{"origin": "local-only", "versions": ')

    const report = await migrateStore(source, dest)
    expect(report.ok).toBe(false)
    expect(report.failed.map((f) => [f.item, f.code])).toEqual([
      ['@s/local (local)', 'ECORRUPT'],
      ['alpha@2.0.0', 'EINTEGRITY'],
      ['gone@1.0.0', 'ENOTCACHED'],
    ])
    expect(report.failed[1]?.message).toMatch(/the source's bytes do not match sha512-/)
    expect(await dest.blobs.entry(tarballKey('alpha', '2.0.0'))).toBeNull()
    expect(await dest.blobs.entry(tarballKey('gone', '1.0.0'))).toBeNull()
    expect(await dest.packages.readLocal('@s/local')).toBeNull()
    // The rest arrived.
    expect((await blobBytes(dest, tarballKey('alpha', '1.0.0')))?.equals(blobs.alpha1)).toBe(true)
    expect((await blobBytes(dest, tarballKey('@s/local', '1.0.0')))?.equals(blobs.local)).toBe(true)
    await expectSameDocuments('alpha')
    expect((await dest.tokens.read()).size).toBe(2)
  })

  it('resumes: a rerun skips what the destination holds identical and copies only what is missing', async () => {
    await migrateStore(source, dest)
    // As if the first run had stopped part way: one blob and one document never arrived.
    await dest.blobs.remove([tarballKey('alpha', '2.0.0')], { inUse: () => false })
    await dest.packages.withLock('@s/local', () => dest.packages.writeLocal('@s/local', null))

    const report: MigrateReport = await migrateStore(source, dest)
    expect(report.ok).toBe(true)
    expect(report.blobs).toEqual({ copied: 1, skipped: 3 })
    expect(report.bytes).toBe(5000)
    expect(report.documents).toEqual({ copied: 1, skipped: 3 })
    expect(report.tokens).toEqual({ copied: 0, skipped: 2 })
    expect(report.skipped).toBe(3 + 3 + 2)
    expect((await blobBytes(dest, tarballKey('alpha', '2.0.0')))?.equals(blobs.alpha2)).toBe(true)
    await expectSameDocuments('@s/local')
  })

  it('copies the users the store keeps (auth.store); a name the destination has keeps its own hash', async () => {
    expect((await migrateStore(source, dest)).users).toBeUndefined()
    await source.users.add({ name: 'alice', hash: 'hash-a' })
    await source.users.add({ name: 'bob', hash: 'hash-b' })
    await dest.users.add({ name: 'bob', hash: 'dest-hash-b' })
    expect((await migrateStore(source, dest)).users).toEqual({ added: ['alice'], existing: ['bob'] })
    expect([...(await dest.users.read()).values()].sort((x, y) => (x.name < y.name ? -1 : 1))).toEqual([
      { name: 'alice', hash: 'hash-a' },
      { name: 'bob', hash: 'dest-hash-b' },
    ])
    expect((await migrateStore(source, dest)).users).toEqual({ added: [], existing: ['alice', 'bob'] })
  })
})

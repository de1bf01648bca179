import { mkdtemp, rm, stat } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { DocumentReader } from '../../../src/core/store/fs/documents-read.js'
import { decodeUpstream, openStore, type LocalDoc, type Store, type UpstreamRecord } from '../../../src/core/store/index.js'

/** The folder store's reader of a scan's documents: text (the packument: bytes) through reused buffers, sized as stored. */
describe('DocumentReader (folder store)', () => {
  let dir: string
  let root: string
  let store: Store
  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'sinopia-docread-'))
    root = path.join(dir, 'storage')
    store = await openStore(root)
  })
  afterEach(() => rm(dir, { recursive: true, force: true }))

  const record: UpstreamRecord = {
    uplink: 'npmjs',
    upstreamUrl: 'http://127.0.0.1:9/',
    etag: '"e1"',
    doc: { name: 'both', versions: { '1.0.0': { name: 'both', version: '1.0.0' } } },
  }
  const local: LocalDoc = { origin: 'local-only', versions: { '1.0.0': { name: 'both', version: '1.0.0' } }, 'dist-tags': { latest: '1.0.0' }, removedTags: [], deprecated: {}, time: {}, revision: 1 }

  it('reads the records as text and the packument as bytes, sized as stored; null where there is none; sizes only below "parse" depth', async () => {
    await store.packages.withLock('both', async () => {
      await store.packages.writeUpstream('both', record)
      await store.packages.writeFetched('both', { uplink: 'npmjs', fetchedAt: 7 })
      await store.packages.writeLocal('both', local)
    })
    const reader = new DocumentReader(root)
    const documents = await reader.forScan('both', 'parse')
    const sizes = await store.packages.sizes('both')
    expect(documents.upstream?.bytes).toBe(sizes.upstream)
    expect(documents.fetched?.bytes).toBe(sizes.fetched)
    expect(documents.local?.bytes).toBe(sizes.local)
    expect(documents.upstream?.text).toBeNull()
    expect(decodeUpstream((documents.upstream as { raw: Uint8Array }).raw, 'upstream')).toEqual(record)
    expect(JSON.parse(documents.fetched?.text as string)).toEqual({ uplink: 'npmjs', fetchedAt: 7 })
    expect(JSON.parse(documents.local?.text as string)).toEqual(local)
    expect(await reader.forScan('nothing-here', 'parse')).toEqual({ upstream: null, fetched: null, local: null })
    expect(await reader.forScan('both', 'records')).toEqual({ upstream: { text: null, bytes: sizes.upstream }, fetched: documents.fetched, local: documents.local })
    expect(await reader.forScan('both', 'size')).toEqual({
      upstream: { text: null, bytes: sizes.upstream },
      fetched: { text: null, bytes: sizes.fetched },
      local: documents.local,
    })
  })

  it('reads a document bigger than one read whole, with characters of two bytes across the reads', async () => {
    // With and without one byte more before them: one of the two puts a character across a boundary.
    for (const pad of ['', 'x']) {
      const big = { ...record, doc: { ...record.doc, readme: pad + 'é'.repeat(100_000) } }
      await store.packages.withLock('both', () => store.packages.writeUpstream('both', big))
      await store.packages.withLock('both', () => store.packages.writeLocal('both', { ...local, readme: pad + 'é'.repeat(100_000) }))
      const read = await new DocumentReader(root).forScan('both', 'parse')
      expect(read.upstream?.bytes).toBe((await stat(store.packages.where('both', 'upstream'))).size)
      expect(decodeUpstream((read.upstream as { raw: Uint8Array }).raw, 'upstream')).toEqual(big)
      expect(JSON.parse(read.local?.text as string)).toMatchObject({ readme: pad + 'é'.repeat(100_000) })
    }
  })
})

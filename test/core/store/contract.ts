import { createHash } from 'node:crypto'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { decodeUpstream, encodeUpstream, tarballKey, type BlobEntry, type LocalDoc, type ScanDepth, type Store, type UpstreamRecord } from '../../../src/core/store/index.js'
import { sortedEntries } from '../../helpers/blobs.js'

/**
 * What every Store implementation must do, run against each one (fs.contract.test.ts today).
 * `open` gives a fresh, empty store; `reopen` a second handle on the same one, as another
 * process would have; `corrupt` changes a stored content's bytes behind the store's back.
 */
export interface StoreUnderTest {
  store: Store
  reopen(): Promise<Store>
  corrupt(sha512Integrity: string): Promise<void>
  cleanup(): Promise<void>
  /**
   * The change feed may name changes it named before (never one that was not made): PostgreSQL's
   * cursor stays behind while any transaction runs on the cluster (pg/changes.ts), as other test
   * files' do.
   */
  feedMayRepeat?: boolean
}

const sri = (data: Buffer) => `sha512-${createHash('sha512').update(data).digest('base64')}`

async function put(store: Store, key: string, data: Buffer): Promise<string> {
  const write = store.blobs.write(key, sri(data), data.length)
  write.stream.end(data)
  return (await write.done).integrity
}

async function read(store: Store, key: string, data: Buffer): Promise<Buffer | null> {
  const blob = await store.blobs.open(sri(data), key)
  if (!blob) return null
  try {
    return await blob.handle.readFile()
  } finally {
    await blob.handle.close()
  }
}

async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = []
  for await (const item of items) out.push(item)
  return out
}

const upstream = (name: string, versions: string[]): UpstreamRecord => ({
  uplink: 'npmjs',
  upstreamUrl: 'http://127.0.0.1:9/',
  etag: '"e1"',
  doc: { name, versions: Object.fromEntries(versions.map((v) => [v, { name, version: v }])) },
})

const local = (name: string, revision: number): LocalDoc => ({
  origin: 'local-only',
  versions: { '1.0.0': { name, version: '1.0.0' } },
  'dist-tags': { latest: '1.0.0' },
  removedTags: [],
  deprecated: {},
  time: {},
  revision,
})

export function describeStore(name: string, open: () => Promise<StoreUnderTest>): void {
  describe(`Store contract: ${name}`, () => {
    let t: StoreUnderTest
    let store: Store
    beforeEach(async () => {
      t = await open()
      store = t.store
    })
    afterEach(() => t.cleanup())

    describe('blobs', () => {
      it('put, open and has: only the bytes asked for, only under their own key', async () => {
        const data = Buffer.from('tarball bytes')
        expect(await put(store, tarballKey('a', '1.0.0'), data)).toBe(sri(data))
        expect(await read(store, tarballKey('a', '1.0.0'), data)).toEqual(data)
        expect(await store.blobs.has(sri(data), tarballKey('a', '1.0.0'))).toBe(true)
        expect(await store.blobs.has(sri(Buffer.from('other')), tarballKey('a', '1.0.0'))).toBe(false)
        expect(await store.blobs.has(sri(data), tarballKey('b', '1.0.0'))).toBe(false)
        expect(await store.blobs.open(sri(data), tarballKey('never', '1.0.0'))).toBeNull()
      })

      it('refuses bytes that do not match, and keeps nothing of them', async () => {
        const data = Buffer.from('the real bytes')
        const write = store.blobs.write(tarballKey('a', '1.0.0'), sri(Buffer.from('other bytes')))
        write.stream.end(data)
        await expect(write.done).rejects.toMatchObject({ code: 'EINTEGRITY' })
        expect(await store.blobs.has(sri(data), tarballKey('a', '1.0.0'))).toBe(false)
        expect(await sortedEntries(store.blobs)).toEqual([])
        expect(await collect(store.blobs.content())).toEqual([])
      })

      it('lists entries (key, integrity, size, time) and each content once, whatever shares it', async () => {
        const shared = Buffer.from('same bytes under two keys')
        const other = Buffer.from('other bytes')
        const before = Date.now()
        await put(store, tarballKey('b', '1.0.0'), shared)
        await put(store, tarballKey('a', '1.0.0'), shared)
        await put(store, tarballKey('@s/c', '2.0.0'), other)
        const entries = await sortedEntries(store.blobs)
        expect(entries.map((e) => [e.key, e.integrity, e.size])).toEqual([
          [tarballKey('@s/c', '2.0.0'), sri(other), other.length],
          [tarballKey('a', '1.0.0'), sri(shared), shared.length],
          [tarballKey('b', '1.0.0'), sri(shared), shared.length],
        ])
        for (const entry of entries) expect(entry.time).toBeGreaterThanOrEqual(before - 1000)
        expect(await store.blobs.entry(tarballKey('a', '1.0.0'))).toEqual(entries[1])
        expect(await store.blobs.entry(tarballKey('z', '1.0.0'))).toBeNull()
        const content = await collect(store.blobs.content())
        expect(content.map((c) => [c.integrity, c.size]).sort()).toEqual(
          [
            [sri(shared), shared.length],
            [sri(other), other.length],
          ].sort(),
        )
        // Filtered by integrity: only what `only` accepts, each asked once.
        const asked: string[] = []
        const only = (integrity: string) => (asked.push(integrity), integrity === sri(other))
        expect((await collect(store.blobs.content(only))).map((c) => [c.integrity, c.size])).toEqual([[sri(other), other.length]])
        expect(asked.sort()).toEqual([sri(shared), sri(other)].sort())
        expect(await store.blobs.totals()).toEqual({ blobs: 2, bytes: shared.length + other.length })
      })

      it('verifies content: ok, mismatch once its bytes changed, missing when there is none', async () => {
        const data = Buffer.from('bytes to check again later')
        const integrity = await put(store, tarballKey('a', '1.0.0'), data)
        expect(await store.blobs.verify(integrity, integrity)).toBe('ok')
        await t.corrupt(integrity)
        expect(await store.blobs.verify(integrity, integrity)).toBe('mismatch')
        expect(await store.blobs.verify(sri(Buffer.from('never stored')), sri(Buffer.from('never stored')))).toBe('missing')
      })

      it('checks every content again in one walk: ok, mismatch once its bytes changed, each once whatever shares it', async () => {
        const data = { a: Buffer.from('first bytes to check'), b: Buffer.from('second bytes to check'), c: Buffer.from('third bytes, two keys') }
        const integrity = {
          a: await put(store, tarballKey('a', '1.0.0'), data.a),
          b: await put(store, tarballKey('b', '1.0.0'), data.b),
          c: await put(store, tarballKey('c', '1.0.0'), data.c),
        }
        await put(store, tarballKey('c2', '1.0.0'), data.c)
        await t.corrupt(integrity.b)
        const checks = await collect(store.blobs.checkContent())
        const byIntegrity = Object.fromEntries(checks.map((check) => [check.integrity, check]))
        expect(checks).toHaveLength(3)
        expect(byIntegrity[integrity.a]).toMatchObject({ result: 'ok', size: data.a.length, location: store.blobs.where(integrity.a) })
        expect(byIntegrity[integrity.b]).toMatchObject({ result: 'mismatch', location: store.blobs.where(integrity.b) })
        expect(byIntegrity[integrity.c]).toMatchObject({ result: 'ok', size: data.c.length })
        await store.blobs.removeContent(integrity.a)
        expect((await collect(store.blobs.checkContent())).map((check) => check.integrity).sort()).toEqual([integrity.b, integrity.c].sort())
      })

      it('checks the content without waiting for helpersAfter, which only holds back helpers', async () => {
        const stored = await Promise.all(['one', 'two', 'three'].map((word, i) => put(store, tarballKey(`h${i}`, '1.0.0'), Buffer.from(`${word} helper-gated bytes`))))
        let open: () => void = () => undefined
        const gate = new Promise<void>((resolve) => (open = resolve))
        const checks = store.blobs.checkContent({ helpersAfter: gate })[Symbol.asyncIterator]()
        const seen: string[] = []
        // Every content comes before the gate opens: the caller's own part never waits for it.
        for (let i = 0; i < stored.length; i++) {
          const next = await checks.next()
          expect(next.done).toBe(false)
          if (!next.done) seen.push(next.value.integrity)
        }
        open()
        expect((await checks.next()).done).toBe(true)
        expect(seen.sort()).toEqual([...stored].sort())
      })

      it('leaves the content check at once when left before helpersAfter settles', async () => {
        await Promise.all(['one', 'two'].map((word, i) => put(store, tarballKey(`l${i}`, '1.0.0'), Buffer.from(`${word} left early`))))
        let taken = 0
        // A gate that never opens: leaving must not wait for it (nor start a helper to stop it).
        for await (const _ of store.blobs.checkContent({ helpersAfter: new Promise(() => undefined) })) if (++taken === 1) break
        expect(taken).toBe(1)
      })

      it('removes an entry, and its content only when nothing else uses it', async () => {
        const shared = Buffer.from('shared by two versions')
        await put(store, tarballKey('a', '1.0.0'), shared)
        await put(store, tarballKey('a', '1.0.1'), shared)
        const first = await store.blobs.remove([tarballKey('a', '1.0.0')], { inUse: () => true })
        expect(first.map((r) => [r.entry.key, r.entry.integrity, r.contentRemoved])).toEqual([[tarballKey('a', '1.0.0'), sri(shared), false]])
        expect(await store.blobs.has(sri(shared), tarballKey('a', '1.0.0'))).toBe(false)
        expect(await store.blobs.has(sri(shared), tarballKey('a', '1.0.1'))).toBe(true)
        const asked: string[] = []
        const inUse = (integrity: string) => {
          asked.push(integrity)
          return false
        }
        const removed = await store.blobs.remove([tarballKey('a', '1.0.1')], { inUse })
        expect(removed.map((r) => r.contentRemoved)).toEqual([true])
        expect(asked).toEqual([sri(shared)])
        expect(await store.blobs.hasContent(sri(shared))).toBe(false)
        expect(await sortedEntries(store.blobs)).toEqual([])
        expect(await store.blobs.remove([tarballKey('a', '1.0.1')], { inUse: () => false })).toEqual([])
      })

      it("removes a package's keys together: only those `still` accepts, each one's content asked about in turn", async () => {
        const [one, two, three] = ['one', 'two', 'three'].map((text) => Buffer.from(`bytes ${text}`)) as [Buffer, Buffer, Buffer]
        await put(store, tarballKey('p', '1.0.0'), one)
        await put(store, tarballKey('p', '2.0.0'), two)
        await put(store, tarballKey('p', '3.0.0'), three)
        await put(store, tarballKey('p', '4.0.0'), three)
        await put(store, tarballKey('q', '1.0.0'), one)
        const checked: string[] = []
        const still = (entry: BlobEntry) => (checked.push(entry.key), entry.key !== tarballKey('p', '2.0.0'))
        // 3.0.0 and 4.0.0 share bytes: the first asked keeps them, the second lets them go.
        let shared = 2
        const inUse = (integrity: string) => (integrity === sri(three) ? --shared > 0 : integrity === sri(one))
        const keys = ['1.0.0', '2.0.0', '3.0.0', '4.0.0', '9.0.0'].map((v) => tarballKey('p', v))
        const removed = await store.blobs.remove(keys, { still, inUse })
        expect(checked.sort()).toEqual(keys.slice(0, 4).sort())
        expect(removed.map((r) => [r.entry.key, r.contentRemoved]).sort()).toEqual(
          [
            [tarballKey('p', '1.0.0'), false],
            [tarballKey('p', '3.0.0'), false],
            [tarballKey('p', '4.0.0'), true],
          ].sort(),
        )
        expect((await sortedEntries(store.blobs)).map((e) => e.key)).toEqual([tarballKey('p', '2.0.0'), tarballKey('q', '1.0.0')])
        expect(await store.blobs.hasContent(sri(one))).toBe(true)
        expect(await store.blobs.hasContent(sri(three))).toBe(false)
        expect(await store.blobs.totals()).toEqual({ blobs: 2, bytes: one.length + two.length })
      })

      it('stages a blob served under no key until commit; discard keeps it only where something refers to it', async () => {
        const stage = async (key: string, data: Buffer) => {
          const write = store.blobs.stage(key, sri(data), data.length)
          write.stream.end(data)
          return write.done
        }
        const data = Buffer.from('staged tarball bytes')
        const staged = await stage(tarballKey('a', '1.0.0'), data)
        expect(staged).toMatchObject({ integrity: sri(data), size: data.length })
        expect(await read(store, tarballKey('a', '1.0.0'), data)).toBeNull()
        expect(await store.blobs.entry(tarballKey('a', '1.0.0'))).toBeNull()
        await staged.commit()
        expect(await read(store, tarballKey('a', '1.0.0'), data)).toEqual(data)
        // Discarded: nothing of it stays, whatever it was stored as in between.
        const dropped = Buffer.from('bytes of a refused publish')
        const refused = await stage(tarballKey('a', '2.0.0'), dropped)
        const asked: string[] = []
        await refused.discard((integrity) => {
          asked.push(integrity)
          return false
        })
        expect(await read(store, tarballKey('a', '2.0.0'), dropped)).toBeNull()
        expect((await collect(store.blobs.content())).map((c) => c.integrity)).toEqual([sri(data)])
        // A stage of bytes stored already leaves them to what refers to them.
        await (await stage(tarballKey('a', '3.0.0'), data)).discard(() => false)
        expect(await read(store, tarballKey('a', '1.0.0'), data)).toEqual(data)
        // Bytes that do not match are refused before anything is stored.
        const bad = store.blobs.stage(tarballKey('a', '4.0.0'), sri(Buffer.from('other')), dropped.length)
        bad.stream.end(dropped)
        await expect(bad.done).rejects.toMatchObject({ code: 'EINTEGRITY' })
        expect((await collect(store.blobs.content())).map((c) => c.integrity)).toEqual([sri(data)])
        expect((await sortedEntries(store.blobs)).map((e) => e.key)).toEqual([tarballKey('a', '1.0.0')])
      })

      it('a discard keeps staged bytes that the caller says are in use', async () => {
        const data = Buffer.from('published by the other one')
        const write = store.blobs.stage(tarballKey('a', '1.0.0'), sri(data), data.length)
        write.stream.end(data)
        const staged = await write.done
        const other = store.blobs.write(tarballKey('a', '1.0.1'), sri(data), data.length)
        other.stream.end(data)
        await other.done
        await staged.discard((integrity) => integrity === sri(data))
        expect(await read(store, tarballKey('a', '1.0.1'), data)).toEqual(data)
      })

      it('drops an entry without its content, and removes content no entry uses', async () => {
        const data = Buffer.from('soon an orphan')
        const integrity = await put(store, tarballKey('a', '1.0.0'), data)
        await store.blobs.dropEntry(tarballKey('a', '1.0.0'))
        expect(await store.blobs.open(integrity, tarballKey('a', '1.0.0'))).toBeNull()
        expect(await store.blobs.hasContent(integrity)).toBe(true)
        expect((await collect(store.blobs.content())).map((c) => c.integrity)).toEqual([integrity])
        await store.blobs.removeContent(integrity)
        expect(await store.blobs.hasContent(integrity)).toBe(false)
        expect(await collect(store.blobs.content())).toEqual([])
      })

      it('quarantines bad content: it counts as absent, and is kept aside', async () => {
        const data = Buffer.from('bytes found bad')
        const integrity = await put(store, tarballKey('a', '1.0.0'), data)
        const where = await store.blobs.quarantine(integrity)
        expect(where).not.toBeNull()
        expect(await store.blobs.open(integrity, tarballKey('a', '1.0.0'))).toBeNull()
        expect(await store.blobs.hasContent(integrity)).toBe(false)
        expect(await store.quarantine.list()).toEqual([where])
        expect(await store.blobs.quarantine(integrity)).toBeNull()
      })

      it('streams every entry once, and the ones there throughout while entries are written and dropped meanwhile', async () => {
        const keys = [...Array.from({ length: 40 }, (_, i) => tarballKey(`p${i % 7}`, `1.0.${i}`)), tarballKey('gone', '1.0.0')]
        for (const [i, key] of keys.entries()) await put(store, key, Buffer.from(`bytes ${i % 25}`))
        const listed = await sortedEntries(store.blobs)
        expect(listed.map((e) => e.key)).toEqual([...keys].sort())
        expect(listed.map((e) => e.integrity)).toEqual([...keys].sort().map((key) => sri(Buffer.from(`bytes ${keys.indexOf(key) % 25}`))))

        const seen: string[] = []
        let n = 0
        for await (const entry of store.blobs.eachEntry()) {
          seen.push(entry.key)
          // Written and dropped while the listing goes: each may show or not, never twice.
          if (n < 5) await put(store, tarballKey('during', `1.0.${n}`), Buffer.from(`during ${n}`))
          if (n === 5) await store.blobs.dropEntry(tarballKey('gone', '1.0.0'))
          n++
        }
        const throughout = keys.filter((key) => key !== tarballKey('gone', '1.0.0'))
        for (const key of throughout) expect(seen.filter((k) => k === key)).toEqual([key])
        expect(new Set(seen).size).toBe(seen.length)
        expect(seen.every((key) => keys.includes(key) || key.startsWith(tarballKey('during', '')))).toBe(true)
      })

      it('keeps totals equal to a count of the content through writes, rewrites, removals and quarantine, from two handles', async () => {
        const count = async (s: Store) => {
          const all = await collect(s.blobs.content())
          return { blobs: all.length, bytes: all.reduce((sum, c) => sum + c.size, 0) }
        }
        expect(await store.blobs.totals()).toEqual({ blobs: 0, bytes: 0 })
        const a = Buffer.from('a'.repeat(100))
        const b = Buffer.from('b'.repeat(250))
        const c = Buffer.from('c'.repeat(40))
        await put(store, tarballKey('a', '1.0.0'), a)
        // The same bytes again, under another key and under the same one: one content still.
        await put(store, tarballKey('a', '1.0.1'), a)
        await put(store, tarballKey('a', '1.0.0'), a)
        await put(store, tarballKey('b', '1.0.0'), b)
        expect(await store.blobs.totals()).toEqual({ blobs: 2, bytes: 350 })
        expect(await store.blobs.countHint()).toBe(2)

        const other = await t.reopen()
        try {
          await put(other, tarballKey('c', '1.0.0'), c)
          await other.blobs.remove([tarballKey('b', '1.0.0')], { inUse: () => false })
        } finally {
          await other.close()
        }
        expect(await store.blobs.totals()).toEqual({ blobs: 2, bytes: 140 })
        expect(await store.blobs.totals()).toEqual(await count(store))

        await store.blobs.remove([tarballKey('a', '1.0.0')], { inUse: () => true })
        expect(await store.blobs.totals()).toEqual({ blobs: 2, bytes: 140 })
        await store.blobs.quarantine(sri(c))
        await store.blobs.removeContent(sri(Buffer.from('never stored')))
        expect(await store.blobs.totals()).toEqual({ blobs: 1, bytes: 100 })
        expect(await store.blobs.totals()).toEqual(await count(store))
        expect(await store.blobs.recount()).toEqual({ blobs: 1, bytes: 100 })
        await store.blobs.remove([tarballKey('a', '1.0.1')], { inUse: () => false })
        expect(await store.blobs.totals()).toEqual({ blobs: 0, bytes: 0 })
      })
    })

    describe('package documents', () => {
      it('a missing document is null; what is written reads back, with a rev that follows the content', async () => {
        expect(await store.packages.readUpstream('a')).toBeNull()
        expect(await store.packages.readFetched('a')).toBeNull()
        expect(await store.packages.readLocal('a')).toBeNull()
        expect(await store.packages.upstreamMtime('a')).toBeNull()
        const written = await store.packages.withLock('a', () => store.packages.writeUpstream('a', upstream('a', ['1.0.0'])))
        const loaded = await store.packages.readUpstream('a')
        expect(loaded?.record).toEqual(upstream('a', ['1.0.0']))
        expect(loaded?.rev).toBe(written.rev)
        expect(loaded?.bytes).toBe(written.bytes)
        expect(await store.packages.upstreamMtime('a')).not.toBeNull()
        await store.packages.withLock('a', () => store.packages.writeUpstream('a', upstream('a', ['1.0.0', '1.0.1'])))
        expect((await store.packages.readUpstream('a'))?.rev).not.toBe(written.rev)
        await store.packages.withLock('a', () => store.packages.writeFetched('a', { uplink: 'npmjs', fetchedAt: 1234 }))
        expect(await store.packages.readFetched('a')).toEqual({ uplink: 'npmjs', fetchedAt: 1234 })
      })

      it('an upstream record written as bytes reads back as the same record, by bytes or decoded', async () => {
        expect(await store.packages.readUpstreamBytes('a')).toBeNull()
        const raw = encodeUpstream(upstream('a', ['1.0.0', '2.0.0']))
        const written = await store.packages.withLock('a', () => store.packages.writeUpstreamBytes('a', raw))
        const stored = await store.packages.readUpstreamBytes('a')
        expect(stored?.raw).toEqual(raw)
        expect(stored?.rev).toBe(written.rev)
        expect(decodeUpstream(stored?.raw as Buffer, stored?.where as string)).toEqual(upstream('a', ['1.0.0', '2.0.0']))
        expect((await store.packages.readUpstream('a'))?.rev).toBe(written.rev)
      })

      it('local documents: every write gets a new stamp, even with the same content; null removes', async () => {
        expect(store.packages.localStamp('a')).toBeNull()
        await store.packages.withLock('a', () => store.packages.writeLocal('a', local('a', 1)))
        const first = await store.packages.readLocal('a')
        expect(first?.doc).toEqual(local('a', 1))
        expect(first?.stamp).toBe(store.packages.localStamp('a'))
        const served = await store.packages.stamp('a')
        await store.packages.withLock('a', () => store.packages.writeLocal('a', local('a', 1)))
        expect(store.packages.localStamp('a')).not.toBe(first?.stamp)
        expect(await store.packages.stamp('a')).not.toBe(served)
        expect(await store.packages.localMtime('a')).not.toBeNull()
        await store.packages.withLock('a', () => store.packages.writeLocal('a', null))
        expect(await store.packages.readLocal('a')).toBeNull()
        expect(store.packages.localStamp('a')).toBeNull()
      })

      it('lists packages, scoped ones included, sorted; sizes each document; removes them', async () => {
        for (const name of ['zeta', '@scope/pkg', 'alpha']) {
          await store.packages.withLock(name, async () => {
            await store.packages.writeUpstream(name, upstream(name, ['1.0.0']))
            await store.packages.writeFetched(name, { uplink: 'npmjs', fetchedAt: 1 })
          })
        }
        expect(await store.packages.list()).toEqual(['@scope/pkg', 'alpha', 'zeta'])
        const sizes = await store.packages.sizes('alpha')
        expect(sizes.upstream).toBe((await store.packages.readUpstream('alpha'))?.bytes)
        expect(sizes.fetched).toBeGreaterThan(0)
        expect(sizes.local).toBe(0)
        await store.packages.withLock('alpha', () => store.packages.dropUpstreamDocument('alpha'))
        expect(await store.packages.readUpstream('alpha')).toBeNull()
        expect(await store.packages.readFetched('alpha')).not.toBeNull()
        await store.packages.withLock('zeta', () => store.packages.removeUpstream('zeta'))
        expect(await store.packages.readFetched('zeta')).toBeNull()
        await store.packages.removeIfEmpty('zeta')
        expect(await store.packages.list()).toEqual(['@scope/pkg', 'alpha'])
      })

      it('scans listed packages as each is ready: every document decoded, the packument only sized, or both uplink documents only sized', async () => {
        const sha512 = sri(Buffer.from('mine 1.0.0'))
        const published: LocalDoc = { ...local('mine', 1), versions: { '1.0.0': { name: 'mine', version: '1.0.0', dist: { integrity: sha512, tarball: 'x' } } } }
        await store.packages.withLock('alpha', async () => {
          await store.packages.writeUpstream('alpha', upstream('alpha', ['1.0.0', '2.0.0']))
          await store.packages.writeFetched('alpha', { uplink: 'npmjs', fetchedAt: 7 })
        })
        await store.packages.withLock('mine', () => store.packages.writeLocal('mine', published))
        const names = ['alpha', 'ghost', 'mine', ...Array.from({ length: 20 }, (_, i) => `extra-${i}`)]
        for (const extra of names.slice(3)) await store.packages.withLock(extra, () => store.packages.writeUpstream(extra, upstream(extra, ['1.0.0'])))
        // Bigger than one read of a folder store, with characters of two bytes across the reads' boundaries.
        const big = upstream('extra-0', ['1.0.0'])
        await store.packages.withLock('extra-0', () => store.packages.writeUpstream('extra-0', { ...big, doc: { ...big.doc, readme: 'é'.repeat(100_000) } }))
        const byName = async (depth: ScanDepth) => new Map((await collect(store.packages.scan(names, depth))).map((scan) => [scan.name, scan]))
        const parsed = await byName('parse')
        const records = await byName('records')
        const sized = await byName('size')
        for (const scans of [parsed, records, sized]) expect([...scans.keys()].sort()).toEqual([...names].sort())
        const sizes = await store.packages.sizes('alpha')
        const alpha = { name: 'alpha', local: null, upstream: true, upstreamBytes: sizes.upstream, metadataBytes: sizes.upstream + sizes.fetched, broken: [] }
        expect(parsed.get('alpha')).toEqual({ ...alpha, fetchedAt: 7 })
        expect(records.get('alpha')).toEqual({ ...alpha, fetchedAt: 7 })
        // Sized only: when it was fetched is in the document that was not read.
        expect(sized.get('alpha')).toEqual({ ...alpha, fetchedAt: null })
        const mine = { name: 'mine', local: new Map([['1.0.0', sha512]]), upstream: false, fetchedAt: null, upstreamBytes: 0, metadataBytes: (await store.packages.sizes('mine')).local, broken: [] }
        expect(parsed.get('mine')).toEqual(mine)
        expect(sized.get('mine')).toEqual(mine)
        expect(records.get('mine')).toEqual(mine)
        expect(parsed.get('extra-0')).toMatchObject({ upstream: true, upstreamBytes: (await store.packages.sizes('extra-0')).upstream, broken: [] })
        const ghost = { name: 'ghost', local: null, upstream: false, fetchedAt: null, upstreamBytes: 0, metadataBytes: 0, broken: [] }
        expect(parsed.get('ghost')).toEqual(ghost)
        expect(sized.get('ghost')).toEqual(ghost)
        expect(records.get('ghost')).toEqual(ghost)
        // Below 'parse' the packument is not read: a broken one is verify's to find.
        await store.packages.withLock('extra-1', () => store.packages.writeUpstreamBytes('extra-1', Buffer.from('{"uplink": not json')))
        const again = async (depth: ScanDepth) => (await collect(store.packages.scan(['extra-1'], depth)))[0]
        expect((await again('parse'))?.broken.map((b) => b.document)).toEqual(['upstream'])
        expect(await again('records')).toMatchObject({ upstream: true, broken: [] })
      })

      it('quarantine moves a document aside: it then reads as absent', async () => {
        await store.packages.withLock('a', () => store.packages.writeUpstream('a', upstream('a', ['1.0.0'])))
        expect(await store.quarantine.document('b', 'upstream')).toBeNull()
        const where = await store.packages.withLock('a', () => store.quarantine.document('a', 'upstream'))
        expect(where).not.toBeNull()
        expect(await store.packages.readUpstream('a')).toBeNull()
        expect(await store.quarantine.list()).toEqual([where])
      })
    })

    describe('change feed', () => {
      const changed = async (from: Store, cursor: string) => {
        const changes = await from.packages.changesSince(cursor)
        return { names: changes.names && [...changes.names].sort(), cursor: changes.cursor }
      }
      /** `got` names every one of `fresh`, and (see feedMayRepeat) at most those of `earlier` besides. */
      const expectNames = (got: string[] | null, fresh: string[], earlier: string[] = []) => {
        if (!t.feedMayRepeat) return expect(got).toEqual(fresh)
        expect(got).toEqual(expect.arrayContaining(fresh))
        expect(got?.filter((name) => !fresh.includes(name) && !earlier.includes(name))).toEqual([])
      }

      it('names each package whose served documents another handle wrote or removed, once, and nothing else', async () => {
        const other = await t.reopen()
        const start = await store.packages.changeCursor()
        expect(await changed(store, start)).toMatchObject({ names: [] })
        await other.packages.withLock('a', async () => {
          await other.packages.writeUpstream('a', upstream('a', ['1.0.0']))
          await other.packages.writeUpstream('a', upstream('a', ['1.0.0', '1.0.1']))
        })
        await other.packages.withLock('@s/b', () => other.packages.writeLocal('@s/b', local('@s/b', 1)))
        // fetched.json is not served: rewriting it on every revalidation changes nothing a reader shows.
        await other.packages.withLock('c', () => other.packages.writeFetched('c', { uplink: 'npmjs', fetchedAt: 1 }))
        const first = await changed(store, start)
        expectNames(first.names, ['@s/b', 'a'])
        const quiet = await changed(store, first.cursor)
        expectNames(quiet.names, [], ['@s/b', 'a'])
        await other.packages.withLock('@s/b', () => other.packages.writeLocal('@s/b', null))
        await other.packages.withLock('a', () => other.packages.dropUpstreamDocument('a'))
        const removed = await changed(store, quiet.cursor)
        expectNames(removed.names, ['@s/b', 'a'])
        await other.packages.withLock('d', () => other.packages.writeUpstream('d', upstream('d', ['1.0.0'])))
        await other.packages.withLock('d', () => other.quarantine.document('d', 'upstream'))
        expectNames((await changed(store, removed.cursor)).names, ['d'], ['@s/b', 'a'])
      })

      it('a cursor outlives the handle that took it: a restarted reader gets what changed meanwhile', async () => {
        const cursor = await store.packages.changeCursor()
        await store.packages.withLock('a', () => store.packages.writeLocal('a', local('a', 1)))
        await store.close()
        const restarted = await t.reopen()
        const after = await changed(restarted, cursor)
        expectNames(after.names, ['a'])
        await restarted.packages.withLock('e', () => restarted.packages.writeUpstream('e', upstream('e', ['1.0.0'])))
        expectNames((await changed(restarted, after.cursor)).names, ['e'], ['a'])
      })

      it('keeps one snapshot, read back whole by any handle, replaced whole', async () => {
        expect(await store.packages.readSnapshot()).toBeNull()
        const read = async (from: Store) => {
          const chunks = await from.packages.readSnapshot()
          if (!chunks) return null
          return Buffer.concat(await collect(chunks)).toString()
        }
        const lines = Array.from({ length: 2000 }, (_, i) => `{"name":"p${i}","é":"ü"}\n`)
        await store.packages.writeSnapshot(lines)
        const other = await t.reopen()
        expect(await read(other)).toBe(lines.join(''))
        await other.packages.writeSnapshot(['second\n'])
        expect(await read(store)).toBe('second\n')
      })
    })

    describe('locks', () => {
      it('serialize read-modify-write on one package, within a handle and across handles', async () => {
        const other = await t.reopen()
        const bump = (s: Store) =>
          s.packages.withLock('counter', async () => {
            const at = (await s.packages.readFetched('counter'))?.fetchedAt ?? 0
            await new Promise((resolve) => setImmediate(resolve))
            await s.packages.writeFetched('counter', { uplink: 'x', fetchedAt: at + 1 })
          })
        await Promise.all(Array.from({ length: 20 }, (_, i) => bump(i % 2 === 0 ? store : other)))
        expect((await store.packages.readFetched('counter'))?.fetchedAt).toBe(20)
      })
    })

    describe('local document changes', () => {
      const addVersion = (version: string) => (doc: LocalDoc | null): LocalDoc => {
        const next = doc ?? { ...local('grouped', 0), versions: {}, 'dist-tags': {} }
        next.versions[version] = { name: 'grouped', version }
        next['dist-tags'].latest = version
        return next
      }

      it('concurrent changes of one package from two handles all land, each once, a revision each', async () => {
        const other = await t.reopen()
        const versions = Array.from({ length: 30 }, (_, i) => `1.0.${i}`)
        await Promise.all(versions.map((v, i) => (i % 2 === 0 ? store : other).packages.changeLocal('grouped', addVersion(v))))
        const doc = (await store.packages.readLocal('grouped'))?.doc
        expect(Object.keys(doc?.versions ?? {}).sort()).toEqual([...versions].sort())
        expect(doc?.revision).toBe(30)
      })

      it('run in call order on what the ones before left; one that throws fails alone and changes nothing', async () => {
        const seen: string[][] = []
        const refused = new Error('refused')
        const record = (version: string) => (doc: LocalDoc | null) => {
          seen.push(Object.keys(doc?.versions ?? {}))
          return addVersion(version)(doc)
        }
        const results = await Promise.allSettled([
          store.packages.changeLocal('grouped', record('1.0.0')),
          store.packages.changeLocal('grouped', record('1.0.1')),
          store.packages.changeLocal('grouped', (doc) => {
            // Changed and then refused: none of it may reach the next change or the document.
            addVersion('9.9.9')(doc)
            throw refused
          }),
          store.packages.changeLocal('grouped', record('1.0.2')),
          store.packages.changeLocal('grouped', () => null),
          store.packages.changeLocal('grouped', record('2.0.0')),
        ])
        expect(results.map((r) => r.status)).toEqual(['fulfilled', 'fulfilled', 'rejected', 'fulfilled', 'fulfilled', 'fulfilled'])
        expect(results[2]).toMatchObject({ reason: refused })
        expect(seen).toEqual([[], ['1.0.0'], ['1.0.0', '1.0.1'], []])
        const doc = (await store.packages.readLocal('grouped'))?.doc
        expect(Object.keys(doc?.versions ?? {})).toEqual(['2.0.0'])
        expect(doc?.revision).toBe(1)
        // Read back by another handle: what was written is durable, not only kept in memory.
        const other = await t.reopen()
        expect(Object.keys((await other.packages.readLocal('grouped'))?.doc.versions ?? {})).toEqual(['2.0.0'])
      })
    })

    describe('usage records', () => {
      it('start empty, and merge updates from several handles', async () => {
        expect(await store.usage.read()).toEqual(new Map())
        const other = await t.reopen()
        await Promise.all([
          store.usage.update((u) => u.set('tarball:a@1.0.0', 5)),
          other.usage.update((u) => u.set('tarball:b@1.0.0', 7)),
        ])
        expect(Object.fromEntries(await other.usage.read())).toEqual({ 'tarball:a@1.0.0': 5, 'tarball:b@1.0.0': 7 })
        await store.usage.clear()
        expect(await store.usage.read()).toEqual(new Map())
      })
    })

    describe('tokens', () => {
      it('are read and changed by every handle on the store', async () => {
        const record = { key: 'k1', user: 'alice', prefix: 'snp_abc', readonly: false, cidr: [], created: '2026-01-01T00:00:00.000Z', kind: 'api' as const }
        expect((await store.tokens.read()).size).toBe(0)
        await store.tokens.modify((records) => [...records, record])
        const other = await t.reopen()
        expect((await other.tokens.read()).get('k1')).toEqual(record)
        // As written, keys in their order: callers compare records by their JSON (migrate's resume does).
        expect(JSON.stringify((await other.tokens.read()).get('k1'))).toBe(JSON.stringify(record))
        await other.tokens.modify((records) => records.filter((r) => r.key !== 'k1'))
        expect((await store.tokens.read()).size).toBe(0)
      })
    })

    describe('users', () => {
      it('are added, changed and removed through any handle on the store', async () => {
        expect((await store.users.read()).size).toBe(0)
        expect(await store.users.add({ name: 'alice', hash: 'h1' })).toBe('added')
        const other = await t.reopen()
        expect((await other.users.read()).get('alice')).toEqual({ name: 'alice', hash: 'h1' })
        expect(await other.users.add({ name: 'alice', hash: 'h2' })).toBe('exists')
        expect(await other.users.setHash('alice', 'h3')).toBe(true)
        expect((await store.users.read()).get('alice')?.hash).toBe('h3')
        expect(await store.users.setHash('nobody', 'h')).toBe(false)
        expect(await store.users.remove('alice')).toBe(true)
        expect(await other.users.remove('alice')).toBe(false)
        expect((await other.users.read()).size).toBe(0)
      })

      it('give one name to exactly one of many concurrent adds, across handles', async () => {
        const other = await t.reopen()
        const outcomes = await Promise.all(Array.from({ length: 12 }, (_, i) => (i % 2 ? other : store).users.add({ name: 'bob', hash: `h${i}` })))
        expect(outcomes.filter((o) => o === 'added')).toHaveLength(1)
        expect(outcomes.filter((o) => o === 'exists')).toHaveLength(11)
        expect([...(await store.users.read()).keys()]).toEqual(['bob'])
      })

      it('refuse an add past the limit, counting concurrent adds', async () => {
        const other = await t.reopen()
        const outcomes = await Promise.all(Array.from({ length: 6 }, (_, i) => (i % 2 ? other : store).users.add({ name: `u${i}`, hash: 'h' }, 2)))
        expect(outcomes.filter((o) => o === 'added')).toHaveLength(2)
        expect(outcomes.filter((o) => o === 'full')).toHaveLength(4)
        expect((await store.users.read()).size).toBe(2)
        // No limit (the terminal's user add) still adds.
        expect(await store.users.add({ name: 'admin', hash: 'h' })).toBe('added')
        expect(await store.users.add({ name: 'u0', hash: 'h' }, 2)).toBe(outcomes[0] === 'added' ? 'exists' : 'full')
      })
    })
  })
}

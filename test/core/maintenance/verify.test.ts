import { readFile, readdir, rm, stat, truncate, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { planPrune, verifyStore, type VerifyProgress } from '../../../src/core/maintenance/index.js'
import { CHECK_CONCURRENCY, checkEachContent } from '../../../src/core/store/content-check.js'
import { tarballKey, type Blobs } from '../../../src/core/store/index.js'
import { addUpstream, bytesOf, cacheTarball, integrityOf, publishLocal, storedVersions, tempStore, type TestStore } from './fixture.js'

describe('verifyStore', () => {
  let t: TestStore
  const b = { a: bytesOf('a', '1.0.0', 3000), b: bytesOf('b', '1.0.0', 2000), c: bytesOf('c', '1.0.0'), mine: bytesOf('mine', '1.0.0') }
  const blobPath = (bytes: Buffer) => t.store.blobs.where(integrityOf(bytes))

  async function flipByte(file: string, at: number): Promise<void> {
    const data = await readFile(file)
    data[at] = (data[at] as number) ^ 0xff
    await writeFile(file, data)
  }

  beforeEach(async () => {
    t = await tempStore()
    for (const [name, bytes] of [['a', b.a], ['b', b.b], ['c', b.c]] as const) {
      await addUpstream(t.store, name, { '1.0.0': bytes })
      await cacheTarball(t.store, name, '1.0.0', bytes)
    }
    await publishLocal(t.store, 'mine', { '1.0.0': b.mine })
  })
  afterEach(() => t.cleanup())

  it('finds nothing wrong in a healthy store, and reports its progress', async () => {
    const seen: VerifyProgress[] = []
    const report = await verifyStore(t.store, { onProgress: (p) => seen.push(p) })
    expect(report).toMatchObject({ problems: 0, orphans: 0, missingLocal: [], blobs: { checked: 4, corrupt: [] }, entries: { checked: 4, dangling: [] } })
    expect(report.metadata).toEqual({ packages: 4, broken: [] })
    // Everything found intact: no second walk of the index.
    expect(seen.at(-1)).toEqual({ phase: 'checking', blobs: 4, entries: 4, done: 4, packages: 4 })
    expect(seen.some((p) => p.phase === 'index')).toBe(false)
  })

  it('without --fix only reads: a store without its count file keeps none (prune by age alike)', async () => {
    await t.store.blobs.close()
    const counts = path.join(t.root, 'blobs', 'totals.json')
    await rm(counts)
    expect((await verifyStore(t.store)).problems).toBe(0)
    expect(await readFile(counts, 'utf8').catch(() => null)).toBeNull()
    await planPrune(t.store, { olderThanMs: 1000 })
    expect(await readFile(counts, 'utf8').catch(() => null)).toBeNull()
  })

  it('content stored while the walks run (its entry read, its file not hashed) is looked for again, not reported', async () => {
    // The content walk passes `c` by, as it would a blob written behind it; the index walk reads its entry.
    const blobs = Object.create(t.store.blobs, {
      checkContent: {
        value: async function* () {
          for await (const checked of t.store.blobs.checkContent()) if (checked.integrity !== integrityOf(b.c)) yield checked
        },
      },
    }) as Blobs
    const report = await verifyStore({ ...t.store, blobs })
    expect(report).toMatchObject({ problems: 0, missingLocal: [], entries: { checked: 4, dangling: [] }, blobs: { checked: 3, corrupt: [] } })
  })

  it('one part failing fails verify and stops the others', async () => {
    let yielded = 0
    let ended = false
    const blobs = Object.create(t.store.blobs, {
      eachEntry: {
        value: async function* () {
          yield* await Promise.resolve([])
          throw Object.assign(new Error('EIO: i/o error, read'), { code: 'EIO' })
        },
      },
      checkContent: {
        value: async function* () {
          try {
            for await (const checked of t.store.blobs.checkContent()) {
              await new Promise((resolve) => setImmediate(resolve))
              yielded++
              yield checked
            }
          } finally {
            ended = true
          }
        },
      },
    }) as Blobs
    await expect(verifyStore({ ...t.store, blobs }, { fix: true })).rejects.toMatchObject({ code: 'EIO' })
    expect(ended).toBe(true)
    expect(yielded).toBeLessThan(4)
  })

  it('finds a flipped byte and a truncated blob; --fix quarantines them and drops their references', async () => {
    await flipByte(blobPath(b.a), 1234)
    await truncate(blobPath(b.b), 1500)
    const found = await verifyStore(t.store)
    expect(found.blobs.corrupt.map((c) => c.integrity).sort()).toEqual([integrityOf(b.a), integrityOf(b.b)].sort())
    expect(found.entries.dangling.map((d) => [d.key, d.why, d.dropped])).toEqual([
      [tarballKey('a', '1.0.0'), 'corrupt', false],
      [tarballKey('b', '1.0.0'), 'corrupt', false],
    ])
    expect(found.problems).toBe(2)

    const fixed = await verifyStore(t.store, { fix: true })
    expect(fixed.problems).toBe(0)
    expect(fixed.blobs.corrupt.every((c) => c.quarantined?.startsWith(path.join(t.root, 'quarantine', 'blobs')))).toBe(true)
    expect((await readdir(path.join(t.root, 'quarantine', 'blobs'))).length).toBe(2)
    await expect(stat(blobPath(b.a))).rejects.toMatchObject({ code: 'ENOENT' })
    expect(await storedVersions(t.store)).toEqual(['c@1.0.0', 'mine@1.0.0'])
    expect((await verifyStore(t.store)).problems).toBe(0)
  })

  it('finds an index entry whose blob is gone; --fix drops it', async () => {
    await rm(blobPath(b.c))
    const found = await verifyStore(t.store)
    expect(found.entries.dangling).toEqual([{ key: tarballKey('c', '1.0.0'), integrity: integrityOf(b.c), why: 'missing', dropped: false }])
    expect(found.problems).toBe(1)
    // This blob went out by rm, behind the store's back: its totals are off until --fix counts again.
    const before = await t.store.blobs.totals()
    expect((await verifyStore(t.store, { fix: true })).problems).toBe(0)
    expect(await storedVersions(t.store)).not.toContain('c@1.0.0')
    const counted = { blobs: 0, bytes: 0 }
    for await (const c of t.store.blobs.content()) {
      counted.blobs++
      counted.bytes += c.size
    }
    expect(await t.store.blobs.totals()).toEqual(counted)
    expect(counted.blobs).toBeGreaterThan(0)
    expect(before).not.toEqual(counted)
  })

  it('finds metadata that does not parse; --fix quarantines uplink copies and usage, never local.json', async () => {
    await writeFile(path.join(t.root, 'packages', 'a', 'upstream.json'), '{"doc": 1}')
    await writeFile(path.join(t.root, 'packages', 'b', 'fetched.json'), 'nope')
    await writeFile(path.join(t.root, 'packages', 'mine', 'local.json'), '{')
    await writeFile(path.join(t.root, 'usage.json'), '[]')
    const found = await verifyStore(t.store)
    expect(found.metadata.broken.map((f) => path.relative(t.root, f.file)).sort()).toEqual(
      ['packages/a/upstream.json', 'packages/b/fetched.json', 'packages/mine/local.json', 'usage.json'].sort(),
    )
    expect(found.problems).toBe(4)
    const fixed = await verifyStore(t.store, { fix: true })
    expect(fixed.problems).toBe(1)
    expect(fixed.metadata.broken.find((f) => f.file.endsWith('local.json'))?.quarantined).toBeNull()
    expect(await t.store.packages.readUpstream('a')).toBeNull()
    expect(await readdir(path.join(t.root, 'quarantine', 'packages', 'a'))).toEqual([expect.stringMatching(/^upstream\.json\.\d+$/)])
    await expect(stat(path.join(t.root, 'usage.json'))).rejects.toMatchObject({ code: 'ENOENT' })
  })

  it('reports a published version without an intact tarball as a problem --fix cannot fix', async () => {
    await flipByte(blobPath(b.mine), 10)
    const fixed = await verifyStore(t.store, { fix: true })
    expect(fixed.missingLocal).toEqual([{ name: 'mine', version: '1.0.0' }])
    expect(fixed.problems).toBe(1)
    // Its index entry stays: the version is still published here, its bytes are what is missing.
    expect(await storedVersions(t.store)).toContain('mine@1.0.0')
  })

  it('counts content that nothing refers to without calling it a problem', async () => {
    await t.store.blobs.dropEntry(tarballKey('c', '1.0.0'))
    const report = await verifyStore(t.store)
    expect(report).toMatchObject({ orphans: 1, problems: 0 })
  })

  it('does not count the content of a version published here as unreferenced, entry or not', async () => {
    await t.store.blobs.dropEntry(tarballKey('c', '1.0.0'))
    await t.store.blobs.dropEntry(tarballKey('mine', '1.0.0'))
    const report = await verifyStore(t.store)
    expect(report).toMatchObject({ orphans: 1, problems: 0, missingLocal: [] })
  })

  it('checks each blob as the content listing yields it, a few at once, keeping no list of the content (a store of round trips)', async () => {
    const more = Array.from({ length: 12 }, (_, i) => bytesOf(`more-${i}`, '1.0.0', 100))
    for (const [i, bytes] of more.entries()) await cacheTarball(t.store, `more-${i}`, '1.0.0', bytes)
    // The real store, with its listing and its re-hash recorded in the order they happen.
    const events: string[] = []
    const real = t.store.blobs
    const blobs: Blobs = Object.assign(Object.create(real) as Blobs, {
      async *content() {
        for await (const file of real.content()) {
          events.push(`listed ${file.integrity}`)
          yield file
        }
      },
      async verify(sha512: string, integrity: string) {
        const result = await real.verify(sha512, integrity)
        events.push(`verified ${sha512}`)
        return result
      },
    })
    const checks = []
    for await (const check of checkEachContent(blobs)) checks.push(check)
    expect(checks.filter((check) => check.result === 'ok')).toHaveLength(16)
    expect(await verifyStore(t.store)).toMatchObject({ problems: 0, orphans: 0, blobs: { checked: 16 } })
    const listed = events.filter((e) => e.startsWith('listed ')).map((e) => e.slice('listed '.length))
    const verified = events.filter((e) => e.startsWith('verified ')).map((e) => e.slice('verified '.length))
    expect(listed.sort()).toEqual([b.a, b.b, b.c, b.mine, ...more].map(integrityOf).sort())
    expect(verified.sort()).toEqual(listed)
    // Never more blobs listed and not yet checked than are checked at once.
    let ahead = 0
    let most = 0
    for (const event of events) {
      ahead += event.startsWith('listed ') ? 1 : -1
      most = Math.max(most, ahead)
    }
    expect(most).toBeLessThanOrEqual(CHECK_CONCURRENCY)
  })
})

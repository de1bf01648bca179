import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { SearchIndex, summarize, type SummarySource } from '../../../src/core/search/index.js'
import { openStore, type Store } from '../../../src/core/store/index.js'
import { freshDatabase } from '../../helpers/postgres.js'
import { packument } from './helpers.js'

/**
 * The index started from the store's snapshot and change feed (SearchIndex.build with a
 * source that has `feed`), on both stores: each test writes through one handle and reads
 * through others, as separate processes would.
 */

/** Summaries straight from the stored upstream documents; `loads` records every package read. */
function storeSource(store: Store, loads: string[] = [], feed = true): SummarySource {
  return {
    names: () => store.packages.list(),
    async load(name) {
      loads.push(name)
      const stored = await store.packages.readUpstream(name)
      return stored ? summarize(name, stored.record.doc, 'cached') : null
    },
    stamp: (name) => store.packages.stamp(name),
    ...(feed ? { feed: store.packages } : {}),
  }
}

async function write(store: Store, name: string, description: string): Promise<void> {
  const doc = packument(name, { description })
  await store.packages.withLock(name, () => store.packages.writeUpstream(name, { uplink: 'npmjs', upstreamUrl: 'http://127.0.0.1:9/', doc }))
}

async function remove(store: Store, name: string): Promise<void> {
  await store.packages.withLock(name, () => store.packages.removeUpstream(name))
  await store.packages.removeIfEmpty(name)
}

/** What an index holds, compared whole: every summary, in list order. */
const contents = (index: SearchIndex) => index.list()

const stores: Array<[string, () => Promise<{ open: () => Promise<Store>; cleanup: () => Promise<void> }>]> = [
  [
    'filesystem',
    async () => {
      const dir = await mkdtemp(path.join(tmpdir(), 'sinopia-snapshot-'))
      return { open: () => openStore(path.join(dir, 'storage')), cleanup: () => rm(dir, { recursive: true, force: true }) }
    },
  ],
  [
    'postgresql',
    async () => {
      const url = await freshDatabase()
      const dir = await mkdtemp(path.join(tmpdir(), 'sinopia-snapshot-pg-'))
      let n = 0
      return { open: () => openStore(url, { blobCache: path.join(dir, `cache-${n++}`) }), cleanup: () => rm(dir, { recursive: true, force: true }) }
    },
  ],
]

describe.each(stores)('SearchIndex from a snapshot and the change feed: %s', (kind, setup) => {
  let open: () => Promise<Store>
  let cleanup: () => Promise<void>
  const opened: Store[] = []
  const handle = async () => {
    const store = await open()
    opened.push(store)
    return store
  }
  const errors: unknown[] = []
  const index = (source: SummarySource) => new SearchIndex(source, (_name, error) => errors.push(error))

  beforeEach(async () => {
    ;({ open, cleanup } = await setup())
    errors.length = 0
  })
  afterEach(async () => {
    await Promise.all(opened.splice(0).map((s) => s.close()))
    await cleanup()
  })

  it('reads every package once, then starts from the snapshot reading only what changed since, equal to a fresh build', async () => {
    const writer = await handle()
    for (let i = 0; i < 20; i++) await write(writer, `pkg-${i}`, `package number ${i}`)
    const firstLoads: string[] = []
    const first = index(storeSource(await handle(), firstLoads))
    await first.build()
    expect(firstLoads).toHaveLength(20)
    expect(first.size).toBe(20)

    // Meanwhile (the first index stopped): one changed, one removed, one new.
    await write(writer, 'pkg-3', 'rewritten elsewhere')
    await remove(writer, 'pkg-7')
    await write(writer, '@scope/new', 'published elsewhere')

    const loads: string[] = []
    const second = index(storeSource(await handle(), loads))
    await second.build()
    expect(loads.sort()).toEqual(['@scope/new', 'pkg-3', 'pkg-7'])
    const fresh = index(storeSource(await handle(), [], false))
    await fresh.build()
    expect(contents(second)).toEqual(contents(fresh))
    expect(second.get('pkg-3')?.description).toBe('rewritten elsewhere')
    expect(errors).toEqual([])
  })

  it('sync reads only the packages the feed names, and drops the removed ones', async () => {
    const writer = await handle()
    for (let i = 0; i < 10; i++) await write(writer, `pkg-${i}`, `package number ${i}`)
    const loads: string[] = []
    const live = index(storeSource(await handle(), loads))
    await live.build()
    loads.length = 0
    await write(writer, 'pkg-1', 'changed by another process')
    await remove(writer, 'pkg-2')
    await live.sync()
    expect(loads.sort()).toEqual(['pkg-1', 'pkg-2'])
    expect(live.get('pkg-1')?.description).toBe('changed by another process')
    expect(live.get('pkg-2')).toBeUndefined()
    loads.length = 0
    await live.sync()
    // PostgreSQL's cursor is the cluster's oldest running transaction (pg/changes.ts): while other
    // test files' transactions run on the same cluster it stays behind, and the feed names the
    // same changes again, by design. Never anything else.
    if (kind === 'filesystem') expect(loads).toEqual([])
    else expect(loads.filter((name) => name !== 'pkg-1' && name !== 'pkg-2')).toEqual([])
  })

  it('builds from the store when the snapshot is cut short, and replaces it with a whole one', async () => {
    const writer = await handle()
    for (let i = 0; i < 5; i++) await write(writer, `pkg-${i}`, `package number ${i}`)
    const cursor = await writer.packages.changeCursor()
    await writer.packages.writeSnapshot([`${JSON.stringify({ format: 1, cursor })}\n`, '{"name":"pkg-0","vers'])
    const loads: string[] = []
    const rebuilt = index(storeSource(await handle(), loads))
    await rebuilt.build()
    expect(loads).toHaveLength(5)
    expect(rebuilt.size).toBe(5)
    expect(errors).toEqual([expect.objectContaining({ code: 'ECORRUPT' })])
    const afterLoads: string[] = []
    const next = index(storeSource(await handle(), afterLoads))
    await next.build()
    expect(afterLoads).toEqual([])
    expect(contents(next)).toEqual(contents(rebuilt))
  })

  it('builds from the store when the snapshot names a cursor the feed cannot read from', async () => {
    const writer = await handle()
    for (let i = 0; i < 3; i++) await write(writer, `pkg-${i}`, 'x')
    await writer.packages.writeSnapshot([`${JSON.stringify({ format: 1, cursor: 'of-another-store:12' })}\n`])
    const loads: string[] = []
    const rebuilt = index(storeSource(await handle(), loads))
    await rebuilt.build()
    expect(loads).toHaveLength(3)
    expect(rebuilt.size).toBe(3)
  })
})

import { randomBytes, createHash } from 'node:crypto'
import { mkdtemp, readdir, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import pg from 'pg'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { openStore, tarballKey, type LocalDoc, type Store } from '../../../src/core/store/index.js'
import { freshDatabase } from '../../helpers/postgres.js'
import { sortedEntries } from '../../helpers/blobs.js'
import { LIST_PAGE_ROWS } from '../../../src/core/store/pg/blobs.js'

/** What only the PostgreSQL store has to show: its schema, and several instances on one database. */

const sri = (data: Buffer) => `sha512-${createHash('sha512').update(data).digest('base64')}`

const local = (revision: number): LocalDoc => ({
  origin: 'local-only',
  versions: {},
  'dist-tags': {},
  removedTags: [],
  deprecated: {},
  time: {},
  revision,
})

async function sql(url: string, text: string, values: unknown[] = []): Promise<pg.QueryResult> {
  const db = new pg.Client({ connectionString: url })
  await db.connect()
  try {
    return await db.query(text, values)
  } finally {
    await db.end()
  }
}

/** Takes away what migration 3 (the change feed) added. */
const UNDO_3 = 'DROP TRIGGER sinopia_note_change ON sinopia_documents; DROP FUNCTION sinopia_note_change(); DROP TABLE sinopia_package_changes; DROP TABLE sinopia_snapshots'

/** Polls `check` until it holds, up to a bound on attempts (no clock in the assertion). */
async function eventually(check: () => boolean): Promise<boolean> {
  for (let attempt = 0; attempt < 400; attempt++) {
    if (check()) return true
    await new Promise((resolve) => setTimeout(resolve, 25))
  }
  return check()
}

describe('PostgreSQL store', () => {
  let url: string
  let dir: string
  const opened: Store[] = []
  const open = async (cache = `cache-${opened.length}`) => {
    const store = await openStore(url, { blobCache: path.join(dir, cache) })
    opened.push(store)
    return store
  }

  beforeEach(async () => {
    url = await freshDatabase()
    dir = await mkdtemp(path.join(tmpdir(), 'sinopia-pg-'))
  })
  afterEach(async () => {
    await Promise.all(opened.splice(0).map((s) => s.close()))
    await rm(dir, { recursive: true, force: true })
  })

  it('creates its schema on open, and refuses a database of a newer schema with ESCHEMA', async () => {
    await (await open()).close()
    expect((await sql(url, 'SELECT version FROM sinopia_schema')).rows).toEqual([{ version: 3 }])
    await sql(url, 'UPDATE sinopia_schema SET version = 99')
    await expect(openStore(url, { blobCache: path.join(dir, 'x') })).rejects.toMatchObject({ code: 'ESCHEMA', hint: expect.stringContaining('sinopia-cli version') })
  })

  it('brings a database of schema 1 (before users were kept) to 3, keeping its tokens', async () => {
    const first = await open()
    const record = { key: 'k1', user: 'alice', prefix: 'snp_abc', readonly: false, cidr: [], created: '2026-01-01T00:00:00.000Z', kind: 'api' as const }
    await first.tokens.modify(() => [record])
    await first.close()
    // What migrations 2 and 3 added, taken away again: the layout version 1 left.
    await sql(url, `${UNDO_3}; DROP TABLE sinopia_users; DELETE FROM sinopia_versions WHERE name = 'users'; UPDATE sinopia_schema SET version = 1`)
    const again = await open()
    expect((await sql(url, 'SELECT version FROM sinopia_schema')).rows).toEqual([{ version: 3 }])
    expect([...(await again.tokens.read()).values()]).toEqual([record])
    expect(await again.users.add({ name: 'alice', hash: 'h' })).toBe('added')
    expect((await again.users.read()).get('alice')).toEqual({ name: 'alice', hash: 'h' })
  })

  it('brings a database of schema 2 (before the change feed) to 3: its documents stay, and later writes are fed', async () => {
    const first = await open()
    await first.packages.withLock('kept', () => first.packages.writeLocal('kept', local(1)))
    await first.close()
    await sql(url, `${UNDO_3}; UPDATE sinopia_schema SET version = 2`)
    const again = await open()
    expect((await sql(url, 'SELECT version FROM sinopia_schema')).rows).toEqual([{ version: 3 }])
    expect((await again.packages.readLocal('kept'))?.doc).toEqual(local(1))
    const cursor = await again.packages.changeCursor()
    await again.packages.withLock('new', () => again.packages.writeLocal('new', local(1)))
    expect((await again.packages.changesSince(cursor)).names).toEqual(['new'])
  })

  it('feeds a write whose transaction took its id before a reader\'s cursor and committed after it', async () => {
    const store = await open()
    const writer = new pg.Client({ connectionString: url })
    await writer.connect()
    try {
      await writer.query('BEGIN')
      await writer.query(
        "INSERT INTO sinopia_documents (name, kind, body, mtime_ms) VALUES ('slow', 'local', '\\x7b7d', 0)",
      )
      const cursor = await store.packages.changeCursor()
      await store.packages.withLock('quick', () => store.packages.writeLocal('quick', local(1)))
      const before = await store.packages.changesSince(cursor)
      expect(before.names).toEqual(['quick'])
      await writer.query('COMMIT')
      // A sequence number taken by 'slow' is below 'quick''s: a reader at 'quick' would skip it.
      expect((await store.packages.changesSince(before.cursor)).names).toContain('slow')
    } finally {
      await writer.end()
    }
  })

  it('says which database it cannot reach with ESTORAGE, without the password', async () => {
    const error = (await openStore('postgresql://sinopia:s3cret@127.0.0.1:1/none', { blobCache: path.join(dir, 'x') }).catch((e: unknown) => e)) as Error & { code?: string; hint?: string }
    expect(error.code).toBe('ESTORAGE')
    expect(error.message).toContain('postgresql://sinopia:***@127.0.0.1:1/none')
    expect(error.message).not.toContain('s3cret')
    expect(error.hint).toContain('storage')
  })

  it('names the database without its password', async () => {
    const parsed = new URL(url)
    parsed.password = 'hunter2'
    const store = await open()
    expect(store.root).toBe(url)
    // trust authentication lets the password through unread: only where it shows is checked.
    const withPassword = await openStore(parsed.toString(), { blobCache: path.join(dir, 'p') })
    opened.push(withPassword)
    expect(withPassword.root).not.toContain('hunter2')
    expect(withPassword.packages.where('a', 'local')).not.toContain('hunter2')
    expect(withPassword.blobs.where(sri(Buffer.from('x')))).not.toContain('hunter2')
  })

  it('serializes withLock on one name across two handles (as two processes)', async () => {
    const [a, b] = [await open(), await open()]
    const events: string[] = []
    const hold = (store: Store, who: string) =>
      store.packages.withLock('shared', async () => {
        events.push(`enter ${who}`)
        await new Promise((resolve) => setTimeout(resolve, 5))
        events.push(`exit ${who}`)
      })
    await Promise.all(Array.from({ length: 12 }, (_, i) => hold(i % 2 === 0 ? a : b, String(i))))
    expect(events).toHaveLength(24)
    for (let i = 0; i < events.length; i += 2) {
      const who = (events[i] as string).slice('enter '.length)
      expect([events[i], events[i + 1]]).toEqual([`enter ${who}`, `exit ${who}`])
    }
  })

  it('releases the lock when the locked function throws', async () => {
    const [a, b] = [await open(), await open()]
    await expect(a.packages.withLock('p', () => Promise.reject(new Error('boom')))).rejects.toThrow('boom')
    expect(await b.packages.withLock('p', () => Promise.resolve('got it'))).toBe('got it')
  })

  it("sees another handle's local writes in localStamp, through its announcements", async () => {
    const [a, b] = [await open(), await open()]
    expect(b.packages.localStamp('pkg')).toBeNull()
    await a.packages.withLock('pkg', () => a.packages.writeLocal('pkg', local(1)))
    const written = a.packages.localStamp('pkg')
    expect(written).not.toBeNull()
    expect(await eventually(() => b.packages.localStamp('pkg') === written)).toBe(true)
    await a.packages.withLock('pkg', () => a.packages.writeLocal('pkg', local(2)))
    const second = a.packages.localStamp('pkg')
    expect(second).not.toBe(written)
    expect(await eventually(() => b.packages.localStamp('pkg') === second)).toBe(true)
    await a.packages.withLock('pkg', () => a.packages.writeLocal('pkg', null))
    expect(await eventually(() => b.packages.localStamp('pkg') === null)).toBe(true)
    // A handle opened later reads them on open.
    await a.packages.withLock('other', () => a.packages.writeLocal('other', local(1)))
    expect((await open()).packages.localStamp('other')).toBe(a.packages.localStamp('other'))
  })

  it("tells watchers of another handle's changes to served documents, not of its own writes", async () => {
    const [a, b] = [await open(), await open()]
    const heardByA: Array<string | null> = []
    const heardByB: Array<string | null> = []
    a.packages.watch((name) => heardByA.push(name))
    const stop = b.packages.watch((name) => heardByB.push(name))
    await a.packages.withLock('pkg', () => a.packages.writeLocal('pkg', local(1)))
    const record = { uplink: 'npmjs', upstreamUrl: 'http://127.0.0.1:9/', doc: { name: 'up', versions: {} } }
    await a.packages.withLock('up', () => a.packages.writeUpstream('up', record))
    // Not announced: the fetched record is no served document.
    await a.packages.withLock('up', () => a.packages.writeFetched('up', { uplink: 'npmjs', fetchedAt: 1 }))
    await a.packages.withLock('up', () => a.packages.removeUpstream('up'))
    expect(await eventually(() => heardByB.length >= 3)).toBe(true)
    expect(heardByB).toEqual(['pkg', 'up', 'up'])
    // B's write reaches A's watcher, and B's own watcher hears nothing of it.
    await b.packages.withLock('mine', () => b.packages.writeLocal('mine', local(1)))
    expect(await eventually(() => heardByA.includes('mine'))).toBe(true)
    // A stopped watcher hears nothing more (once B's stamp shows the write arrived).
    stop()
    await a.packages.withLock('pkg', () => a.packages.writeLocal('pkg', local(2)))
    expect(await eventually(() => b.packages.localStamp('pkg') === a.packages.localStamp('pkg'))).toBe(true)
    expect(heardByB).toEqual(['pkg', 'up', 'up'])
    expect(heardByA).toEqual(['mine'])
  })

  it('leaves no entry, no content and no cached copy of a destroyed write', async () => {
    const store = await open('cache-destroyed')
    const data = randomBytes(3 * 1024 * 1024)
    const write = store.blobs.write(tarballKey('a', '1.0.0'), sri(data), data.length)
    write.stream.write(data.subarray(0, 1024 * 1024))
    write.stream.destroy()
    await expect(write.done).rejects.toBeDefined()
    expect(await sortedEntries(store.blobs)).toEqual([])
    expect(await store.blobs.hasContent(sri(data))).toBe(false)
    expect((await sql(url, 'SELECT count(*)::int AS n FROM sinopia_blob_chunks')).rows).toEqual([{ n: 0 }])
    const left = await readdir(path.join(dir, 'cache-destroyed'), { recursive: true }).catch(() => [])
    expect(left.filter((name) => !['tmp', 'sha512'].includes(name))).toEqual([])
  })

  it('lists entries and content across several pages, each row once, in key order', async () => {
    const store = await open()
    const rows = LIST_PAGE_ROWS * 2 + 345
    // Rows straight into the tables: thousands of writes through the store would only be slower.
    await sql(
      url,
      `INSERT INTO sinopia_blob_entries (key, integrity, size, time_ms)
       SELECT 'tarball:p' || i || '@1.0.0', 'sha512-' || lpad(i::text, 6, '0'), i, 0 FROM generate_series(1, $1) AS i`,
      [rows],
    )
    await sql(
      url,
      `INSERT INTO sinopia_blob_content (integrity, id, size, stored_ms)
       SELECT 'sha512-' || lpad(i::text, 6, '0'), i, i, 0 FROM generate_series(1, $1) AS i`,
      [rows],
    )
    const keys: string[] = []
    for await (const entry of store.blobs.eachEntry()) keys.push(entry.key)
    const expected = Array.from({ length: rows }, (_, i) => `tarball:p${i + 1}@1.0.0`).sort()
    expect(keys).toEqual(expected)
    const content: string[] = []
    for await (const c of store.blobs.content()) content.push(c.integrity)
    expect(content).toEqual(Array.from({ length: rows }, (_, i) => `sha512-${String(i + 1).padStart(6, '0')}`))
    expect(await store.blobs.totals()).toEqual({ blobs: rows, bytes: (rows * (rows + 1)) / 2 })
  })

  it('serves a multi-chunk blob written by one handle from the database to another, through its own cache', async () => {
    const [a, b] = [await open(), await open()]
    const data = randomBytes(5 * 1024 * 1024 + 17)
    const write = a.blobs.write(tarballKey('big', '1.0.0'), sri(data), data.length)
    write.stream.end(data)
    expect(await write.done).toEqual({ integrity: sri(data), size: data.length })
    expect((await sql(url, 'SELECT count(*)::int AS n FROM sinopia_blob_chunks')).rows).toEqual([{ n: 6 }])
    for (const round of [1, 2]) {
      const blob = await b.blobs.open(sri(data), tarballKey('big', '1.0.0'))
      expect(blob?.size, `round ${round}`).toBe(data.length)
      expect((await blob?.handle.readFile())?.equals(data)).toBe(true)
      await blob?.handle.close()
    }
    // Removed through one handle: absent through the other at once, its disk copy notwithstanding.
    await a.blobs.remove([tarballKey('big', '1.0.0')], { inUse: () => false })
    expect(await b.blobs.open(sri(data), tarballKey('big', '1.0.0'))).toBeNull()
  })

  it('stores a one-chunk blob from memory: one content row for many concurrent writers of it, served to the writer and to another handle', async () => {
    const [a, b] = [await open(), await open()]
    const data = randomBytes(64 * 1024)
    const writes = Array.from({ length: 20 }, (_, i) => {
      const write = (i % 2 === 0 ? a : b).blobs.write(tarballKey(`p${i}`, '1.0.0'), sri(data), data.length)
      write.stream.end(data)
      return write.done
    })
    expect(await Promise.all(writes)).toEqual(Array.from({ length: 20 }, () => ({ integrity: sri(data), size: data.length })))
    expect((await sql(url, 'SELECT count(*)::int AS n FROM sinopia_blob_content')).rows).toEqual([{ n: 1 }])
    expect((await sql(url, 'SELECT count(*)::int AS n FROM sinopia_blob_chunks')).rows).toEqual([{ n: 1 }])
    expect((await sortedEntries(a.blobs)).length).toBe(20)
    for (const store of [a, b, a]) {
      const blob = await store.blobs.open(sri(data), tarballKey('p3', '1.0.0'))
      expect((await blob?.handle.readFile())?.equals(data)).toBe(true)
      await blob?.handle.close()
    }
    // Content removed, then written again: in again under a new id, with its chunk.
    await a.blobs.remove([tarballKey('p0', '1.0.0')], { inUse: () => false })
    const again = b.blobs.write(tarballKey('p0', '1.0.0'), sri(data), data.length)
    again.stream.end(data)
    await again.done
    expect(await b.blobs.verify(sri(data), sri(data))).toBe('ok')
  })

  it('keeps nothing of a one-chunk write that is destroyed, too short, too long or of other bytes', async () => {
    const store = await open()
    const data = randomBytes(1000)
    const destroyed = store.blobs.write(tarballKey('a', '1.0.0'), sri(data), data.length)
    destroyed.stream.write(data.subarray(0, 10))
    destroyed.stream.destroy()
    await expect(destroyed.done).rejects.toMatchObject({ code: 'EABORTED' })
    const short = store.blobs.write(tarballKey('a', '1.0.1'), sri(data), data.length + 1)
    short.stream.end(data)
    await expect(short.done).rejects.toMatchObject({ code: 'EBADSIZE' })
    const long = store.blobs.write(tarballKey('a', '1.0.2'), sri(data), data.length - 1)
    long.stream.on('error', () => undefined)
    long.stream.end(data)
    await expect(long.done).rejects.toMatchObject({ code: 'EBADSIZE' })
    const other = store.blobs.write(tarballKey('a', '1.0.3'), sri(data), data.length)
    other.stream.end(randomBytes(1000))
    await expect(other.done).rejects.toMatchObject({ code: 'EINTEGRITY' })
    expect(await sortedEntries(store.blobs)).toEqual([])
    expect((await sql(url, 'SELECT count(*)::int AS n FROM sinopia_blob_chunks')).rows).toEqual([{ n: 0 }])
  })

  it('reads the local document as the database has it now, whatever this handle read or wrote before', async () => {
    const [a, b] = [await open(), await open()]
    await a.packages.writeLocal('p', local(1))
    expect((await a.packages.readLocal('p'))?.doc.revision).toBe(1)
    // Written elsewhere after this handle wrote and read it: the new one, before any announcement arrives too.
    await b.packages.writeLocal('p', local(2))
    const read = await a.packages.readLocal('p')
    expect(read?.doc.revision).toBe(2)
    expect(read?.stamp).toBe((await b.packages.readLocal('p'))?.stamp)
    // The same stamp twice: the same document.
    expect((await a.packages.readLocal('p'))?.doc).toEqual(local(2))
    // Rewritten in the database behind every handle's back (a restore): a new stamp, so read anew.
    await sql(url, "UPDATE sinopia_documents SET body = $1, stamp = nextval('sinopia_stamps') WHERE name = 'p' AND kind = 'local'", [Buffer.from(JSON.stringify(local(7)))])
    expect((await a.packages.readLocal('p'))?.doc.revision).toBe(7)
    await b.quarantine.document('p', 'local')
    expect(await a.packages.readLocal('p')).toBeNull()
    await b.packages.writeLocal('p', local(3))
    expect((await a.packages.readLocal('p'))?.doc.revision).toBe(3)
    await a.packages.writeLocal('p', null)
    expect(await b.packages.readLocal('p')).toBeNull()
  })

  it('probe() throws once the database takes no writes', async () => {
    const store = await open()
    await store.probe()
    const name = new URL(url).pathname.slice(1)
    await sql(url, `ALTER DATABASE ${name} SET default_transaction_read_only = on`)
    // Sessions opened from now on are read-only; end the store's current ones.
    await sql(url, 'SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()', [name])
    await expect(store.probe()).rejects.toThrow(/read-only/)
  })
})

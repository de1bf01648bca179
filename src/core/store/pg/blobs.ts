import { statfs } from 'node:fs/promises'
import { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import type pg from 'pg'
import ssri from 'ssri'
import { errnoCode } from '../../errors.js'
import { SingleFlight } from '../../upstream/single-flight.js'
import { sha512Of } from '../integrity.js'
import { checkEachContent } from '../content-check.js'
import { committedAtOnce } from '../staged-write.js'
import type { BlobContent, BlobEntry, BlobStage, BlobWrite, Blobs, ContentCheck, OpenBlob, RemoveOptions, RemovedEntry, StagedBlob } from '../types.js'
import type { BlobCache } from './blob-cache.js'
import { CHUNK_BYTES, ContentGone, readChunks, uploadChunks } from './chunks.js'
import { memoryWrite } from './memory-write.js'
import type { PgQuarantine } from './quarantine.js'
import { NOW_MS, transaction } from './transaction.js'

interface StoredEntry {
  integrity: string
  size: number
  content_id: string
}

/**
 * Tarballs in the database (schema.ts: content, chunks, entries), served from this instance's
 * disk copy (blob-cache.ts). A small write goes from memory into the database (see write); a
 * larger one streams into the verified cache writer first (hashed as it arrives, checked
 * against `expected` and `size`, read back from disk), then goes into the database in one
 * transaction that hashes the rows it sends again before it commits: nothing of a failed or
 * abandoned write is ever visible, and nothing is kept of it.
 * A read asks the database for the key's entry and content (so a removal by any instance
 * counts at once), then serves the disk copy, filling it from the chunks when missing.
 */
export class PgBlobs implements Blobs {
  private readonly fills = new SingleFlight<boolean>()

  constructor(
    private readonly pool: pg.Pool,
    private readonly root: string,
    private readonly cache: BlobCache,
    private readonly quarantined: PgQuarantine,
  ) {}

  async open(integrity: string | undefined, key: string): Promise<OpenBlob | null> {
    const wanted = sha512Of(integrity)
    const { rows } = await this.pool.query<StoredEntry>(
      `SELECT e.integrity, e.size::float8 AS size, c.id AS content_id
       FROM sinopia_blob_entries e JOIN sinopia_blob_content c USING (integrity) WHERE e.key = $1`,
      [key],
    )
    const entry = rows[0]
    if (!entry || (wanted !== null && entry.integrity !== wanted)) return null
    let handle = await this.cache.open(entry.integrity, entry.size)
    if (!handle) {
      if (!(await this.fills.run(entry.integrity, () => this.fill(entry)))) return null
      handle = await this.cache.open(entry.integrity, entry.size)
      if (!handle) return null
    }
    return { handle, size: entry.size, integrity: entry.integrity }
  }

  async has(integrity: string | undefined, key: string): Promise<boolean> {
    const blob = await this.open(integrity, key)
    if (!blob) return false
    await blob.handle.close()
    return true
  }

  /**
   * A blob of known size that fits in one chunk (a published tarball, most fetched ones) is
   * hashed in memory and goes into the database in one statement (commitOne): no disk copy, no
   * transaction of several round trips, which a publish would wait for under its package's
   * lock. Its disk copy is made by the first read, as on any instance that did not write it.
   */
  write(key: string, expected: string, size?: number): BlobWrite {
    return committedAtOnce(this.stage(key, expected, size))
  }

  /**
   * Nothing goes into the database before commit: a small blob waits in memory, a larger one as
   * its verified disk copy, kept from eviction until commit or discard. So discard drops only
   * what this instance holds, and a crash between the two leaves nothing in the database.
   */
  stage(key: string, expected: string, size?: number): BlobStage {
    if (size !== undefined && size <= CHUNK_BYTES) {
      const inMemory = memoryWrite(expected, size)
      const done = inMemory.done.then(({ bytes, ...stored }): StagedBlob => ({
        ...stored,
        commit: () => this.commitOne(key, stored, bytes),
        discard: () => Promise.resolve(),
      }))
      done.catch(() => undefined)
      return { stream: inMemory.stream, done }
    }
    const cached = this.cache.write(expected, size)
    const done = cached.done.then((stored): StagedBlob => {
      const unpin = this.cache.pin(stored.integrity)
      // The copy on disk is fine, but it stands for nothing the database holds, unless another write still needs it.
      const drop = () => (this.cache.pinned(stored.integrity) ? Promise.resolve() : this.cache.remove(stored.integrity).catch(() => undefined))
      return {
        ...stored,
        commit: async () => {
          try {
            await this.cache.sending(stored.integrity, stored.size, () => this.commit(key, stored))
          } catch (error) {
            unpin()
            await drop()
            throw error
          } finally {
            unpin()
          }
        },
        discard: async () => {
          unpin()
          await drop()
        },
      }
    })
    done.catch(() => undefined)
    return { stream: cached.stream, done }
  }

  /** The copy on disk is what goes in: the write hashed it as it lies there. */
  async assertRoom(size: number | undefined): Promise<void> {
    if (size === undefined) return
    const fs = await statfs(this.cache.dir).catch(() => null)
    const free = fs ? fs.bavail * fs.bsize : Infinity
    if (free < size) {
      throw Object.assign(new Error(`ENOSPC: ${size} bytes do not fit in the ${free} bytes free for the blob cache ${this.cache.dir}`), { code: 'ENOSPC' })
    }
  }

  /** Re-hashes the database's bytes: they are the record; a disk copy is only a copy of them. */
  async verify(sha512Integrity: string, integrity: string): Promise<'ok' | 'mismatch' | 'missing'> {
    const content = await this.contentRow(sha512Integrity)
    if (!content) return 'missing'
    try {
      await ssri.checkStream(Readable.from(readChunks(this.pool, content.id, content.size)), integrity)
      return 'ok'
    } catch (error) {
      const code = errnoCode(error)
      if (code === 'EINTEGRITY' || code === 'EBADSIZE') return 'mismatch'
      if (error instanceof ContentGone) return 'missing'
      throw error
    }
  }

  /**
   * The entries are read, checked by `still`, and removed only if unchanged since (one
   * statement, matched on key, integrity and time): an entry written again meanwhile stays.
   */
  async remove(keys: readonly string[], options: RemoveOptions): Promise<RemovedEntry[]> {
    if (keys.length === 0) return []
    const { rows: found } = await this.pool.query<BlobEntry>(
      'SELECT key, integrity, size::float8 AS size, time_ms AS time FROM sinopia_blob_entries WHERE key = ANY($1::text[])',
      [keys],
    )
    const chosen = options.still ? found.filter(options.still) : found
    if (chosen.length === 0) return []
    const { rows: removed } = await this.pool.query<BlobEntry>(
      `DELETE FROM sinopia_blob_entries e
        USING unnest($1::text[], $2::text[], $3::float8[]) AS t(key, integrity, time_ms)
        WHERE e.key = t.key AND e.integrity = t.integrity AND e.time_ms = t.time_ms
        RETURNING e.key, e.integrity, e.size::float8 AS size, e.time_ms AS time`,
      [chosen.map((e) => e.key), chosen.map((e) => e.integrity), chosen.map((e) => e.time)],
    )
    const out: RemovedEntry[] = []
    for (const entry of removed) {
      const contentRemoved = !(await options.inUse(entry.integrity))
      if (contentRemoved) await this.removeContent(entry.integrity)
      out.push({ entry, contentRemoved })
    }
    return out
  }

  async quarantine(sha512Integrity: string): Promise<string | null> {
    const where = await this.quarantined.blob(sha512Integrity)
    await this.cache.remove(sha512Integrity)
    return where
  }

  /** In key order (keyset pages: see byPages), though the interface promises none. */
  eachEntry(): AsyncIterable<BlobEntry> {
    return byPages<BlobEntry>(this.pool, 'SELECT key, integrity, size::float8 AS size, time_ms AS time FROM sinopia_blob_entries', 'key', (row) => row.key)
  }

  async entry(key: string): Promise<BlobEntry | null> {
    const { rows } = await this.pool.query<BlobEntry>('SELECT key, integrity, size::float8 AS size, time_ms AS time FROM sinopia_blob_entries WHERE key = $1', [key])
    return rows[0] ?? null
  }

  async dropEntry(key: string): Promise<void> {
    await this.pool.query('DELETE FROM sinopia_blob_entries WHERE key = $1', [key])
  }

  async *content(only?: (integrity: string) => boolean): AsyncGenerator<BlobContent> {
    const rows = byPages<{ integrity: string; size: number; stored_ms: number }>(
      this.pool,
      'SELECT integrity, size::float8 AS size, stored_ms FROM sinopia_blob_content',
      'integrity',
      (row) => row.integrity,
    )
    for await (const row of rows) {
      if (!only || only(row.integrity)) yield { integrity: row.integrity, size: row.size, mtimeMs: row.stored_ms, location: this.where(row.integrity) }
    }
  }

  /** A few re-hashed at once: each is a few round trips to the database (no helper threads). */
  checkContent(): AsyncIterable<ContentCheck> {
    return checkEachContent(this)
  }

  async hasContent(sha512Integrity: string): Promise<boolean> {
    return (await this.contentRow(sha512Integrity)) !== null
  }

  async removeContent(sha512Integrity: string): Promise<void> {
    await transaction(this.pool, `blob:${sha512Integrity}`, async (client) => {
      const { rows } = await client.query<{ id: string }>('DELETE FROM sinopia_blob_content WHERE integrity = $1 RETURNING id', [sha512Integrity])
      if (rows[0]) await client.query('DELETE FROM sinopia_blob_chunks WHERE content_id = $1', [rows[0].id])
    })
    await this.cache.remove(sha512Integrity)
  }

  where(sha512Integrity: string): string {
    return `${this.root}#blob/${sha512Integrity}`
  }

  async totals(): Promise<{ blobs: number; bytes: number }> {
    const { rows } = await this.pool.query<{ blobs: number; bytes: number }>(
      'SELECT count(*)::float8 AS blobs, coalesce(sum(size), 0)::float8 AS bytes FROM sinopia_blob_content',
    )
    return rows[0] as { blobs: number; bytes: number }
  }

  /** The count of the rows (totals() reads only here). */
  async countHint(): Promise<number> {
    return (await this.totals()).blobs
  }

  /** totals() already counts the rows: there is nothing kept that could drift. */
  recount(): Promise<{ blobs: number; bytes: number }> {
    return this.totals()
  }

  private async contentRow(sha512Integrity: string): Promise<{ id: string; size: number } | null> {
    const { rows } = await this.pool.query<{ id: string; size: number }>('SELECT id, size::float8 AS size FROM sinopia_blob_content WHERE integrity = $1', [sha512Integrity])
    return rows[0] ?? null
  }

  /**
   * Puts a verified disk copy into the database with its entry, in one transaction holding the
   * content's advisory lock (two writers of the same bytes store them once). Content already
   * there is kept: it was verified when it went in, and bad content is quarantined (gone from
   * the content table) before anything writes it again.
   */
  private async commit(key: string, stored: { integrity: string; size: number }): Promise<void> {
    await transaction(this.pool, `blob:${stored.integrity}`, async (client) => {
      const { rows } = await client.query('SELECT 1 FROM sinopia_blob_content WHERE integrity = $1', [stored.integrity])
      if (rows.length === 0) {
        const { rows: ids } = await client.query<{ id: string }>("SELECT nextval('sinopia_content_ids')::text AS id")
        const id = (ids[0] as { id: string }).id
        const sent = await uploadChunks(client, id, this.cache.path(stored.integrity))
        if (sent.integrity !== stored.integrity || sent.size !== stored.size) {
          throw Object.assign(new Error(`the blob cache copy of ${stored.integrity} changed before it reached the database`), { code: 'EINTEGRITY' })
        }
        await client.query(`INSERT INTO sinopia_blob_content (integrity, id, size, stored_ms) VALUES ($1, $2, $3, ${NOW_MS})`, [stored.integrity, id, stored.size])
      }
      await client.query(
        `INSERT INTO sinopia_blob_entries (key, integrity, size, time_ms) VALUES ($1, $2, $3, ${NOW_MS})
         ON CONFLICT (key) DO UPDATE SET integrity = excluded.integrity, size = excluded.size, time_ms = excluded.time_ms`,
        [key, stored.integrity, stored.size],
      )
    })
  }

  /**
   * commit() for content of one chunk, as one statement (atomic by itself): the content row
   * unless that content is there already (kept, as in commit), its chunk with it, and the entry.
   * A concurrent writer of the same content waits on the primary key and then inserts nothing;
   * a removal or quarantine that commits first leaves no row to conflict with, so the content
   * goes in again under a new id.
   */
  private async commitOne(key: string, stored: { integrity: string; size: number }, bytes: Buffer): Promise<void> {
    await this.pool.query(
      `WITH content AS (
         INSERT INTO sinopia_blob_content (integrity, id, size, stored_ms) VALUES ($1, nextval('sinopia_content_ids'), $3, ${NOW_MS})
         ON CONFLICT (integrity) DO NOTHING
         RETURNING id
       ), chunk AS (
         INSERT INTO sinopia_blob_chunks (content_id, seq, data) SELECT id, 0, $4 FROM content
       )
       INSERT INTO sinopia_blob_entries (key, integrity, size, time_ms) VALUES ($2, $1, $3, ${NOW_MS})
       ON CONFLICT (key) DO UPDATE SET integrity = excluded.integrity, size = excluded.size, time_ms = excluded.time_ms`,
      [stored.integrity, key, stored.size, bytes],
    )
  }

  /**
   * Copies the database's bytes into the disk cache through the verified writer. Bytes that do
   * not hash to their name are bad in the database: quarantined, and the blob counts as absent.
   * Content removed meanwhile is absent too. Says whether the copy is there now.
   */
  private async fill(entry: StoredEntry): Promise<boolean> {
    const write = this.cache.write(entry.integrity, entry.size)
    try {
      await pipeline(Readable.from(readChunks(this.pool, entry.content_id, entry.size)), write.stream)
      await write.done
      return true
    } catch (error) {
      if (error instanceof ContentGone) return false
      const code = errnoCode(error)
      if (code === 'EINTEGRITY' || code === 'EBADSIZE') {
        await this.quarantine(entry.integrity)
        return false
      }
      throw error
    }
  }
}

/** Rows a listing asks for at once: its memory is one page, whatever the table holds. */
export const LIST_PAGE_ROWS = 1000

/**
 * Every row of `select` (a SELECT without WHERE or ORDER BY), a page at a time in `column`
 * order, each page starting after the last value of the one before (keyset paging, on the
 * table's primary key): no transaction or cursor is held open between pages, and rows written
 * or removed meanwhile are seen or not, never twice.
 */
async function* byPages<Row extends object>(pool: pg.Pool, select: string, column: string, keyOf: (row: Row) => string): AsyncGenerator<Row> {
  let after: string | null = null
  for (;;) {
    const page: pg.QueryResult<Row> =
      after === null
        ? await pool.query<Row>(`${select} ORDER BY ${column} LIMIT ${LIST_PAGE_ROWS}`)
        : await pool.query<Row>(`${select} WHERE ${column} > $1 ORDER BY ${column} LIMIT ${LIST_PAGE_ROWS}`, [after])
    yield* page.rows
    const last = page.rows[page.rows.length - 1]
    if (!last || page.rows.length < LIST_PAGE_ROWS) return
    after = keyOf(last)
  }
}

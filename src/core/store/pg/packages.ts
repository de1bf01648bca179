import type pg from 'pg'
import type { DocumentKind, FetchedRecord, LoadedUpstream, LocalDoc, StoredBytes, UpstreamRecord } from '../documents.js'
import { decodeFetched, decodeUpstream, encodeUpstream, parseJson, revOf } from '../records.js'
import { mapLimited } from '../../each-limited.js'
import { scanDocuments, type PackageScan, type ScanDepth, type ScannedDocument } from '../scan.js'
import { LocalChanges, type LocalChange } from '../local-changes.js'
import type { Changes, Packages } from '../types.js'
import type { AdvisoryLocks } from './advisory.js'
import { changeCursor, changesSince, readSnapshot, writeSnapshot } from './changes.js'
import type { FetchTurns } from './fetch-turns.js'
import { LocalDocs } from './local-docs.js'
import type { LocalStamps } from './local-stamps.js'
import type { ChangeFeed } from './notify.js'
import { NOW_MS } from './transaction.js'

/** Packages a scan reads at once: enough round trips in flight to keep the database busy. */
const SCAN_CONCURRENCY = 8

/** The documents whose changes are announced to other instances (the served ones: see stamp()). */
const ANNOUNCED = "kind IN ('upstream', 'local')"

/** The documents whose bodies a scan at each depth reads (see ScanDepth); the others are only sized. */
const SCANNED_BODIES: Record<ScanDepth, DocumentKind[]> = { parse: ['upstream', 'fetched', 'local'], records: ['fetched', 'local'], size: ['local'] }

/**
 * Per-package documents as rows of sinopia_documents (schema.ts), each kept as the very bytes
 * the filesystem store writes (records.ts), so the upstream record is read back undecoded.
 * Every write and removal is one statement that also announces itself (notify.ts).
 */
export class PgPackages implements Packages {
  private readonly localDocs = new LocalDocs()
  private readonly localChanges = new LocalChanges(this)

  constructor(
    private readonly pool: pg.Pool,
    private readonly root: string,
    private readonly locks: AdvisoryLocks,
    private readonly localStamps: LocalStamps,
    private readonly feed: ChangeFeed,
    private readonly turns: FetchTurns,
  ) {}

  watch(listener: (name: string | null) => void): () => void {
    return this.feed.watch(listener)
  }

  async readUpstream(name: string): Promise<LoadedUpstream | null> {
    const stored = await this.readUpstreamBytes(name)
    if (!stored) return null
    return { record: decodeUpstream(stored.raw, stored.where), rev: stored.rev, mtimeMs: stored.mtimeMs, bytes: stored.raw.length }
  }

  async readUpstreamBytes(name: string): Promise<StoredBytes | null> {
    const row = await this.read(name, 'upstream')
    return row && { raw: row.body, rev: revOf(row.body), mtimeMs: row.mtime_ms, where: this.where(name, 'upstream') }
  }

  async writeUpstream(name: string, record: UpstreamRecord): Promise<LoadedUpstream> {
    const raw = encodeUpstream(record)
    const written = await this.writeUpstreamBytes(name, raw)
    return { record, rev: written.rev, mtimeMs: written.mtimeMs, bytes: raw.length }
  }

  async writeUpstreamBytes(name: string, raw: Buffer): Promise<{ rev: string; mtimeMs: number }> {
    const written = await this.write(name, 'upstream', raw)
    return { rev: revOf(raw), mtimeMs: written.mtimeMs }
  }

  async upstreamMtime(name: string): Promise<number | null> {
    return (await this.meta(name, 'upstream'))?.mtime_ms ?? null
  }

  async dropUpstreamDocument(name: string): Promise<void> {
    await this.remove(name, ['upstream'])
  }

  async removeUpstream(name: string): Promise<void> {
    await this.remove(name, ['upstream', 'fetched'])
  }

  async readFetched(name: string): Promise<FetchedRecord | null> {
    const row = await this.read(name, 'fetched')
    return row ? decodeFetched(row.body, this.where(name, 'fetched')) : null
  }

  async writeFetched(name: string, record: FetchedRecord): Promise<void> {
    await this.write(name, 'fetched', Buffer.from(JSON.stringify(record)))
  }

  /**
   * One query either way: the body comes back only when the stamp differs from the one of the
   * document kept in memory (local-docs.ts), so a publish after a publish (the read under the
   * lock, and the search index's read after it) neither moves nor parses the whole document.
   */
  async readLocal(name: string): Promise<{ doc: LocalDoc; mtimeMs: number; stamp: string } | null> {
    const known = this.localDocs.stampOf(name)
    const { rows } = await this.pool.query<{ body: Buffer | null; mtime_ms: number; stamp: string }>(
      `SELECT CASE WHEN stamp = $2::bigint THEN NULL ELSE body END AS body, mtime_ms, stamp
       FROM sinopia_documents WHERE name = $1 AND kind = 'local'`,
      [name, known],
    )
    const row = rows[0]
    if (!row) {
      this.localDocs.delete(name)
      return null
    }
    if (row.body !== null) return this.keep(name, { ...row, body: row.body })
    const doc = this.localDocs.get(name, row.stamp)
    if (doc) return { doc, mtimeMs: row.mtime_ms, stamp: row.stamp }
    // Evicted between the question and the answer: read it whole.
    const whole = await this.read(name, 'local')
    if (!whole) return null
    return this.keep(name, whole)
  }

  /** See local-changes.ts: changes queued behind the lock share one read and one write. */
  changeLocal(name: string, change: LocalChange): Promise<void> {
    return this.localChanges.run(name, change)
  }

  /** Keeps `doc` as the document of the stamp written (local-docs.ts): the caller must not change it afterwards. */
  async writeLocal(name: string, doc: LocalDoc | null): Promise<void> {
    if (doc === null) {
      this.localDocs.delete(name)
      await this.remove(name, ['local'])
      this.localStamps.set(name, null)
      return
    }
    const body = Buffer.from(JSON.stringify(doc))
    this.localDocs.delete(name)
    const written = await this.write(name, 'local', body)
    this.localDocs.set(name, written.stamp, doc, body.length)
    this.localStamps.set(name, written.stamp)
  }

  async localMtime(name: string): Promise<number | null> {
    return (await this.meta(name, 'local'))?.mtime_ms ?? null
  }

  /** From memory (see LocalStamps): no query on the request path. */
  localStamp(name: string): string | null {
    return this.localStamps.get(name)
  }

  async stamp(name: string): Promise<string> {
    const { rows } = await this.pool.query<{ kind: DocumentKind; stamp: string }>(
      `SELECT kind, stamp FROM sinopia_documents WHERE name = $1 AND ${ANNOUNCED}`,
      [name],
    )
    const of = (kind: DocumentKind) => rows.find((row) => row.kind === kind)?.stamp ?? '-'
    return `${of('upstream')}/${of('local')}`
  }

  changeCursor(): Promise<string> {
    return changeCursor(this.pool)
  }

  changesSince(cursor: string): Promise<Changes> {
    return changesSince(this.pool, cursor)
  }

  readSnapshot(): Promise<AsyncIterable<Buffer> | null> {
    return readSnapshot(this.pool)
  }

  writeSnapshot(chunks: Iterable<string>): Promise<void> {
    return writeSnapshot(this.pool, chunks)
  }

  withLock<T>(name: string, fn: () => Promise<T>): Promise<T> {
    return this.locks.withLock(`package:${name}`, fn)
  }

  /** See fetch-turns.ts. */
  withFetchTurn<T>(name: string, waitMs: number, fn: () => Promise<T>): Promise<T> {
    return this.turns.run(name, waitMs, fn)
  }

  /** A package is its rows: with none left there is nothing more to remove. */
  async removeIfEmpty(): Promise<void> {}

  async list(): Promise<string[]> {
    const { rows } = await this.pool.query<{ name: string }>('SELECT DISTINCT name FROM sinopia_documents ORDER BY name')
    return rows.map((row) => row.name)
  }

  async sizes(name: string): Promise<Record<DocumentKind, number>> {
    const { rows } = await this.pool.query<{ kind: DocumentKind; size: number }>(
      'SELECT kind, octet_length(body) AS size FROM sinopia_documents WHERE name = $1',
      [name],
    )
    const sizes: Record<DocumentKind, number> = { upstream: 0, fetched: 0, local: 0 }
    for (const row of rows) sizes[row.kind] = row.size
    return sizes
  }

  /** A package's three documents as a scan takes them, in one query: below 'parse', the bodies a scan only sizes stay in the database. */
  private async documentsForScan(name: string, depth: ScanDepth): Promise<Record<DocumentKind, ScannedDocument | null>> {
    const { rows } = await this.pool.query<{ kind: DocumentKind; body: Buffer | null; bytes: number }>(
      'SELECT kind, CASE WHEN kind = ANY($2::text[]) THEN body END AS body, octet_length(body) AS bytes FROM sinopia_documents WHERE name = $1',
      [name, SCANNED_BODIES[depth]],
    )
    const documents: Record<DocumentKind, ScannedDocument | null> = { upstream: null, fetched: null, local: null }
    for (const row of rows) {
      const bytes = Number(row.bytes)
      // The packument's bytes are checked where they are (see checkUpstream); the records are read as text.
      if (row.kind === 'upstream') documents.upstream = row.body ? { text: null, raw: row.body, bytes } : { text: null, bytes }
      else documents[row.kind] = { text: row.body ? row.body.toString('utf8') : null, bytes }
    }
    return documents
  }

  /** A few packages at once: each is a round trip (see documentsForScan). */
  scan(names: readonly string[], depth: ScanDepth): AsyncIterable<PackageScan> {
    return mapLimited(names, SCAN_CONCURRENCY, async (name) => scanDocuments(name, await this.documentsForScan(name, depth), (kind) => this.where(name, kind)))
  }

  where(name: string, kind: DocumentKind): string {
    return `${this.root}#${kind}/${name}`
  }

  private async read(name: string, kind: DocumentKind): Promise<{ body: Buffer; mtime_ms: number; stamp: string } | null> {
    const { rows } = await this.pool.query<{ body: Buffer; mtime_ms: number; stamp: string }>(
      'SELECT body, mtime_ms, stamp FROM sinopia_documents WHERE name = $1 AND kind = $2',
      [name, kind],
    )
    return rows[0] ?? null
  }

  private keep(name: string, row: { body: Buffer; mtime_ms: number; stamp: string }): { doc: LocalDoc; mtimeMs: number; stamp: string } {
    const doc = parseJson<LocalDoc>(row.body, this.where(name, 'local'))
    this.localDocs.set(name, row.stamp, doc, row.body.length)
    return { doc, mtimeMs: row.mtime_ms, stamp: row.stamp }
  }

  private async meta(name: string, kind: DocumentKind): Promise<{ mtime_ms: number } | null> {
    const { rows } = await this.pool.query<{ mtime_ms: number }>('SELECT mtime_ms FROM sinopia_documents WHERE name = $1 AND kind = $2', [name, kind])
    return rows[0] ?? null
  }

  /** One statement: the row gets a new stamp from the sequence, and the change is announced as it commits. */
  private async write(name: string, kind: DocumentKind, body: Buffer): Promise<{ stamp: string; mtimeMs: number }> {
    const { rows } = await this.pool.query<{ stamp: string; mtime_ms: number }>(
      `WITH written AS (
         INSERT INTO sinopia_documents (name, kind, body, mtime_ms) VALUES ($1, $2, $3, ${NOW_MS})
         ON CONFLICT (name, kind) DO UPDATE SET body = excluded.body, stamp = excluded.stamp, mtime_ms = excluded.mtime_ms
         RETURNING stamp, mtime_ms
       )
       SELECT stamp, mtime_ms, CASE WHEN ${ANNOUNCED.replace('kind', '$2')} THEN ${this.feed.announce('$1::text', '$2::text', 'stamp::text')} END
       FROM written`,
      [name, kind, body],
    )
    const row = rows[0] as { stamp: string; mtime_ms: number }
    return { stamp: row.stamp, mtimeMs: row.mtime_ms }
  }

  private async remove(name: string, kinds: DocumentKind[]): Promise<void> {
    await this.pool.query(
      `WITH removed AS (DELETE FROM sinopia_documents WHERE name = $1 AND kind = ANY($2::text[]) RETURNING kind)
       SELECT ${this.feed.announce('$1::text', 'kind', 'NULL::text')} FROM removed WHERE ${ANNOUNCED}`,
      [name, kinds],
    )
  }
}

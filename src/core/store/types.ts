import type { FileHandle } from 'node:fs/promises'
import type { Writable } from 'node:stream'
import type { PackageScan, ScanDepth } from './scan.js'
import type { LocalChange } from './local-changes.js'
import type { DocumentKind, FetchedRecord, LoadedUpstream, LocalDoc, StoredBytes, TokenRecord, UpstreamRecord, Usage, UserRecord } from './documents.js'

/**
 * The one boundary between sinopia-cli and where things are kept. Registry, server, sync,
 * bundle and maintenance use only these interfaces; an implementation lives in a folder of its
 * own beside them (`fs/`: a storage folder; `pg/`: a PostgreSQL database) and passes the shared suite in
 * test/core/store/contract.ts. A missing thing is `null`; a broken one is an ECORRUPT error;
 * an I/O error is thrown as it is, never taken for an answer.
 */
export interface Store {
  /** Where it is kept (a folder, or a database URL without its password): for messages and reports only. */
  root: string
  blobs: Blobs
  packages: Packages
  tokens: TokenRecords
  /** Users with their password hashes, when the config keeps them here (`auth.store`) rather than in an htpasswd file. */
  users: UserRecords
  usage: UsageRecords
  quarantine: Quarantine
  /** Throws the write's error (EROFS, ENOSPC, ...) when the store takes no writes now. */
  probe(): Promise<void>
  /** Ends what the store holds open (database sessions); it is not used afterwards. */
  close(): Promise<void>
}

export interface OpenBlob {
  handle: FileHandle
  size: number
  /** The sha512 integrity the blob is stored under. */
  integrity: string
}

export interface BlobWrite {
  /** Write the bytes here, then end() it. Destroy it to abandon the write. */
  stream: Writable
  /** Resolves once the blob is verified and visible; rejects (EINTEGRITY, EBADSIZE, ...) otherwise. */
  done: Promise<{ integrity: string; size: number }>
}

/** Content stored by Blobs.stage and served under no key yet. */
export interface StagedBlob {
  /** The sha512 integrity the content is stored under. */
  integrity: string
  size: number
  /**
   * Points the stage's key at the content, from then on served (call under the key's package
   * lock). Once only; never after discard.
   */
  commit(): Promise<void>
  /**
   * Drops what the stage stored, unless it was there before or `inUse(integrity)` says something
   * refers to it (call under the package lock). Never after commit.
   */
  discard(inUse: (integrity: string) => boolean | Promise<boolean>): Promise<void>
}

/** A blob being staged (Blobs.stage): write the bytes to `stream`, then end() it, as with BlobWrite. */
export interface BlobStage {
  stream: Writable
  /** Resolves once the bytes are verified and durable, served under no key yet; rejects as BlobWrite's. */
  done: Promise<StagedBlob>
}

/** One live index entry: the key a blob is served under and the content it points at. */
export interface BlobEntry {
  key: string
  /** The sha512 integrity of the content it points at. */
  integrity: string
  size: number
  /** ms since the epoch when the entry was written (the tarball was fetched or published). */
  time: number
}

export interface RemoveOptions {
  inUse: (integrity: string) => boolean | Promise<boolean>
  still?: (entry: BlobEntry) => boolean
}

export interface RemovedEntry {
  entry: BlobEntry
  contentRemoved: boolean
}

/** One stored content, whatever keys point at it. */
export interface BlobContent {
  /** Its sha512 integrity: the name it is stored under. */
  integrity: string
  size: number
  /** When it was stored; younger content may be a write whose entry is still to come. */
  mtimeMs: number
  /** Where it is (a file path): for reports. */
  location: string
}

/** What Blobs.checkContent found of one stored content. */
export type ContentCheck =
  /** Whether its bytes (`size` of them) hash to the digest it is stored under. */
  | { integrity: string; location: string; size: number; result: 'ok' | 'mismatch' }
  /** A read error (EIO, ...): it says nothing about the bytes. */
  | { integrity: string; location: string; result: 'unreadable'; code: string }

/**
 * Tarballs: content addressed by sha512, served only through the key they were stored for
 * (see keys.ts), so bytes published under one name are never served under another.
 */
export interface Blobs {
  /**
   * The blob stored under `key` when its sha512 is the one `integrity` names (any, when it has
   * none) and it is intact as far as a cheap check tells; else null (a bad one is quarantined).
   */
  open(integrity: string | undefined, key: string): Promise<OpenBlob | null>
  has(integrity: string | undefined, key: string): Promise<boolean>
  /** Starts storing a blob that must hash to `expected` (and be `size` bytes, when known). */
  write(key: string, expected: string, size?: number): BlobWrite
  /**
   * write() in two steps: the bytes are verified and made durable first, with no key serving
   * them (a publish does this before it takes the package's lock, so the lock covers only the
   * document), then the caller commits or discards. Content a crash leaves between the steps is
   * an orphan: no entry refers to it, and prune removes it once past its grace.
   */
  stage(key: string, expected: string, size?: number): BlobStage
  /** Fails with ENOSPC when `size` bytes cannot be stored now. */
  assertRoom(size: number | undefined): Promise<void>
  /** Re-hashes stored content against `integrity`; read errors (EIO, ...) are thrown, never a 'mismatch'. */
  verify(sha512Integrity: string, integrity: string): Promise<'ok' | 'mismatch' | 'missing'>
  /**
   * Removes the entries of `keys` that are there and that `still(entry)` accepts (all, without
   * it: the check and the removal are one step, so what is removed is what was checked), then
   * the content of each unless `inUse(integrity)` says something else still refers to the bytes
   * (asked once per removed entry, in turn). Returns the removed entries, each saying whether
   * its content went. Keys of one package go together in one step of the folder store (prune
   * removes a package's tarballs at once).
   */
  remove(keys: readonly string[], options: RemoveOptions): Promise<RemovedEntry[]>
  /** Moves bad content aside (see Quarantine); it then counts as absent. */
  quarantine(sha512Integrity: string): Promise<string | null>
  /**
   * Every live entry, streamed: in no promised order, and never held as a list, so a caller that
   * keeps only what it needs stays bounded whatever the store holds. An entry written or removed
   * during the walk may or may not be seen; every entry present throughout is seen exactly once.
   */
  eachEntry(): AsyncIterable<BlobEntry>
  entry(key: string): Promise<BlobEntry | null>
  /** Drops an entry whose content is gone, so the tarball is fetched again; the content is not touched. */
  dropEntry(key: string): Promise<void>
  /**
   * Every stored content, in no promised order; with `only`, just the contents whose integrity
   * it accepts, asked before anything else is read of them (prune's orphans: a million contents
   * stat-ed to find a few would be most of its time).
   */
  content(only?: (integrity: string) => boolean): AsyncIterable<BlobContent>
  /**
   * Every stored content re-hashed against the digest it is stored under, streamed like
   * content(): verify's walk, in as few steps per content as the store can take. Content removed
   * during the walk is left out. A store that checks on helper threads starts them only once
   * `helpersAfter` settles, if given (verify: when its index walk's own thread is done, so that
   * fewer threads hold memory at once).
   */
  checkContent(options?: { helpersAfter?: Promise<unknown> }): AsyncIterable<ContentCheck>
  hasContent(sha512Integrity: string): Promise<boolean>
  /** Removes content no entry refers to (prune's orphans). */
  removeContent(sha512Integrity: string): Promise<void>
  /** Where content is kept (a file path): for messages. */
  where(sha512Integrity: string): string
  /**
   * How many contents are stored and their total size, without walking them (a maintained count:
   * fs keeps it in a file, see fs/totals.ts, which a crash can leave off by the writes in flight).
   */
  totals(): Promise<{ blobs: number; bytes: number }>
  /**
   * How many contents are stored, when that is known without counting them (0 when it is not):
   * a hint for sizing what is kept per content. Reads only, unlike totals() on a folder store
   * whose count file is missing.
   */
  countHint(): Promise<number>
  /** Counts every stored content again and keeps that as the totals (verify --fix: corrects drift). */
  recount(): Promise<{ blobs: number; bytes: number }>
}

/** A document as a scan reads it (scan.ts): its text and its stored size in bytes (what sizes() tells). */
export interface StoredText {
  text: string
  bytes: number
}

/** What Packages.changesSince found. */
export interface Changes {
  /** Each changed package once; null: anything may have changed. */
  names: string[] | null
  cursor: string
}

/** Per-package documents (see DocumentKind). Writes happen only inside `withLock(name)`. */
export interface Packages {
  readUpstream(name: string): Promise<LoadedUpstream | null>
  /** The stored record undecoded (records.ts decodes it), so a big one can be parsed off the event loop. */
  readUpstreamBytes(name: string): Promise<StoredBytes | null>
  /** Returns what readUpstream would, without reading it back. */
  writeUpstream(name: string, record: UpstreamRecord): Promise<LoadedUpstream>
  /** `raw`: a record encoded by records.ts (encodeUpstream). */
  writeUpstreamBytes(name: string, raw: Buffer): Promise<{ rev: string; mtimeMs: number }>
  upstreamMtime(name: string): Promise<number | null>
  /** Removes the cached packument but keeps the fetched record (the name comes from an uplink). */
  dropUpstreamDocument(name: string): Promise<void>
  /** Removes the cached uplink copy and its fetched record. */
  removeUpstream(name: string): Promise<void>
  readFetched(name: string): Promise<FetchedRecord | null>
  writeFetched(name: string, record: FetchedRecord): Promise<void>
  /** The document and the stamp of the very version read; the document may be shared with other readers: never change it. */
  readLocal(name: string): Promise<{ doc: LocalDoc; mtimeMs: number; stamp: string } | null>
  /** `null` removes what was published here. The store may keep `doc` (as the next read's answer): never change it afterwards. */
  writeLocal(name: string, doc: LocalDoc | null): Promise<void>
  /**
   * Read-modify-write of the local document under the package's lock: `change` gets a copy of
   * the document (null: none) and returns the next one (null removes it), whose revision is set
   * to the one before plus one; a change that throws changes nothing, and its error is thrown
   * here. Concurrent changes of one package may be written together (see local-changes.ts):
   * each still runs as if alone under the lock, in call order, and resolves once its document
   * is durable.
   */
  changeLocal(name: string, change: LocalChange): Promise<void>
  localMtime(name: string): Promise<number | null>
  /** Changes on every write of the local document by any process; null when there is none. Synchronous: it runs on every request. */
  localStamp(name: string): string | null
  /** Changes whenever the served documents (upstream, local) are written or removed, by any process. */
  stamp(name: string): Promise<string>
  /**
   * Calls `listener` with a package's name after another process or host changed its served
   * documents (upstream, local), as soon as the store learns of it; `null` when changes may have
   * been missed, so anything may have changed. A store that cannot tell cheaply (a folder: its
   * readers check stamps instead) never calls it. Returns the function that stops the calls.
   */
  watch(listener: (name: string | null) => void): () => void
  /**
   * Where the change feed is now: changesSince(it) later names every package whose served
   * documents (upstream, local) were written or removed after this call, by any process.
   */
  changeCursor(): Promise<string>
  /**
   * The packages changed since `cursor` (from changeCursor or an earlier call), each once, and
   * the cursor to ask from next. A name may come again for a write already reported (one that
   * was in flight at the last call), never be left out. `names: null` when the feed cannot tell
   * (a cursor from before the feed was compacted past it, or of another store): anything may
   * have changed.
   */
  changesSince(cursor: string): Promise<Changes>
  /**
   * The snapshot a reader of every package keeps to start quickly (the search index's summaries
   * and the feed cursor they reflect): derived data, rebuilt when lost, streamed because it
   * grows with the store. null when none was written.
   */
  readSnapshot(): Promise<AsyncIterable<Buffer> | null>
  /** Replaces the snapshot; readers see the old one or the new one whole. */
  writeSnapshot(chunks: Iterable<string>): Promise<void>
  /** Runs `fn` holding this package's lock, in this process and across processes. */
  withLock<T>(name: string, fn: () => Promise<T>): Promise<T>
  /**
   * Runs `fn` (an uplink fetch of `name` that stores what it gets) as the only one across
   * processes when the store can arrange that cheaply: it first waits, up to `waitMs`, for such a
   * run elsewhere to end, so `fn` finds that run's copy in the store instead of asking the uplink.
   * Past `waitMs`, or when the store cannot tell, `fn` runs all the same: this saves uplink
   * requests and guards nothing (writes still take `withLock`). A run in this process never waits for
   * another in this process (callers join those in memory). A folder runs `fn` at once.
   */
  withFetchTurn<T>(name: string, waitMs: number, fn: () => Promise<T>): Promise<T>
  /** Drops what is left of a package with no documents (call after its lock is released). */
  removeIfEmpty(name: string): Promise<void>
  /** Names of every package with anything stored, sorted. */
  list(): Promise<string[]>
  /** Stored bytes of each document (0: none). */
  sizes(name: string): Promise<Record<DocumentKind, number>>
  /**
   * The scan of each listed package (scan.ts), as each is ready, in no promised order: every
   * document of the store read and checked (`depth` 'parse'), the cached packument only sized
   * ('records'), or both uplink documents only sized ('size'), with as much of the machine as
   * the store can use. For maintenance; a package gone meanwhile scans as one without
   * documents. The records are read as text (it lives in the JS heap, where a scan's garbage is
   * cheap, rather than 100,000 buffers outside it); the packument, at 'parse', as bytes, which
   * are checked where they are (see checkUpstream) and never decoded whole.
   */
  scan(names: readonly string[], depth: ScanDepth): AsyncIterable<PackageScan>
  /** Where a document is kept (a file path): for reports. */
  where(name: string, kind: DocumentKind): string
}

/** Login and API tokens, shared by every process on the store. */
export interface TokenRecords {
  /** Every record by key; read on every authenticated request, so cached until the stored list changes. */
  read(): Promise<ReadonlyMap<string, TokenRecord>>
  /** Read-modify-write under a lock shared by every process on the store. */
  modify(change: (records: TokenRecord[]) => TokenRecord[]): Promise<void>
}

/**
 * Users and their password hashes. Each change is one atomic step across every process and
 * host on the store, so two instances adding one name at once give one 'added' and one 'exists'.
 */
export interface UserRecords {
  /** Every user by name; read on every authenticated request, so cached until the stored users change. */
  read(): Promise<ReadonlyMap<string, UserRecord>>
  /** Adds a user unless the name is taken ('exists') or `limit` users are kept already ('full'; none when not given). */
  add(record: UserRecord, limit?: number): Promise<'added' | 'exists' | 'full'>
  /** Replaces a user's hash; false when there is no such user. */
  setHash(name: string, hash: string): Promise<boolean>
  /** false when there was no such user. */
  remove(name: string): Promise<boolean>
  /** Where they are kept (a file path, or the database without its password): for messages. */
  where(): string
}

/** When each blob key was last served: only a recency hint for prune, losing it loses nothing. */
export interface UsageRecords {
  /** Empty when none was kept; ECORRUPT when what was kept does not parse. */
  read(): Promise<Usage>
  /** Read-modify-write under a lock shared by every process; a broken record starts over empty. */
  update(change: (usage: Usage) => void): Promise<void>
  /** Forgets every record (verify --fix of a broken one). */
  clear(): Promise<void>
  /** Where the records are kept (a file path): for reports. */
  where(): string
}

/** What was moved aside: kept for inspection, never read again, never deleted by sinopia-cli. */
export interface Quarantine {
  /** Moves a package document aside (inside the package's lock). Returns where it went; null: it was gone. */
  document(name: string, kind: DocumentKind): Promise<string | null>
  /** Where everything quarantined is now, sorted. */
  list(): Promise<string[]>
}

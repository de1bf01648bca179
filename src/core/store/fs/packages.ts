import { statSync, type Stats } from 'node:fs'
import { open, readFile, readdir, rename, rm, rmdir, stat, utimes } from 'node:fs/promises'
import { errnoCode } from '../../errors.js'
import { writeFileAtomic } from '../../fs/atomic.js'
import { inDir } from '../../fs/dirs.js'
import type { ChangeJournal } from './journal.js'
import { documentFile, fetchedFile, localFile, lockFile, packageDir, packagesDir, snapshotFile, upstreamFile } from './layout.js'
import type { KeyedLock } from '../../fs/lock.js'
import { fileStamp, mtimeOrNull, openOrNull, stampOf, statOrNull } from '../../fs/stat.js'
import type { DocumentKind, FetchedRecord, LoadedUpstream, LocalDoc, StoredBytes, UpstreamRecord } from '../documents.js'
import { decodeFetched, decodeUpstream, encodeUpstream, parseJson, revOf } from '../records.js'
import type { PackageScan, ScanDepth } from '../scan.js'
import { LocalChanges, type LocalChange } from '../local-changes.js'
import type { Changes, Packages } from '../types.js'
import { walkOnThread } from './walk-thread.js'

/** Characters of the snapshot written at once. */
const SNAPSHOT_BATCH = 256 * 1024

/** Per-package metadata files. A missing file is `null`; a broken one is an ECORRUPT error. */
export class PackageStore implements Packages {
  private readonly localChanges = new LocalChanges(this)

  constructor(
    private readonly root: string,
    private readonly lock: KeyedLock,
    private readonly journal: ChangeJournal,
  ) {}

  upstreamMtime(name: string): Promise<number | null> {
    return mtimeOrNull(upstreamFile(this.root, name))
  }

  async readUpstream(name: string): Promise<LoadedUpstream | null> {
    const stored = await this.readUpstreamBytes(name)
    if (!stored) return null
    return { record: decodeUpstream(stored.raw, upstreamFile(this.root, name)), rev: stored.rev, mtimeMs: stored.mtimeMs, bytes: stored.raw.length }
  }

  /**
   * The stored record undecoded (see records.ts), for callers that decode it elsewhere: a big
   * document is parsed in the registry's view worker, not on the event loop.
   */
  async readUpstreamBytes(name: string): Promise<StoredBytes | null> {
    const file = upstreamFile(this.root, name)
    const read = await readStamped(file)
    return read && { raw: read.raw, rev: revOf(read.raw), mtimeMs: read.info.mtimeMs, where: file }
  }

  async readFetched(name: string): Promise<FetchedRecord | null> {
    const file = fetchedFile(this.root, name)
    const raw = await readOrNull(file)
    return raw ? decodeFetched(raw, file) : null
  }

  /** Call only inside `withLock(name)`. Returns what readUpstream would, without reading the file back. */
  async writeUpstream(name: string, record: UpstreamRecord): Promise<LoadedUpstream> {
    const raw = encodeUpstream(record)
    const written = await this.writeUpstreamBytes(name, raw)
    return { record, rev: written.rev, mtimeMs: written.mtimeMs, bytes: raw.length }
  }

  /** Call only inside `withLock(name)`. `raw` is a record encoded by records.ts (encodeUpstream). */
  async writeUpstreamBytes(name: string, raw: Buffer): Promise<{ rev: string; mtimeMs: number }> {
    const file = upstreamFile(this.root, name)
    await inDir(packageDir(this.root, name), () => writeFileAtomic(file, raw))
    const mtimeMs = (await stat(file)).mtimeMs
    await this.journal.note(name)
    return { rev: revOf(raw), mtimeMs }
  }

  /** Call only inside `withLock(name)`. */
  async writeFetched(name: string, record: FetchedRecord): Promise<void> {
    await inDir(packageDir(this.root, name), () => writeFileAtomic(fetchedFile(this.root, name), JSON.stringify(record)))
  }

  /** Changes whenever the package's served documents (upstream.json, local.json) are written or removed, by any process. */
  async stamp(name: string): Promise<string> {
    const [upstream, local] = await Promise.all([fileStamp(upstreamFile(this.root, name)), fileStamp(localFile(this.root, name))])
    return `${upstream}/${local}`
  }

  localMtime(name: string): Promise<number | null> {
    return mtimeOrNull(localFile(this.root, name))
  }

  /**
   * local.json's stampOf, or null when there is none: it changes on every write by any process
   * (each is a rename, so a new inode), so readers check it on every read. Synchronous on
   * purpose: it runs on every packument and tarball request, and a stat of a cached directory
   * entry costs ~3 µs of CPU inline where the thread pool's round trip costs ~20 µs (measured);
   * a missing file costs no exception either.
   */
  /** A folder announces nothing: readers compare stamps (localStamp, stamp) instead. */
  watch(): () => void {
    return () => undefined
  }

  localStamp(name: string): string | null {
    const info = statSync(localFile(this.root, name), { throwIfNoEntry: false })
    return info ? stampOf(info) : null
  }

  /** The document and the stamp of the very file read (stat through the open handle, so the two agree). */
  async readLocal(name: string): Promise<{ doc: LocalDoc; mtimeMs: number; stamp: string } | null> {
    const file = localFile(this.root, name)
    const read = await readStamped(file)
    return read && { doc: parseJson<LocalDoc>(read.raw, file), mtimeMs: read.info.mtimeMs, stamp: stampOf(read.info) }
  }

  /** Removes a package's folder if nothing is left in it (call after its lock is released). */
  async removeIfEmpty(name: string): Promise<void> {
    await rmdir(packageDir(this.root, name)).catch(() => undefined)
  }

  /**
   * Call only inside `withLock(name)`. Removes the cached packument but keeps fetched.json,
   * the record that the name comes from the uplink (prune: see Publisher.knownUpstream).
   */
  async dropUpstreamDocument(name: string): Promise<void> {
    await rm(upstreamFile(this.root, name), { force: true })
    await this.journal.note(name)
  }

  /** Call only inside `withLock(name)`. Removes the cached uplink copy. */
  async removeUpstream(name: string): Promise<void> {
    await this.dropUpstreamDocument(name)
    await rm(fetchedFile(this.root, name), { force: true })
  }

  /** See local-changes.ts: changes queued behind the lock share one read and one write. */
  changeLocal(name: string, change: LocalChange): Promise<void> {
    return this.localChanges.run(name, change)
  }

  /** Call only inside `withLock(name)`. `null` removes what was published here. */
  async writeLocal(name: string, doc: LocalDoc | null): Promise<void> {
    if (doc === null) {
      await rm(localFile(this.root, name), { force: true })
      await this.journal.note(name)
      return
    }
    const file = localFile(this.root, name)
    const before = await statOrNull(file)
    await inDir(packageDir(this.root, name), () => writeFileAtomic(file, JSON.stringify(doc)))
    // Each write's mtime is later than the one before (the lock orders them), so no two versions
    // of the file share a stamp: a coarse clock can give two writes one mtime, and a freed inode
    // can be given to the next file.
    const after = await stat(file)
    if (before && after.mtimeMs <= before.mtimeMs) await utimes(file, after.atime, (before.mtimeMs + 1) / 1000)
    await this.journal.note(name)
  }

  changeCursor(): Promise<string> {
    return this.journal.cursor()
  }

  changesSince(cursor: string): Promise<Changes> {
    return this.journal.changesSince(cursor)
  }

  async readSnapshot(): Promise<AsyncIterable<Buffer> | null> {
    try {
      const handle = await open(snapshotFile(this.root), 'r')
      return handle.createReadStream()
    } catch (error) {
      if (errnoCode(error) === 'ENOENT') return null
      throw error
    }
  }

  /** Written in pieces to a temp file renamed into place: never held whole in memory. */
  async writeSnapshot(chunks: Iterable<string>): Promise<void> {
    const file = snapshotFile(this.root)
    const tmp = `${file}.${process.pid}.${Date.now()}.tmp`
    try {
      const handle = await open(tmp, 'w')
      try {
        let batch = ''
        for (const chunk of chunks) {
          batch += chunk
          if (batch.length >= SNAPSHOT_BATCH) {
            await handle.write(batch)
            batch = ''
          }
        }
        await handle.write(batch)
        await handle.sync()
      } finally {
        await handle.close()
      }
      await rename(tmp, file)
    } finally {
      await rm(tmp, { force: true })
    }
  }

  /** Runs `fn` holding this package's lock (in-process and cross-process). */
  withLock<T>(name: string, fn: () => Promise<T>): Promise<T> {
    return this.lock.withLock(lockFile(this.root, name), fn)
  }

  /**
   * No turn across processes: each process fetches a cold package once (its callers join in
   * memory). The folder's lock files would do it, but a holder killed mid-fetch leaves its lock
   * to go stale (5 s), and every name asked for would leave a package folder behind.
   */
  withFetchTurn<T>(_name: string, _waitMs: number, fn: () => Promise<T>): Promise<T> {
    return fn()
  }

  async sizes(name: string): Promise<Record<DocumentKind, number>> {
    const sizeOf = async (kind: DocumentKind) => (await statOrNull(this.where(name, kind)))?.size ?? 0
    const [upstream, fetched, local] = await Promise.all([sizeOf('upstream'), sizeOf('fetched'), sizeOf('local')])
    return { upstream, fetched, local }
  }

  /**
   * On a worker thread (walk-thread.ts), beside the caller's own part. One is enough at every
   * depth: at 'parse' the packuments are checked on their skeletons (see checkUpstream), not
   * parsed, and at 1.09M tarballs verify took the same 34 s with one thread as with two, and
   * 14 MiB less.
   */
  scan(names: readonly string[], depth: ScanDepth): AsyncIterable<PackageScan> {
    return walkOnThread<PackageScan>({ walk: 'packages', root: this.root, names, depth })
  }

  where(name: string, kind: DocumentKind): string {
    return documentFile(this.root, name, kind)
  }

  /** Names of every package that has a folder in the store. */
  async list(): Promise<string[]> {
    try {
      const entries = await readdir(packagesDir(this.root), { withFileTypes: true })
      return entries.filter((e) => e.isDirectory()).map((e) => decodeURIComponent(e.name)).sort()
    } catch (error) {
      if (errnoCode(error) === 'ENOENT') return []
      throw error
    }
  }
}

/**
 * A file's bytes and the stats of the very file read (stat through the open handle, so the two
 * agree even when a rename replaces it meanwhile); null when it does not exist.
 */
async function readStamped(file: string): Promise<{ raw: Buffer; info: Stats } | null> {
  const handle = await openOrNull(file)
  if (!handle) return null
  try {
    const info = await handle.stat()
    return { raw: await handle.readFile(), info }
  } finally {
    await handle.close()
  }
}

async function readOrNull(file: string): Promise<Buffer | null> {
  try {
    return await readFile(file)
  } catch (error) {
    if (errnoCode(error) === 'ENOENT') return null
    throw error
  }
}

import { statSync } from 'node:fs'
import { open, readFile, readdir, rm, rmdir, stat, utimes, type FileHandle } from 'node:fs/promises'
import { errnoCode } from '../errors.js'
import { writeFileAtomic } from './atomic.js'
import { ensureDir } from './dirs.js'
import { decodeFetched, decodeUpstream, encodeUpstream, parseJson, revOf } from './records.js'
import { fetchedFile, localFile, lockFile, packageDir, packagesDir, upstreamFile } from './layout.js'
import type { KeyedLock } from './lock.js'
import { stampOf, statOrNull } from './stat.js'
import { fileStamp, mtimeOrNull } from './watched-file.js'

/** A packument as the registry API shapes it; only the parts the core reads are typed. */
export interface Packument {
  name: string
  'dist-tags'?: Record<string, string>
  versions: Record<string, Manifest>
  time?: Record<string, string>
  [key: string]: unknown
}

export interface Manifest {
  name: string
  version: string
  dist?: { tarball?: string; integrity?: string; shasum?: string; [key: string]: unknown }
  deprecated?: string
  [key: string]: unknown
}

/** The cached upstream packument and what is needed to revalidate it. */
export interface UpstreamRecord {
  uplink: string
  /** The uplink's URL when the document was fetched: tarball URLs under it are re-based onto the current URL. */
  upstreamUrl: string
  etag?: string
  lastModified?: string
  doc: Packument
}

export interface FetchedRecord {
  uplink: string
  /** ms since the epoch of the last 200 or 304 from the uplink. */
  fetchedAt: number
}

/**
 * What was published here for one package. Versions published here live in `versions`;
 * the rest are overlays on the uplink's versions (dist-tags, deprecations) for packages
 * that are cached from an uplink.
 */
export interface LocalDoc {
  /** `local-only`: the uplink is never asked for this name again; `override`: merged with the uplink's. */
  origin: 'local-only' | 'override'
  versions: Record<string, Manifest>
  /** Tags set here; they win over the uplink's. */
  'dist-tags': Record<string, string>
  /** Uplink tags removed here. */
  removedTags: string[]
  /** Deprecation messages set here on uplink versions ('' undoes the uplink's). */
  deprecated: Record<string, string>
  time: Record<string, string>
  /** Increments on every change: the number in `_rev`. */
  revision: number
  readme?: string
  description?: string
  maintainers?: Array<{ name: string; email?: string }>
  users?: Record<string, boolean>
}

/** A stored document's bytes, as read, with what identifies that version of it. */
export interface StoredBytes {
  raw: Buffer
  /** Content hash (see records.ts revOf). */
  rev: string
  mtimeMs: number
  /** Where it is kept, for error messages. */
  where: string
}

export interface LoadedUpstream {
  record: UpstreamRecord
  /** Content hash of the file: changes exactly when the stored document does. */
  rev: string
  mtimeMs: number
  bytes: number
}

/** Per-package metadata files. A missing file is `null`; a broken one is an ECORRUPT error. */
export class PackageStore {
  constructor(
    private readonly root: string,
    private readonly lock: KeyedLock,
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
    let handle: FileHandle
    try {
      handle = await open(file, 'r')
    } catch (error) {
      if (errnoCode(error) === 'ENOENT') return null
      throw error
    }
    try {
      // Stat through the handle: the mtime belongs to the very bytes read, even across a rename.
      const info = await handle.stat()
      const raw = await handle.readFile()
      return { raw, rev: revOf(raw), mtimeMs: info.mtimeMs, where: file }
    } finally {
      await handle.close()
    }
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
    await ensureDir(packageDir(this.root, name))
    const file = upstreamFile(this.root, name)
    await writeFileAtomic(file, raw)
    return { rev: revOf(raw), mtimeMs: (await stat(file)).mtimeMs }
  }

  /** Call only inside `withLock(name)`. */
  async writeFetched(name: string, record: FetchedRecord): Promise<void> {
    await ensureDir(packageDir(this.root, name))
    await writeFileAtomic(fetchedFile(this.root, name), JSON.stringify(record))
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
  localStamp(name: string): string | null {
    const info = statSync(localFile(this.root, name), { throwIfNoEntry: false })
    return info ? stampOf(info) : null
  }

  /** The document and the stamp of the very file read (stat through the open handle, so the two agree). */
  async readLocal(name: string): Promise<{ doc: LocalDoc; mtimeMs: number; stamp: string } | null> {
    const file = localFile(this.root, name)
    let handle: FileHandle
    try {
      handle = await open(file, 'r')
    } catch (error) {
      if (errnoCode(error) === 'ENOENT') return null
      throw error
    }
    try {
      const info = await handle.stat()
      const raw = await handle.readFile()
      return { doc: parseJson<LocalDoc>(raw, file), mtimeMs: info.mtimeMs, stamp: stampOf(info) }
    } finally {
      await handle.close()
    }
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
  }

  /** Call only inside `withLock(name)`. Removes the cached uplink copy. */
  async removeUpstream(name: string): Promise<void> {
    await this.dropUpstreamDocument(name)
    await rm(fetchedFile(this.root, name), { force: true })
  }

  /** Call only inside `withLock(name)`. `null` removes what was published here. */
  async writeLocal(name: string, doc: LocalDoc | null): Promise<void> {
    if (doc === null) {
      await rm(localFile(this.root, name), { force: true })
      return
    }
    await ensureDir(packageDir(this.root, name))
    const file = localFile(this.root, name)
    const before = await statOrNull(file)
    await writeFileAtomic(file, JSON.stringify(doc))
    // Each write's mtime is later than the one before (the lock orders them), so no two versions
    // of the file share a stamp: a coarse clock can give two writes one mtime, and a freed inode
    // can be given to the next file.
    const after = await stat(file)
    if (before && after.mtimeMs <= before.mtimeMs) await utimes(file, after.atime, (before.mtimeMs + 1) / 1000)
  }

  /** Runs `fn` holding this package's lock (in-process and cross-process). */
  withLock<T>(name: string, fn: () => Promise<T>): Promise<T> {
    return this.lock.withLock(lockFile(this.root, name), fn)
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

async function readOrNull(file: string): Promise<Buffer | null> {
  try {
    return await readFile(file)
  } catch (error) {
    if (errnoCode(error) === 'ENOENT') return null
    throw error
  }
}

import { createReadStream } from 'node:fs'
import { open, rm, statfs, type FileHandle } from 'node:fs/promises'
import path from 'node:path'
import ssri from 'ssri'
import { LRUCache } from 'lru-cache'
import { CACHE_BOUNDS } from '../../cache-bounds.js'
import { errnoCode } from '../../errors.js'
import { merged, startingAfter } from '../../each-limited.js'
import { statOrNull } from '../../fs/stat.js'
import { isOneSha512, sha512Of } from '../integrity.js'
import { committedAtOnce } from '../staged-write.js'
import type { BlobContent, BlobEntry, BlobStage, BlobWrite, Blobs, ContentCheck, OpenBlob, RemoveOptions, RemovedEntry, StagedBlob } from '../types.js'
import { hashHandle, sha512OfFile } from './blob-hash.js'
import { writeBlobFile } from './blob-write.js'
import { claimsLeft, contentShare, listContent } from './listing.js'
import type { FsEntries } from './entries.js'
import { checkContentFiles } from './check-content.js'
import { walkOnThread } from './walk-thread.js'
import type { FsTotals } from './totals.js'
import type { FsQuarantine } from './quarantine.js'

/** What the index records for a key, once the blob's bytes were hashed as they lie on disk. */
interface Entry {
  integrity: string
  size: number
}

/**
 * Tarballs, content-addressed by sha512 (content laid out as cacache lays it, the index kept per
 * package: entries.ts), served only through the index key
 * (`tarball:<name>@<version>`) they were stored for: bytes published under one name are never
 * served under another one whose packument claims the same digest.
 *
 * Writes hash the bytes as they stream into a temp file, fsync, hash the file again as read back,
 * rename it into place and only then add the index entry, marked verified. Reads go straight to
 * the content file (re-hashing every byte on every hit is more than the hot path can afford):
 * a verified entry's size is checked on every open; an entry without the mark (written by an
 * older version, which trusted the bytes it was given) is hashed once on first open and marked.
 * A blob found bad is moved to the quarantine folder, never deleted, and then counts as absent.
 */
export class BlobStore implements Blobs {
  /** Entries remembered in memory, so a hit costs no index read (one is ~200 bytes). */
  private readonly known = new LRUCache<string, Entry>({ max: CACHE_BOUNDS.knownBlobEntries })

  constructor(
    readonly dir: string,
    /** The index: key -> content (public for tests that set an entry's time). */
    readonly entries: FsEntries,
    private readonly quarantined: FsQuarantine,
    private readonly counted: FsTotals,
  ) {}

  /** cacache content path: sha512-<base64> -> content-v2/sha512/ab/cd/<rest of hex digest>. */
  contentPath(sha512Integrity: string): string {
    const hex = ssri.parse(sha512Integrity, { single: true }).hexDigest()
    return path.join(this.dir, 'content-v2', 'sha512', hex.slice(0, 2), hex.slice(2, 4), hex.slice(4))
  }

  /**
   * The blob stored under `key`, when its sha512 is the one `integrity` names (any sha512 when
   * `integrity` has none, e.g. an old sha1-only version), it is on disk with the recorded size
   * and its digest was checked after it reached the disk. Otherwise null (a bad one is
   * quarantined first). I/O errors other than a missing file are thrown.
   */
  async open(integrity: string | undefined, key: string): Promise<OpenBlob | null> {
    const wanted = sha512Of(integrity)
    const found = await this.lookup(key, wanted)
    if (!found) return null
    const { entry, verified } = found
    let handle: FileHandle
    try {
      handle = await open(this.contentPath(entry.integrity), 'r')
    } catch (error) {
      this.known.delete(key)
      if (errnoCode(error) === 'ENOENT') return null
      throw error
    }
    try {
      const stat = await handle.stat()
      if (!stat.isFile()) throw Object.assign(new Error(`EISDIR: ${this.contentPath(entry.integrity)} is not a file`), { code: 'EISDIR' })
      let bad = stat.size !== entry.size
      if (!bad && !verified) {
        const onDisk = await hashHandle(handle)
        bad = onDisk.integrity !== entry.integrity || onDisk.size !== entry.size
        if (!bad) await this.markVerified(key, entry)
      }
      if (bad) {
        await handle.close()
        await this.quarantine(entry.integrity)
        return null
      }
      this.remember(key, entry)
      return { handle, size: stat.size, integrity: entry.integrity }
    } catch (error) {
      await handle.close().catch(() => undefined)
      throw error
    }
  }

  async has(integrity: string | undefined, key: string): Promise<boolean> {
    const blob = await this.open(integrity, key)
    if (!blob) return false
    await blob.handle.close()
    return true
  }

  /**
   * Re-hashes a stored blob against `integrity` (any algorithm it carries). 'mismatch' means the
   * bytes on disk are not those; an error reading them (EIO, ...) is thrown, never taken for one.
   */
  async verify(sha512Integrity: string, integrity: string): Promise<'ok' | 'mismatch' | 'missing'> {
    // The usual question (its own sha512) without a read stream: see sha512OfFile.
    if (isOneSha512(integrity)) {
      const found = await sha512OfFile(this.contentPath(sha512Integrity))
      if (!found) return 'missing'
      return `sha512-${found.digest}` === integrity ? 'ok' : 'mismatch'
    }
    try {
      await ssri.checkStream(createReadStream(this.contentPath(sha512Integrity)), integrity)
      return 'ok'
    } catch (error) {
      const code = errnoCode(error)
      if (code === 'EINTEGRITY' || code === 'EBADSIZE') return 'mismatch'
      if (code === 'ENOENT') return 'missing'
      throw error
    }
  }

  /**
   * Moves bad bytes to `quarantine/blobs/<sha512 hex>.<ms>`, kept for inspection, never read
   * again. Index entries stay: a version published here still shows as missing (verify reports
   * it), one from an uplink is fetched again. Returns where the bytes went (null: already gone).
   */
  async quarantine(sha512Integrity: string): Promise<string | null> {
    this.forgetIntegrity(sha512Integrity)
    const before = await statOrNull(this.contentPath(sha512Integrity))
    const where = await this.quarantined.blob(sha512Integrity, this.contentPath(sha512Integrity))
    if (where && before) await this.counted.change(-1, -before.size)
    return where
  }

  /**
   * The index entries go first, then the content: a process killed in between leaves content
   * that no entry refers to, which the next prune collects as an orphan, rather than an entry
   * pointing at missing content (open() would take that for absent, but verify counts it as a
   * problem, and for a version published here it reads as a lost tarball); orphans are found by
   * walking the content, so none is lost track of. (The removal's line is not fsynced before the
   * content goes: a power cut between the two can still leave such an entry, which verify finds
   * and `verify --fix` drops.) The totals take the batch's change at once.
   */
  async remove(keys: readonly string[], options: RemoveOptions): Promise<RemovedEntry[]> {
    for (const key of keys) this.known.delete(key)
    const removed = await this.entries.remove(keys, options.still)
    const out: RemovedEntry[] = []
    const change = { blobs: 0, bytes: 0 }
    try {
      for (const { key, integrity, size, time } of removed) {
        const entry = { key, integrity, size, time }
        if (await options.inUse(integrity)) {
          out.push({ entry, contentRemoved: false })
          continue
        }
        const freed = await this.dropContent(integrity)
        change.blobs -= freed.blobs
        change.bytes -= freed.bytes
        out.push({ entry, contentRemoved: true })
      }
    } finally {
      if (change.blobs !== 0) await this.counted.change(change.blobs, change.bytes)
    }
    return out
  }

  /**
   * On a worker thread (walk-thread.ts): the 100,000 entries files of a 1M-tarball store are
   * seconds of blocking reads. A second thread sharing the walk saved ~0.3 s of 10 there and
   * cost 35 MiB more.
   */
  eachEntry(): AsyncIterable<BlobEntry> {
    return walkOnThread<BlobEntry>({ walk: 'entries', blobsDir: this.dir })
  }

  async entry(key: string): Promise<BlobEntry | null> {
    const found = await this.entries.get(key)
    return found && { key, integrity: found.integrity, size: found.size, time: found.time }
  }

  async dropEntry(key: string): Promise<void> {
    this.known.delete(key)
    await this.entries.remove([key])
  }

  async *content(only?: (integrity: string) => boolean): AsyncGenerator<BlobContent> {
    for await (const file of listContent(this.dir, only)) yield { integrity: file.integrity, size: file.size, mtimeMs: file.mtimeMs, location: file.path }
  }

  /**
   * In two lanes that claim the top folders as they go (see ContentShare), with blocking reads in
   * slices (check-content.ts): one on the caller's thread, one on a thread of its own, started
   * after `helpersAfter` if the caller's lane has left it anything. Its only caller, verify, has
   * the index walk and the documents' scan on threads of their own meanwhile; a million small
   * files are mostly system calls, and in one lane the hashing was left alone on one core for
   * half of verify (117 s at 1.09M files, the machine's second core idle after the others were done).
   */
  checkContent(options: { helpersAfter?: Promise<unknown> } = {}): AsyncIterable<ContentCheck> {
    const share = contentShare()
    const helper = () => (claimsLeft(share) ? walkOnThread<ContentCheck>({ walk: 'content', blobsDir: this.dir, share }) : null)
    return merged([checkContentFiles(this.dir, share), startingAfter(options.helpersAfter, helper)])
  }

  async hasContent(sha512Integrity: string): Promise<boolean> {
    return (await statOrNull(this.contentPath(sha512Integrity))) !== null
  }

  async removeContent(sha512Integrity: string): Promise<void> {
    const freed = await this.dropContent(sha512Integrity)
    if (freed.blobs > 0) await this.counted.change(-freed.blobs, -freed.bytes)
  }

  /** Removes a content file; says what it freed, for the caller to take off the totals. */
  private async dropContent(sha512Integrity: string): Promise<{ blobs: number; bytes: number }> {
    this.forgetIntegrity(sha512Integrity)
    const before = await statOrNull(this.contentPath(sha512Integrity))
    await rm(this.contentPath(sha512Integrity), { force: true })
    return before ? { blobs: 1, bytes: before.size } : { blobs: 0, bytes: 0 }
  }

  where(sha512Integrity: string): string {
    return this.contentPath(sha512Integrity)
  }

  /** Read from the maintained count (see totals.ts), not by walking the content. */
  totals(): Promise<{ blobs: number; bytes: number }> {
    return this.counted.read()
  }

  recount(): Promise<{ blobs: number; bytes: number }> {
    return this.counted.recount()
  }

  async countHint(): Promise<number> {
    return (await this.counted.peek())?.blobs ?? 0
  }

  /** Merges this process's changes of the totals (the store is closing). */
  close(): Promise<void> {
    return this.counted.flush()
  }

  /** Starts storing a blob that must hash to `expected` (and be `size` bytes, when known). */
  write(key: string, expected: string, size?: number): BlobWrite {
    return committedAtOnce(this.stage(key, expected, size))
  }

  /**
   * The content is written, fsynced, read back and renamed into place (see blob-write.ts); the
   * index entry, the record that the bytes were checked on disk, is written by commit. Content
   * this stage did not find there before is what discard may remove.
   */
  stage(key: string, expected: string, size?: number): BlobStage {
    let created = false
    const { stream, done } = writeBlobFile(path.join(this.dir, 'tmp'), (sha512) => this.contentPath(sha512), expected, size, (written, replaced) => {
      created = replaced === null
      return this.counted.change(replaced === null ? 1 : 0, written - (replaced ?? 0))
    })
    const staged = done.then(
      (stored): StagedBlob => ({
        ...stored,
        commit: async () => {
          await this.entries.put(key, { integrity: stored.integrity, size: stored.size, verified: true })
          this.remember(key, stored)
        },
        discard: async (inUse) => {
          if (!created || (await inUse(stored.integrity))) return
          // Another stage of the same bytes for this key committed meanwhile.
          if ((await this.entries.get(key))?.integrity === stored.integrity) return
          await this.removeContent(stored.integrity)
        },
      }),
    )
    staged.catch(() => undefined)
    return { stream, done: staged }
  }

  /**
   * Fails with ENOSPC when `size` bytes cannot fit on the storage volume now, so a fill that
   * could never be stored is refused before its first byte goes to a client.
   */
  async assertRoom(size: number | undefined): Promise<void> {
    if (size === undefined) return
    const fs = await statfs(this.dir)
    const free = fs.bavail * fs.bsize
    if (free < size) {
      throw Object.assign(new Error(`ENOSPC: ${size} bytes do not fit in the ${free} bytes free on the storage volume`), { code: 'ENOSPC' })
    }
  }

  /** The entry of `key` whose sha512 is `wanted` (any, when null), from memory or the index. */
  private async lookup(key: string, wanted: string | null): Promise<{ entry: Entry; verified: boolean } | null> {
    const cached = this.known.get(key)
    if (cached && (wanted === null || cached.integrity === wanted)) return { entry: cached, verified: true }
    const found = await this.entries.get(key)
    if (!found || (wanted !== null && found.integrity !== wanted)) return null
    return { entry: { integrity: found.integrity, size: found.size }, verified: found.verified }
  }

  private async markVerified(key: string, entry: Entry): Promise<void> {
    try {
      await this.entries.markVerified(key, entry.integrity)
    } catch {
      // A full or read-only disk: the check is remembered in memory and done again after a restart.
    }
  }

  private remember(key: string, entry: Entry): void {
    this.known.set(key, entry)
  }

  /** Forgets every remembered entry of a blob (removed or quarantined): collected first, then dropped. */
  private forgetIntegrity(sha512Integrity: string): void {
    const keys = [...this.known.entries()].filter(([, entry]) => entry.integrity === sha512Integrity).map(([key]) => key)
    for (const key of keys) this.known.delete(key)
  }
}

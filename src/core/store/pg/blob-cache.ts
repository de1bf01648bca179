import { open, readdir, rm, stat, type FileHandle } from 'node:fs/promises'
import path from 'node:path'
import ssri from 'ssri'
import { BLOB_DISK_CACHE_BYTES } from '../../cache-bounds.js'
import { errnoCode } from '../../errors.js'
import { writeBlobFile } from '../fs/blob-write.js'
import { CacheRecency } from './cache-recency.js'

/**
 * This instance's copy of blobs on local disk, so a hot tarball is read from the database once
 * and then served from a file (OpenBlob is a FileHandle). Content-addressed like cacache
 * (sha512-<base64> -> sha512/ab/cd/<rest of the hex digest>): blobs never change, so a copy
 * never goes stale, and it is written only through the verified writer (fs/blob-write.ts:
 * hashed as it arrives, fsynced, read back and hashed again, then renamed into place).
 * The database stays the record: a copy is served only for a key whose entry and content the
 * database still has. Nothing here is ever the only copy, so the folder may be deleted any time.
 *
 * Bounded by `maxBytes` (CacheRecency): a copy counts once a reader has it open (open()) or its
 * write reached the database (sending()), and the least recently used copies are removed past
 * the bound; a reader holding one open keeps reading it, and the next reader fills it again from
 * the database through the verified writer. The count is this process's: instances sharing the
 * folder (one host, one database) each keep theirs, so together they may hold up to their number
 * times the bound. Copies found on start count from the oldest modified.
 */
export class BlobCache {
  /** Writes in progress (fs/blob-write.ts); never read as a copy. */
  readonly tmpDir: string
  private readonly recency: CacheRecency
  /** Copies a write is still sending to the database (by integrity, a count each): never evicted. */
  private readonly sendingNow = new Map<string, number>()

  constructor(
    readonly dir: string,
    maxBytes: number = BLOB_DISK_CACHE_BYTES,
  ) {
    this.tmpDir = path.join(dir, 'tmp')
    this.recency = new CacheRecency(maxBytes)
  }

  /** Counts the copies already on disk (a restart keeps the folder), oldest first, removing what is past the bound. */
  async load(): Promise<void> {
    const found: Array<{ integrity: string; size: number; mtimeMs: number }> = []
    const root = path.join(this.dir, 'sha512')
    for (const a of await names(root)) {
      for (const b of await names(path.join(root, a))) {
        for (const rest of await names(path.join(root, a, b))) {
          const integrity = integrityOf(a + b + rest)
          const info = integrity ? await stat(path.join(root, a, b, rest)).catch(() => null) : null
          if (integrity && info?.isFile()) found.push({ integrity, size: info.size, mtimeMs: info.mtimeMs })
        }
      }
    }
    found.sort((x, y) => x.mtimeMs - y.mtimeMs)
    for (const copy of found) await this.used(copy.integrity, copy.size)
  }

  path(sha512Integrity: string): string {
    const hex = ssri.parse(sha512Integrity, { single: true }).hexDigest()
    return path.join(this.dir, 'sha512', hex.slice(0, 2), hex.slice(2, 4), hex.slice(4))
  }

  /** The copy, opened, when there is one of the expected size; a copy of another size is removed. */
  async open(sha512Integrity: string, size: number): Promise<FileHandle | null> {
    let handle: FileHandle
    try {
      handle = await open(this.path(sha512Integrity), 'r')
    } catch (error) {
      if (errnoCode(error) === 'ENOENT') return null
      throw error
    }
    try {
      const info = await handle.stat()
      if (info.isFile() && info.size === size) {
        await this.used(sha512Integrity, size)
        return handle
      }
    } catch (error) {
      await handle.close()
      throw error
    }
    await handle.close()
    await this.remove(sha512Integrity)
    return null
  }

  /**
   * Runs `send` (which reads the copy a write just placed) with that copy kept from eviction,
   * then counts it: it is a copy of what the database now holds.
   */
  async sending<T>(sha512Integrity: string, size: number, send: () => Promise<T>): Promise<T> {
    const unpin = this.pin(sha512Integrity)
    try {
      const result = await send()
      await this.used(sha512Integrity, size)
      return result
    } finally {
      unpin()
    }
  }

  /**
   * Keeps a copy a write placed from eviction until the returned function is called: a staged
   * blob (PgBlobs.stage) waits for its publish's lock before it is sent.
   */
  pin(sha512Integrity: string): () => void {
    this.sendingNow.set(sha512Integrity, (this.sendingNow.get(sha512Integrity) ?? 0) + 1)
    let pinned = true
    return () => {
      if (!pinned) return
      pinned = false
      const left = (this.sendingNow.get(sha512Integrity) ?? 1) - 1
      if (left === 0) this.sendingNow.delete(sha512Integrity)
      else this.sendingNow.set(sha512Integrity, left)
    }
  }

  /** Whether a write still needs the copy (pinned or being sent): then it must stay. */
  pinned(sha512Integrity: string): boolean {
    return this.sendingNow.has(sha512Integrity)
  }

  /** A verified write into the cache (see fs/blob-write.ts). */
  write(expected: string, size: number | undefined): ReturnType<typeof writeBlobFile> {
    return writeBlobFile(this.tmpDir, (sha512) => this.path(sha512), expected, size)
  }

  async remove(sha512Integrity: string): Promise<void> {
    this.recency.forget(sha512Integrity)
    await rm(this.path(sha512Integrity), { force: true })
  }

  private async used(sha512Integrity: string, size: number): Promise<void> {
    const evicted = this.recency.use(sha512Integrity, size, (integrity) => this.sendingNow.has(integrity))
    // A copy another process removed first is gone all the same.
    await Promise.all(evicted.map((integrity) => rm(this.path(integrity), { force: true }).catch(() => undefined)))
  }
}

async function names(dir: string): Promise<string[]> {
  return readdir(dir).catch(() => [])
}

/** The integrity a copy's path names (see path()), or null for a file that is no copy. */
function integrityOf(hex: string): string | null {
  return /^[0-9a-f]{128}$/.test(hex) ? `sha512-${Buffer.from(hex, 'hex').toString('base64')}` : null
}

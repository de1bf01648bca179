import { open, rm, type FileHandle } from 'node:fs/promises'
import path from 'node:path'
import ssri from 'ssri'
import { errnoCode } from '../../errors.js'
import { writeBlobFile } from '../fs/blob-write.js'

/**
 * This instance's copy of blobs on local disk, so a hot tarball is read from the database once
 * and then served from a file (OpenBlob is a FileHandle). Content-addressed like cacache
 * (sha512-<base64> -> sha512/ab/cd/<rest of the hex digest>): blobs never change, so a copy
 * never goes stale, and it is written only through the verified writer (fs/blob-write.ts:
 * hashed as it arrives, fsynced, read back and hashed again, then renamed into place).
 * The database stays the record: a copy is served only for a key whose entry and content the
 * database still has. Nothing here is ever the only copy, so the folder may be deleted any time.
 */
export class BlobCache {
  /** Writes in progress (fs/blob-write.ts); never read as a copy. */
  readonly tmpDir: string

  constructor(readonly dir: string) {
    this.tmpDir = path.join(dir, 'tmp')
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
      const stat = await handle.stat()
      if (stat.isFile() && stat.size === size) return handle
    } catch (error) {
      await handle.close()
      throw error
    }
    await handle.close()
    await this.remove(sha512Integrity)
    return null
  }

  /** A verified write into the cache (see fs/blob-write.ts). */
  write(expected: string, size: number | undefined): ReturnType<typeof writeBlobFile> {
    return writeBlobFile(this.tmpDir, (sha512) => this.path(sha512), expected, size)
  }

  async remove(sha512Integrity: string): Promise<void> {
    await rm(this.path(sha512Integrity), { force: true })
  }
}

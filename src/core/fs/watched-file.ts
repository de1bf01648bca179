import { mkdir, readFile } from 'node:fs/promises'
import path from 'node:path'
import { writeFileAtomic } from './atomic.js'
import type { KeyedLock } from './lock.js'
import { stampOf, statOrNull } from './stat.js'

/**
 * A small file that several processes share (htpasswd, tokens): parsed again only when its
 * stamp (inode, size, mtime) changed, so another process's write is seen on the next read,
 * even one of the same size within the same mtime second (each write is a rename: a new inode).
 * Changed under a lock from read to atomic write. A missing file reads as `empty()`.
 */
export class WatchedFile<T> {
  private cache: { stamp: string; value: T } | null = null

  constructor(
    readonly file: string,
    private readonly format: { parse: (text: string) => T; serialize: (value: T) => string; empty: () => T },
    private readonly lock: KeyedLock,
    /** `mode`: of the file as written (0o600 for secrets). */
    private readonly options: { mode?: number } = {},
  ) {}

  async read(): Promise<T> {
    const info = await statOrNull(this.file)
    if (!info) return this.format.empty()
    const stamp = stampOf(info)
    if (this.cache?.stamp === stamp) return this.cache.value
    // Stamped before the read: a write in between leaves a stamp that no longer matches, so
    // the newer bytes are parsed again on the next read (never the reverse, stale bytes kept).
    const value = this.format.parse(await readFile(this.file, 'utf8'))
    this.cache = { stamp, value }
    return value
  }

  async modify(change: (current: T) => T): Promise<void> {
    await mkdir(path.dirname(this.file), { recursive: true })
    await this.lock.withLock(`${this.file}.lock`, async () => {
      // Always from disk: an in-place edit by another tool could keep inode, size and mtime.
      this.cache = null
      const next = change(await this.read())
      await writeFileAtomic(this.file, this.format.serialize(next), this.options)
      this.cache = null
    })
  }
}

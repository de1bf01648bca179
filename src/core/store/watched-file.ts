import { mkdir, readFile } from 'node:fs/promises'
import path from 'node:path'
import { writeFileAtomic } from './atomic.js'
import type { KeyedLock } from './lock.js'
import { stampOf, statOrNull } from './stat.js'

/** A file's mtime, or null when it does not exist. */
export async function mtimeOrNull(file: string): Promise<number | null> {
  return (await statOrNull(file))?.mtimeMs ?? null
}

/** The file's stampOf, or '-' when it does not exist. */
export async function fileStamp(file: string): Promise<string> {
  const info = await statOrNull(file)
  return info ? stampOf(info) : '-'
}

/**
 * A small file that several processes share (htpasswd, tokens): parsed again only when its
 * size or mtime changed, so another process's write is seen on the next read; changed under
 * a lock from read to atomic write. A missing file reads as `empty()`.
 */
export class WatchedFile<T> {
  private cache: { mtimeMs: number; size: number; value: T } | null = null

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
    if (this.cache && this.cache.mtimeMs === info.mtimeMs && this.cache.size === info.size) return this.cache.value
    const value = this.format.parse(await readFile(this.file, 'utf8'))
    this.cache = { mtimeMs: info.mtimeMs, size: info.size, value }
    return value
  }

  async modify(change: (current: T) => T): Promise<void> {
    await mkdir(path.dirname(this.file), { recursive: true })
    await this.lock.withLock(`${this.file}.lock`, async () => {
      // Always from disk: an mtime within the same tick as another process's write would fool the cache.
      this.cache = null
      const next = change(await this.read())
      await writeFileAtomic(this.file, this.format.serialize(next), this.options)
      this.cache = null
    })
  }
}

import { readFile } from 'node:fs/promises'
import path from 'node:path'
import { errnoCode } from '../../errors.js'
import { writeFileAtomic } from '../../fs/atomic.js'
import type { KeyedLock } from '../../fs/lock.js'
import { statOrNull } from '../../fs/stat.js'
import { listContent } from './listing.js'

export interface Totals {
  blobs: number
  bytes: number
}

/**
 * The running count of stored contents and their bytes, kept in `blobs/totals.json` so that
 * `storage info` and the server's metrics read one small file instead of stat-ing every content
 * file. Each process adds up its own changes (content renamed into place where there was none,
 * content removed or quarantined) and merges them into the file under `blobs/totals.lock`, one
 * merge at a time: changes made while one runs go in together in the next.
 *
 * A new store starts at zero. A missing (or unreadable) file is counted once by walking the
 * content, at the first totals() (a store written by an older version); changes merged while it is missing are dropped, since
 * that walk sees them on disk. Drift: a process killed before its merge, or a change racing a
 * walk, leaves the file off by those changes; `verify --fix` counts again (recount).
 */
export class FsTotals {
  private pending: Totals = { blobs: 0, bytes: 0 }
  private merging: Promise<void> | null = null

  constructor(
    private readonly dir: string,
    private readonly lock: KeyedLock,
  ) {}

  private get file(): string {
    return path.join(this.dir, 'totals.json')
  }

  private get lockPath(): string {
    return path.join(this.dir, 'totals.lock')
  }

  /**
   * Starts the count at zero for a folder that holds no content yet (a new store), so no walk
   * is ever needed there; a folder with content and no file is counted at the first read.
   */
  async startIfEmpty(): Promise<void> {
    if ((await statOrNull(path.join(this.dir, 'content-v2'))) !== null) return
    await this.lock.withLock(this.lockPath, async () => {
      if ((await this.readFile()) === null) await this.writeFile({ blobs: 0, bytes: 0 })
    })
  }

  /**
   * Records a change made by this process and merges it; changes made meanwhile share the merge.
   * Awaited by the write or removal that made it, so nothing of it runs on after that resolves
   * (a store folder deleted right after would otherwise get its lock folder back). Never fails:
   * a failed merge (a full or read-only disk) keeps the change pending for the next one.
   */
  async change(blobs: number, bytes: number): Promise<void> {
    this.pending.blobs += blobs
    this.pending.bytes += bytes
    await this.flush().catch(() => undefined)
  }

  /** Resolves once every change recorded before the call is in the file (or dropped: see above). */
  async flush(): Promise<void> {
    while (this.merging) await this.merging.catch(() => undefined)
    const delta = this.pending
    if (delta.blobs === 0 && delta.bytes === 0) return
    this.pending = { blobs: 0, bytes: 0 }
    const merge = this.merge(delta).catch((error: unknown) => {
      this.pending.blobs += delta.blobs
      this.pending.bytes += delta.bytes
      throw error
    })
    this.merging = merge.finally(() => {
      this.merging = null
    })
    await this.merging
  }

  async read(): Promise<Totals> {
    // Unmerged changes of this process (a merge that failed) still count in its answer.
    await this.flush().catch(() => undefined)
    const kept = (await this.readFile()) ?? (await this.recount())
    return { blobs: kept.blobs + this.pending.blobs, bytes: kept.bytes + this.pending.bytes }
  }

  /** The kept count as it is (null when there is none): nothing is merged, walked or written. */
  async peek(): Promise<Totals | null> {
    return this.readFile()
  }

  /** Walks every content file and keeps what it counted. */
  recount(): Promise<Totals> {
    return this.lock.withLock(this.lockPath, async () => {
      const counted = { blobs: 0, bytes: 0 }
      for await (const file of listContent(this.dir)) {
        counted.blobs++
        counted.bytes += file.size
      }
      await this.writeFile(counted)
      return counted
    })
  }

  private async merge(delta: Totals): Promise<void> {
    // Nothing to add to (see above); and no lock taken, which would make the folder again if the
    // store was just deleted.
    if ((await statOrNull(this.file)) === null) return
    await this.lock.withLock(this.lockPath, async () => {
      const kept = await this.readFile()
      if (kept) await this.writeFile({ blobs: kept.blobs + delta.blobs, bytes: kept.bytes + delta.bytes })
    })
  }

  private async readFile(): Promise<Totals | null> {
    let raw: string
    try {
      raw = await readFile(this.file, 'utf8')
    } catch (error) {
      if (errnoCode(error) === 'ENOENT') return null
      throw error
    }
    try {
      const parsed = JSON.parse(raw) as Partial<Totals>
      // Counted again rather than trusted: a count below zero is drift too.
      if (Number.isSafeInteger(parsed.blobs) && Number.isSafeInteger(parsed.bytes) && (parsed.blobs as number) >= 0 && (parsed.bytes as number) >= 0) {
        return { blobs: parsed.blobs as number, bytes: parsed.bytes as number }
      }
    } catch {
      // Torn or edited by hand: counted again.
    }
    return null
  }

  private writeFile(totals: Totals): Promise<void> {
    return writeFileAtomic(this.file, JSON.stringify(totals) + '\n')
  }
}

import { LRUCache } from 'lru-cache'
import { CACHE_BOUNDS } from '../cache-bounds.js'

/**
 * Small tarballs that are asked for again and again (every `npm ci` of a team's project) stay
 * in memory, so serving one is a single write of a Buffer: no open, fstat, reads and close
 * through the thread pool per request, and no read buffers for the garbage collector. Keyed
 * by the integrity the bytes were verified against, so different bytes never share an entry.
 */
export class HotBlobs {
  private readonly entries: LRUCache<string, Buffer>

  constructor(
    readonly maxEntryBytes: number = CACHE_BOUNDS.hotTarballMaxEntryBytes,
    budget: number = CACHE_BOUNDS.hotTarballBytes,
  ) {
    // An empty tarball still takes an entry: counted as one byte (lru-cache wants sizes of at least 1).
    this.entries = new LRUCache({ maxSize: budget, maxEntrySize: maxEntryBytes, sizeCalculation: (bytes) => Math.max(1, bytes.length) })
  }

  get(integrity: string): Buffer | undefined {
    return this.entries.get(integrity)
  }

  set(integrity: string, bytes: Buffer): void {
    if (bytes.length > this.maxEntryBytes || this.entries.has(integrity)) return
    this.entries.set(integrity, bytes)
  }

  delete(integrity: string): void {
    this.entries.delete(integrity)
  }

  /** Bytes held now (at most the budget). */
  get bytes(): number {
    return this.entries.calculatedSize
  }
}

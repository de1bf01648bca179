/**
 * Small tarballs that are asked for again and again (every `npm ci` of a team's project) stay
 * in memory, so serving one is a single write of a Buffer: no open, fstat, reads and close
 * through the thread pool per request, and no read buffers for the garbage collector. Keyed
 * by the integrity the bytes were verified against, so different bytes never share an entry.
 */
export class HotBlobs {
  private readonly entries = new Map<string, Buffer>()
  private total = 0

  constructor(
    readonly maxEntryBytes = 1024 * 1024,
    private readonly budget = 32 * 1024 * 1024,
  ) {}

  get(integrity: string): Buffer | undefined {
    const bytes = this.entries.get(integrity)
    if (bytes) {
      this.entries.delete(integrity)
      this.entries.set(integrity, bytes)
    }
    return bytes
  }

  set(integrity: string, bytes: Buffer): void {
    if (bytes.length > this.maxEntryBytes || this.entries.has(integrity)) return
    this.entries.set(integrity, bytes)
    this.total += bytes.length
    for (const [key, old] of this.entries) {
      if (this.total <= this.budget) break
      this.entries.delete(key)
      this.total -= old.length
    }
  }

  delete(integrity: string): void {
    const bytes = this.entries.get(integrity)
    if (!bytes) return
    this.entries.delete(integrity)
    this.total -= bytes.length
  }
}

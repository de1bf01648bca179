/**
 * Which copies a bounded disk cache keeps: their sizes in order of last use (a Map keeps
 * insertion order; a use moves the key to the end), and which to drop, least recently used
 * first, once they add up to more than `maxBytes`. Pure bookkeeping: the caller removes the files.
 */
export class CacheRecency {
  private readonly sizes = new Map<string, number>()
  private total = 0

  constructor(readonly maxBytes: number) {}

  get bytes(): number {
    return this.total
  }

  has(key: string): boolean {
    return this.sizes.has(key)
  }

  /**
   * `key` (of `size` bytes) was just used or stored. Returns the keys to drop to get back within
   * `maxBytes`, least recently used first, now forgotten here: never `key` itself (its caller
   * holds it open; a copy larger than the bound alone goes at the next use of another), nor one
   * `keep` says is still needed (a write in flight reading it).
   */
  use(key: string, size: number, keep: (key: string) => boolean = () => false): string[] {
    this.forget(key)
    this.sizes.set(key, size)
    this.total += size
    const dropped: string[] = []
    for (const [old, oldSize] of this.sizes) {
      if (this.total <= this.maxBytes) break
      if (old === key || keep(old)) continue
      this.sizes.delete(old)
      this.total -= oldSize
      dropped.push(old)
    }
    return dropped
  }

  /** The copy is gone (removed, quarantined, or found missing). */
  forget(key: string): void {
    const size = this.sizes.get(key)
    if (size === undefined) return
    this.sizes.delete(key)
    this.total -= size
  }
}

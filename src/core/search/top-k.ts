/**
 * The `k` best items offered, kept in order by `compare` (negative: a goes first). A page of
 * results from thousands of matches costs one pass and a few binary insertions, not a sort.
 * A deep page (large `k`) collects everything and sorts once instead.
 */
/** Past this many kept items, insertion costs more than one sort at the end. */
const BULK = 1000

export class TopK<T> {
  private readonly items: T[] = []
  private sortedYet = true

  constructor(
    private readonly k: number,
    private readonly compare: (a: T, b: T) => number,
  ) {}

  offer(item: T): void {
    const { items, k, compare } = this
    if (k <= 0) return
    if (k > BULK) {
      items.push(item)
      this.sortedYet = false
      return
    }
    if (items.length === k && compare(item, items[k - 1] as T) >= 0) return
    let lo = 0
    let hi = items.length
    while (lo < hi) {
      const mid = (lo + hi) >>> 1
      if (compare(item, items[mid] as T) < 0) hi = mid
      else lo = mid + 1
    }
    items.splice(lo, 0, item)
    if (items.length > k) items.pop()
  }

  /** The kept items, best first. */
  sorted(): T[] {
    if (!this.sortedYet) {
      this.items.sort(this.compare)
      this.items.length = Math.min(this.items.length, this.k)
      this.sortedYet = true
    }
    return this.items
  }
}

/**
 * The last `max` values built, by key, least recently used dropped first. Package pages
 * keep their parsed model and rendered README here, keyed by package revision, so a page
 * is parsed and its markdown rendered once per change, not once per view.
 */
export class PageCache<V> {
  private readonly values = new Map<string, V>()

  constructor(private readonly max = 100) {}

  get(key: string, build: () => V): V {
    const hit = this.values.get(key)
    if (hit !== undefined) {
      this.values.delete(key)
      this.values.set(key, hit)
      return hit
    }
    const value = build()
    this.values.set(key, value)
    if (this.values.size > this.max) this.values.delete(this.values.keys().next().value as string)
    return value
  }

  delete(key: string): void {
    this.values.delete(key)
  }
}

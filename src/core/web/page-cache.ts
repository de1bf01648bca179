import { LRUCache } from 'lru-cache'
import { CACHE_BOUNDS } from '../cache-bounds.js'

/**
 * The last `max` values built, by key, least recently used dropped first. Package pages
 * keep their parsed model and rendered README here, keyed by package revision, so a page
 * is parsed and its markdown rendered once per change, not once per view.
 */
export class PageCache<V extends object> {
  private readonly values: LRUCache<string, V>

  constructor(max: number = CACHE_BOUNDS.packagePages) {
    this.values = new LRUCache({ max })
  }

  get(key: string, build: () => V): V {
    const hit = this.values.get(key)
    if (hit !== undefined) return hit
    const value = build()
    this.values.set(key, value)
    return value
  }

  delete(key: string): void {
    this.values.delete(key)
  }

  get size(): number {
    return this.values.size
  }
}

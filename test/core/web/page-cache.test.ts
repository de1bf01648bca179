import { describe, expect, it } from 'vitest'
import { CACHE_BOUNDS } from '../../../src/core/cache-bounds.js'
import { PageCache } from '../../../src/core/web/page-cache.js'

describe('PageCache', () => {
  it('keeps the last `max` pages used, building each once while it is kept', () => {
    const cache = new PageCache<{ n: number }>(3)
    let builds = 0
    const page = (n: number) => () => {
      builds++
      return { n }
    }
    for (const n of [1, 2, 3]) cache.get(`p${n}`, page(n))
    cache.get('p1', page(-1)) // p1 is now the most recent: p2 goes next
    cache.get('p4', page(4))
    expect(cache.size).toBe(3)
    expect(builds).toBe(4)
    expect(cache.get('p1', page(-1)).n).toBe(1)
    expect(cache.get('p2', page(22)).n).toBe(22)
    for (let n = 0; n < 500; n++) cache.get(`q${n}`, page(n))
    expect(cache.size).toBe(3)
  })

  it('builds a deleted page again, and defaults to the bound in CACHE_BOUNDS', () => {
    const cache = new PageCache<{ n: number }>()
    cache.get('p', () => ({ n: 1 }))
    cache.delete('p')
    expect(cache.get('p', () => ({ n: 2 })).n).toBe(2)
    for (let n = 0; n < CACHE_BOUNDS.packagePages + 50; n++) cache.get(`q${n}`, () => ({ n }))
    expect(cache.size).toBe(CACHE_BOUNDS.packagePages)
  })
})

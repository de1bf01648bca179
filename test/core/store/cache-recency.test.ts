import { describe, expect, it } from 'vitest'
import { CacheRecency } from '../../../src/core/store/pg/cache-recency.js'

describe('CacheRecency', () => {
  it('drops the least recently used past the bound, a use making a copy the most recent', () => {
    const recency = new CacheRecency(100)
    expect(recency.use('a', 40)).toEqual([])
    expect(recency.use('b', 40)).toEqual([])
    // a used again: b is now the least recent.
    expect(recency.use('a', 40)).toEqual([])
    expect(recency.use('c', 40)).toEqual(['b'])
    expect(recency.bytes).toBe(80)
    expect(recency.use('d', 70)).toEqual(['a', 'c'])
    expect([recency.has('a'), recency.has('c'), recency.has('d')]).toEqual([false, false, true])
  })

  it('never drops the copy just used, even one larger than the bound alone: it goes at the next use of another', () => {
    const recency = new CacheRecency(100)
    recency.use('small', 10)
    expect(recency.use('huge', 150)).toEqual(['small'])
    expect(recency.bytes).toBe(150)
    expect(recency.use('next', 10)).toEqual(['huge'])
    expect(recency.bytes).toBe(10)
  })

  it('keeps what `keep` holds (a write still sending it), dropping the next least recent instead', () => {
    const recency = new CacheRecency(100)
    recency.use('sending', 50)
    recency.use('old', 40)
    expect(recency.use('new', 40, (key) => key === 'sending')).toEqual(['old'])
    expect(recency.bytes).toBe(90)
  })

  it('forgets a copy that is gone, and counts a copy used again at its new size once', () => {
    const recency = new CacheRecency(100)
    recency.use('a', 30)
    recency.use('a', 50)
    expect(recency.bytes).toBe(50)
    recency.forget('a')
    recency.forget('a')
    expect(recency.bytes).toBe(0)
    expect(recency.has('a')).toBe(false)
  })
})

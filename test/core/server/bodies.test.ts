import { describe, expect, it } from 'vitest'
import { Body, BodyCache } from '../../../src/core/server/bodies.js'

const body = (chars: number, fill = 'x') => new Body(Buffer.from(fill.repeat(chars)), 'application/json')

/** A builder of bodies of `chars` bytes that counts its calls. */
function counted(chars: number) {
  const counter = { builds: 0, build: () => (counter.builds++, body(chars)) }
  return counter
}

describe('BodyCache', () => {
  it('builds a body once per key and serves it until it is evicted', () => {
    const cache = new BodyCache(10_000)
    const counter = counted(100)
    const first = cache.get('a', counter.build)
    expect(cache.get('a', counter.build)).toBe(first)
    expect(counter.builds).toBe(1)
  })

  it('stays within its byte budget (compressed forms included), least recently used evicted first', () => {
    // Each body of 1,000 bytes counts 1,300 (room for its compressed forms): three fit in 4,000.
    const cache = new BodyCache(4_000)
    const a = cache.get('a', () => body(1_000, 'a'))
    cache.get('b', () => body(1_000, 'b'))
    cache.get('c', () => body(1_000, 'c'))
    expect(cache.get('a', () => body(1_000, 'z'))).toBe(a) // a is now the most recent
    cache.get('d', () => body(1_000, 'd'))
    expect(cache.bytes).toBe(3_900)
    expect(cache.get('a', () => body(1_000, 'z'))).toBe(a)
    expect(cache.get('b', () => body(1_000, 'z')).raw.toString()).toBe('z'.repeat(1_000))
    for (let i = 0; i < 1_000; i++) {
      cache.get(`n${i}`, () => body(1 + (i % 500)))
      expect(cache.bytes).toBeLessThanOrEqual(4_000)
    }
  })

  it('answers a body larger than the whole budget without keeping it', () => {
    const cache = new BodyCache(1_000)
    const counter = counted(1_000)
    expect(cache.get('huge', counter.build).raw.length).toBe(1_000)
    cache.get('huge', counter.build)
    expect([counter.builds, cache.bytes]).toEqual([2, 0])
  })
})

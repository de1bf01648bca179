import { describe, expect, it } from 'vitest'
import { CACHE_BOUNDS } from '../../../src/core/cache-bounds.js'
import { HotBlobs } from '../../../src/core/registry/hot-blobs.js'

const blob = (bytes: number, fill: number) => Buffer.alloc(bytes, fill)

describe('HotBlobs', () => {
  it('keeps tarballs up to its byte budget, dropping the least recently served first', () => {
    const hot = new HotBlobs(100, 250)
    hot.set('a', blob(100, 1))
    hot.set('b', blob(100, 2))
    expect(hot.get('a')?.[0]).toBe(1) // a is now more recent than b
    hot.set('c', blob(100, 3))
    expect(hot.bytes).toBe(200)
    expect(hot.get('b')).toBeUndefined()
    expect(hot.get('a')?.[0]).toBe(1)
    expect(hot.get('c')?.[0]).toBe(3)
  })

  it('stays within the budget however many tarballs pass through', () => {
    const hot = new HotBlobs(1000, 10_000)
    for (let i = 0; i < 5_000; i++) {
      hot.set(`k${i}`, blob(1 + (i % 1000), i % 256))
      expect(hot.bytes).toBeLessThanOrEqual(10_000)
    }
    expect(hot.get('k4999')?.length).toBe(1000)
    expect(hot.get('k0')).toBeUndefined()
  })

  it('never holds a tarball above the entry limit, and keeps the first bytes stored under a key', () => {
    const hot = new HotBlobs(100, 1000)
    hot.set('big', blob(101, 1))
    expect(hot.get('big')).toBeUndefined()
    hot.set('same', blob(10, 1))
    hot.set('same', blob(20, 2))
    expect(hot.get('same')?.length).toBe(10)
    hot.delete('same')
    expect([hot.get('same'), hot.bytes]).toEqual([undefined, 0])
  })

  it('takes its defaults from CACHE_BOUNDS', () => {
    const hot = new HotBlobs()
    expect(hot.maxEntryBytes).toBe(CACHE_BOUNDS.hotTarballMaxEntryBytes)
  })
})

import { describe, expect, it } from 'vitest'
import { jsonBytes, ownsItsMemory } from '../../src/core/json-bytes.js'
import { ownedMemory } from '../../src/core/registry/transfer.js'

/** jsonBytes must give JSON.stringify's bytes exactly: served documents and stored records are made with it. */
describe('jsonBytes', () => {
  const doc = {
    name: '@scope/pkg',
    description: 'ünïcödé \u2028 "quoted" \\ back\tslash 😀 \ud800 lone',
    'dist-tags': { latest: '1.0.0' },
    versions: {
      '1.0.0': { name: '@scope/pkg', version: '1.0.0', dist: { tarball: 'http://x/a.tgz' }, skipped: undefined, list: [1, undefined, 'x'] },
      '2.0.0-β': { nested: { deep: { deeper: [{ a: null }] } }, n: 1e21, f: -0.5 },
    },
    time: { created: '2020-01-01T00:00:00.000Z', modified: new Date(0) },
    empty: {},
    gone: undefined,
    fn: () => 1,
    arr: [{ a: 1 }, 'b'],
    '0': 'integer-like key first',
  }

  it('gives the bytes of JSON.stringify at every depth, growing from a tiny size hint', () => {
    for (const depth of [0, 1, 2, 3, 5]) {
      for (const sizeHint of [1, 64, 100_000]) {
        expect(jsonBytes(doc, { depth, sizeHint }).toString('hex')).toBe(Buffer.from(JSON.stringify(doc)).toString('hex'))
      }
    }
  })

  it('writes into shared memory when asked, which is shared with the view worker rather than moved', () => {
    for (const value of [doc, 'text', [1, 2]]) {
      const bytes = jsonBytes(value, { shared: true, sizeHint: 10 })
      expect(bytes.buffer).toBeInstanceOf(SharedArrayBuffer)
      expect(bytes.toString()).toBe(JSON.stringify(value))
      expect(ownedMemory([bytes])).toEqual([])
    }
  })

  it('serializes what is not an object to open as JSON.stringify does', () => {
    for (const value of ['text', 12, null, [1, { a: 2 }], { toJSON: () => ({ b: 1 }) }, true]) {
      expect(jsonBytes(value).toString()).toBe(JSON.stringify(value))
    }
  })

  it('leaves a little unused room with the bytes, and such memory still moves to another thread whole', () => {
    const bytes = jsonBytes({ a: 'x'.repeat(1000) }, { sizeHint: 1010 })
    expect(bytes.byteLength).toBeLessThan(bytes.buffer.byteLength)
    expect(ownsItsMemory(bytes.buffer as ArrayBuffer)).toBe(true)
    expect(ownedMemory([bytes])).toEqual([bytes.buffer])
    // Much room left over: the bytes are copied to memory of their own size.
    const copied = jsonBytes({ a: 'x' }, { sizeHint: 100_000 })
    expect(copied.byteLength).toBe(copied.buffer.byteLength)
    // A pooled Buffer is still never handed over.
    expect(ownedMemory([Buffer.from('small')])).toEqual([])
  })
})

import { describe, expect, it } from 'vitest'
import { PruneSelector, selectForPrune, type Candidate } from '../../../src/core/maintenance/index.js'

const c = (key: string, lastUse: number, size = 100, extra: Partial<Candidate> = {}): Candidate => ({ key, integrity: `sha512-${key}`, size, lastUse, keep: null, ...extra })

describe('selectForPrune', () => {
  const list = [c('a', 10), c('b', 50), c('c', 30), c('d', 40)]

  it('--older-than picks every entry last used before the cutoff', () => {
    const s = selectForPrune(list, { olderThan: 35 })
    expect([...s.chosen.keys()].sort()).toEqual(['a', 'c'])
    expect([...s.chosen.values()]).toEqual(['older-than', 'older-than'])
    expect(s).toMatchObject({ cachedBefore: 400, cachedAfter: 200, fits: null })
  })

  it('--max-size removes the least recently used first until the rest fits', () => {
    const s = selectForPrune(list, { maxBytes: 250 })
    expect([...s.chosen.keys()]).toEqual(['a', 'c'])
    expect(s).toMatchObject({ cachedAfter: 200, fits: true })
    expect(selectForPrune(list, { maxBytes: 400 }).chosen.size).toBe(0)
    expect([...selectForPrune(list, { maxBytes: 0 }).chosen.keys()]).toEqual(['a', 'c', 'd', 'b'])
  })

  it('both: the age limit first, then size by recency', () => {
    const s = selectForPrune(list, { olderThan: 20, maxBytes: 150 })
    expect(Object.fromEntries(s.chosen)).toEqual({ a: 'older-than', c: 'max-size', d: 'max-size' })
    expect(s.cachedAfter).toBe(100)
  })

  it('never picks kept entries, and reports when the kept ones alone exceed the limit', () => {
    const kept = [c('a', 1, 100, { keep: 'lockfile' }), c('b', 2, 100, { keep: 'recent' }), c('c', 3, 100, { keep: 'local' }), c('d', 4)]
    const s = selectForPrune(kept, { olderThan: 100, maxBytes: 0 })
    expect([...s.chosen.keys()]).toEqual(['d'])
    // Published content is not cached data: 3 cached files before, 2 (kept) after.
    expect(s).toMatchObject({ cachedBefore: 300, cachedAfter: 200, fits: false })
  })

  it('counts shared content once and frees it only with its last reference', () => {
    const shared = [c('a', 1, 100, { integrity: 'sha512-x' }), c('b', 5, 100, { integrity: 'sha512-x' }), c('c', 3, 100)]
    expect(selectForPrune(shared, {}).cachedBefore).toBe(200)
    const s = selectForPrune(shared, { maxBytes: 100 })
    // a goes first but frees nothing while b still refers to the same bytes; c frees 100.
    expect([...s.chosen.keys()]).toEqual(['a', 'c'])
    expect(s.cachedAfter).toBe(100)
  })

  it('is deterministic on ties (by key)', () => {
    const tie = [c('b', 1), c('a', 1), c('c', 1)]
    expect([...selectForPrune(tie, { maxBytes: 100 }).chosen.keys()]).toEqual(['a', 'b'])
  })
})

describe('PruneSelector', () => {
  /** A store's worth of candidates: some share content, some are kept, use times collide. */
  function store(count: number, seed: number): Candidate[] {
    let x = seed
    const next = () => (x = (x * 1103515245 + 12345) % 2 ** 31) / 2 ** 31
    const keeps = [null, null, null, null, 'local', 'lockfile', 'recent'] as const
    return Array.from({ length: count }, (_, i) => {
      const content = next() < 0.2 ? `shared${Math.floor(next() * 5)}` : `own${i}`
      return c(`k${i}`, Math.floor(next() * 50), content.startsWith('shared') ? 70 : 10 + Math.floor(next() * 200), {
        integrity: `sha512-${content}`,
        keep: keeps[Math.floor(next() * keeps.length)] as Candidate['keep'],
      })
    })
  }

  /** `ask`: as prune walks, asking passedOver() before it makes a candidate (counted in `passed`). */
  function bounded(candidates: Candidate[], options: { olderThan?: number; maxBytes?: number }, holdBytes: number, ask = false) {
    const selector = new PruneSelector(options, holdBytes)
    let passed = 0
    for (const one of candidates) {
      const aged = options.olderThan !== undefined && one.lastUse < options.olderThan
      if (ask && one.keep === null && !aged && selector.passedOver(one.lastUse, one.key)) {
        selector.countPassed(one.integrity, one.size)
        passed++
        continue
      }
      selector.count(one)
    }
    let walks = 1
    while (selector.needsPass()) {
      walks++
      for (const one of candidates) selector.offer(one)
    }
    return { selection: selector.selection(), walks, passed, order: selector.choices().map((choice) => choice.candidate.key) }
  }

  it('gives the answer of selectForPrune whatever it holds, walking again when what it held does not free enough', () => {
    let rewalked = 0
    let passed = 0
    for (const seed of [1, 2, 3, 4, 5]) {
      const candidates = store(300, seed)
      for (const options of [{ maxBytes: 20_000 }, { maxBytes: 0 }, { olderThan: 10, maxBytes: 15_000 }, { olderThan: 25 }]) {
        const whole = selectForPrune(candidates, options)
        for (const holdBytes of [Infinity, 5000, 100, 0]) {
          for (const ask of [false, true]) {
            const run = bounded(candidates, options, holdBytes, ask)
            expect(run.selection).toEqual(whole)
            expect(run.order).toEqual([...whole.chosen.keys()])
            if (run.walks > 1) rewalked++
            passed += run.passed
            if (holdBytes === Infinity) expect(run.walks).toBe(1)
          }
        }
      }
    }
    // The small holds did need further walks, and candidates were passed over without being made:
    // those paths were taken, not only the one-walk one.
    expect(rewalked).toBeGreaterThan(0)
    expect(passed).toBeGreaterThan(0)
  })

  it('needs one walk when its guess of the bytes to free is right', () => {
    const candidates = [c('a', 10), c('b', 50), c('c', 30), c('d', 40)]
    // 400 cached, limit 250: 150 to free, so the two oldest (a, c) are all it must hold.
    const { selection, walks } = bounded(candidates, { maxBytes: 250 }, 150)
    expect(walks).toBe(1)
    expect([...selection.chosen.keys()]).toEqual(['a', 'c'])
  })
})

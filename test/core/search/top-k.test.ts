import { describe, expect, it } from 'vitest'
import { TopK } from '../../../src/core/search/index.js'

describe('TopK', () => {
  const numbers = (k: number, items: number[]) => {
    const top = new TopK<number>(k, (a, b) => b - a)
    for (const item of items) top.offer(item)
    return top.sorted()
  }

  it('keeps the k best in order, ties in arrival order', () => {
    expect(numbers(3, [5, 1, 9, 3, 9, 7])).toEqual([9, 9, 7])
    expect(numbers(10, [2, 1])).toEqual([2, 1])
    expect(numbers(0, [1])).toEqual([])
  })

  it('sorts once for deep pages', () => {
    const items = Array.from({ length: 3000 }, (_, i) => (i * 7919) % 3000)
    expect(numbers(2000, items)).toEqual(Array.from({ length: 2000 }, (_, i) => 2999 - i))
  })
})

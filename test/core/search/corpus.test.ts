import { describe, expect, it } from 'vitest'
import { Corpus, TopK } from '../../../src/core/search/index.js'
import { summary } from './helpers.js'

describe('Corpus', () => {
  const summaries = [
    summary('left-pad', { description: 'pads pads pads', keywords: ['pad'] }),
    summary('right-pad', { description: 'the other side' }),
    summary('express', { description: 'web framework' }),
  ]
  const corpus = new Corpus(summaries)
  const names = (word: string) => corpus.candidates(word).map((s) => s.name)

  it('yields each package containing the word once, in order', () => {
    expect(names('pad')).toEqual(['left-pad', 'right-pad'])
    expect(names('web')).toEqual(['express'])
    expect(names('framework')).toEqual(['express'])
    expect(names('nowhere')).toEqual([])
    expect(names('')).toEqual(['left-pad', 'right-pad', 'express'])
  })

  it('finds name parts that start with a word', () => {
    const starts = (word: string) => corpus.nameStartCandidates(word).map((s) => s.name)
    expect(starts('p')).toEqual(['left-pad', 'right-pad'])
    expect(starts('e')).toEqual(['express'])
    expect(starts('x')).toEqual([])
  })

  it('finds words at the very start and end of the text', () => {
    expect(names('left')).toEqual(['left-pad'])
    expect(names(summaries[2]?.text.all.slice(-4) ?? '')).toEqual(['express'])
  })
})

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

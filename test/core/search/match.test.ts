import { describe, expect, it } from 'vitest'
import { parseQuery, relevance } from '../../../src/core/search/index.js'
import { summary } from './helpers.js'

const score = (text: string, s = pkg) => relevance(s, parseQuery(text))
const pkg = summary('@acme/left-pad', {
  description: 'Pads strings on the left; padding included',
  keywords: ['padding', 'string'],
  author: 'Zed Zulu',
  maintainers: [{ name: 'mo' }],
})

describe('relevance', () => {
  it('scores each word by the best place it matches', () => {
    expect(score('@acme/left-pad')).toBe(1000)
    expect(score('@acme')).toBe(300 + Math.round((100 * 5) / 14))
    expect(score('left')).toBe(150)
    expect(score('pad')).toBe(150)
    expect(score('eft')).toBe(80)
    expect(score('string')).toBe(60)
    expect(score('paddi')).toBe(30)
    expect(score('included')).toBe(20)
    expect(score('trings')).toBe(10)
    expect(score('mo')).toBe(15)
    expect(score('zulu')).toBe(0) // a person's name counts whole only ("zed zulu")
  })

  it('adds the words up and needs all of them', () => {
    expect(score('left string')).toBe(210)
    expect(score('left nowhere')).toBe(0)
  })

  it('counts a single letter only at the start of the name or a name part', () => {
    expect(score('l')).toBe(150)
    expect(score('@')).toBe(300 + Math.round(100 / 14))
    expect(score('d')).toBe(0)
    expect(score('s')).toBe(0)
  })

  it('handles packages without keywords, description or people', () => {
    const bare = summary('bare', {})
    expect(score('bare', bare)).toBe(1000)
    expect(score('ba', bare)).toBe(350)
    expect(score('x', bare)).toBe(0)
    const described = summary('thing', { description: 'only words' })
    expect(score('words', described)).toBe(20)
    expect(score('ords', described)).toBe(10)
  })
})

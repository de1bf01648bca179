import { describe, expect, it } from 'vitest'
import { parseQuery } from '../../../src/core/search/index.js'

describe('parseQuery', () => {
  it('separates words from the qualifiers npm knows', () => {
    expect(parseQuery('HTTP Server keywords:web,-legacy,+fast author:Alice maintainer:bob scope:@acme is:deprecated not:unstable')).toEqual({
      terms: ['http', 'server'],
      keywords: { any: ['web', 'fast'], none: ['legacy'] },
      authors: ['alice'],
      maintainers: ['bob'],
      scopes: ['acme'],
      is: ['deprecated'],
      not: ['unstable'],
    })
  })

  it('takes unknown qualifiers, empty values and unknown flags as words', () => {
    const q = parseQuery('foo:bar keywords: is:shiny')
    expect(q.terms).toEqual(['foo:bar', 'keywords:', 'is:shiny'])
    expect(q.keywords.any).toEqual([])
  })

  it('bounds the work a query can ask for', () => {
    expect(parseQuery('a '.repeat(1000)).terms.length).toBeLessThanOrEqual(16)
    expect(parseQuery(`${'x'.repeat(10_000)}`).terms[0]?.length).toBe(256)
  })
})

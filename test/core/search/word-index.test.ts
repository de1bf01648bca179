import { describe, expect, it } from 'vitest'
import { SearchIndex, hasQualifiers, parseQuery, passesQualifiers, relevance, type PackageSummary, type SearchAnswer } from '../../../src/core/search/index.js'
import { summary } from './helpers.js'

const source = { names: () => Promise.resolve([]), load: () => Promise.resolve(null), stamp: () => Promise.resolve('') }
const all = () => true

/** The answer by definition: every summary scored with relevance() and checked with passesQualifiers(), sorted. */
function oracle(summaries: PackageSummary[], text: string, from: number, size: number, visible: (name: string) => boolean) {
  const query = parseQuery(text)
  const scored = summaries
    .filter((s) => (!hasQualifiers(query) || passesQualifiers(s, query)) && visible(s.name))
    .map((s) => ({ name: s.name, origin: s.origin, score: query.terms.length > 0 ? relevance(s, query) : 1 }))
    .filter((r) => r.score > 0)
    .sort((a, b) => b.score - a.score || (a.origin !== b.origin ? (a.origin === 'local' ? -1 : 1) : a.name < b.name ? -1 : 1))
  return { total: scored.length, results: scored.slice(from, from + size).map((r) => [r.name, r.score]) }
}

const shape = (answer: SearchAnswer) => ({ total: answer.total, results: answer.results.map((r) => [r.summary.name, r.score]) })

const WORDS = ['parser', 'parse', 'fast', 'stream', 'web', 'cli', 'p', 'json-parser', 'Parsers,', 'x.y', 'web framework']
/** Deterministic summaries sharing words in every place: names, keywords (some of two words), descriptions, people. */
function corpus(count: number, salt = 0): PackageSummary[] {
  return Array.from({ length: count }, (_, i) => {
    const pick = (n: number) => WORDS[(i * 7 + n * 13 + salt) % WORDS.length] as string
    const base = `${pick(1).replace(/[\s,]/g, '')}-${i % 5 === 0 ? 'kit' : pick(2).replace(/[\s,]/g, '')}-${i}`
    const name = i % 4 === 0 ? `@scope${i % 3}/${base}` : i % 9 === 0 ? pick(3).replace(/[\s,]/g, '') + String(i) : base
    return summary(
      name,
      {
        description: `${pick(4)} and ${pick(5)}; ${pick(6)}-based ${i % 2 ? 'Parsing' : 'streams'}`,
        keywords: [pick(7), pick(8)],
        author: i % 3 === 0 ? 'Parser' : `Author ${i % 4}`,
        maintainers: [{ name: `m${i % 6}` }, { name: i % 5 === 0 ? 'web' : 'cli' }],
        ...(i % 11 === 0 ? { deprecated: 'old' } : {}),
      },
      i % 6 === 0 ? 'local' : 'cached',
      i % 8 === 0 ? ['0.1.0'] : ['1.0.0'],
    )
  })
}

const QUERIES = [
  'parser', 'parse', 'pars', 'p', 's', '@', 'k', 'kit', 'web', 'web framework', 'framework', 'fast parser', 'parser fast stream',
  'json-parser', 'parsers,', 'x.y', 'arse', 'based', 'ased', 'm1', 'author', 'cli', '@scope1/', 'scope1', '-kit-', 'nothing-like-it',
  '', 'keywords:parser', 'keywords:web,-cli', 'keywords:web', 'author:parser', 'maintainer:m2', 'scope:scope2', 'is:deprecated',
  'is:unstable', 'not:local', 'is:local parser', 'parser keywords:-fast', 'web maintainer:web', 'author:nobody', 'scope:@scope0/ kit',
]

function indexOf(summaries: PackageSummary[]): SearchIndex {
  const index = new SearchIndex(source)
  for (const s of summaries) index.put(s)
  return index
}

function expectSameAsOracle(index: SearchIndex, summaries: PackageSummary[]) {
  const hidden = (name: string) => !name.startsWith('@scope1/')
  for (const text of QUERIES) {
    for (const [from, size, visible] of [[0, 20, all], [3, 7, hidden], [0, 500, all]] as const) {
      const answer = index.search(parseQuery(text), { from, size, visible })
      expect(shape(answer), `${text} from ${from} size ${size}`).toEqual(oracle(summaries, text, from, size, visible))
    }
  }
}

describe('SearchIndex answers as relevance() and passesQualifiers() over every summary', () => {
  it('for every query shape, page and visibility', () => {
    const summaries = corpus(300)
    expectSameAsOracle(indexOf(summaries), summaries)
  })

  it('after puts, replacements and removals as after a fresh build of what is left', () => {
    const first = corpus(300)
    const index = indexOf(first)
    const live = new Map(first.map((s) => [s.name, s]))
    // Replace every third package with a different text, remove every fifth, add new ones.
    const replaced = corpus(300, 5)
    first.forEach((s, i) => {
      if (i % 3 === 0) {
        const other = replaced[i] as PackageSummary
        const again = summary(s.name, { description: other.description, keywords: other.keywords }, s.origin === 'local' ? 'cached' : 'local')
        index.put(again)
        live.set(s.name, again)
      }
      if (i % 5 === 0) {
        index.remove(s.name)
        live.delete(s.name)
      }
    })
    for (const s of corpus(40, 3).map((s) => summary(`new-${s.name.replace(/^@/, '')}`, { description: s.description, keywords: s.keywords }))) {
      index.put(s)
      live.set(s.name, s)
    }
    const now = [...live.values()]
    expect(index.size).toBe(now.length)
    expectSameAsOracle(index, now)
    const fresh = indexOf(now)
    for (const text of QUERIES) expect(shape(index.search(parseQuery(text), { from: 0, size: 1000, visible: all }))).toEqual(shape(fresh.search(parseQuery(text), { from: 0, size: 1000, visible: all })))
    expect(index.list().map((s) => s.name)).toEqual(fresh.list().map((s) => s.name))
  })

  it('stays right across the renumbering that drops replaced entries', () => {
    const summaries = corpus(50)
    const index = indexOf(summaries)
    // Enough replacements to make dead entries outnumber live ones many times over.
    for (let round = 0; round < 120; round++) for (const s of summaries) index.put(s)
    index.remove(summaries[0]?.name as string)
    expectSameAsOracle(index, summaries.slice(1))
  })
})

describe('SearchIndex visibility', () => {
  it('asks a visible function about each package once, and again for a package put anew', () => {
    const summaries = corpus(60)
    const index = indexOf(summaries)
    const asked: string[] = []
    const visible = (name: string) => {
      asked.push(name)
      return !name.startsWith('@')
    }
    const first = index.search(parseQuery('parser'), { from: 0, size: 5, visible })
    const count = asked.length
    expect(count).toBeGreaterThan(0)
    expect(new Set(asked).size).toBe(count)
    expect(index.search(parseQuery('parser'), { from: 0, size: 5, visible })).toEqual(first)
    expect(index.search(parseQuery(''), { from: 0, size: 100, visible }).total).toBe(summaries.filter((s) => !s.name.startsWith('@')).length)
    const before = asked.length
    index.put(summaries[1] as PackageSummary)
    index.search(parseQuery(''), { from: 0, size: 100, visible })
    expect(asked.slice(before)).toEqual([summaries[1]?.name])
  })

  it('keeps the answers of different functions apart', () => {
    const summaries = corpus(60)
    const index = indexOf(summaries)
    const none = () => false
    expect(index.search(parseQuery('parser'), { from: 0, size: 5, visible: all }).total).toBeGreaterThan(0)
    expect(index.search(parseQuery('parser'), { from: 0, size: 5, visible: none })).toEqual({ total: 0, results: [] })
  })
})

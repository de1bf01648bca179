import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { SearchIndex, parseQuery, type PackageSummary, type SearchAnswer } from '../../../src/core/search/index.js'
import { startHarness, type Harness } from '../server/harness.js'
import { addUsers, basic, publish, summary } from './helpers.js'

const all = () => true
const source = { names: () => Promise.resolve([]), load: () => Promise.resolve(null), stamp: () => Promise.resolve('') }
const shape = (answer: SearchAnswer) => ({ total: answer.total, results: answer.results.map((r) => [r.summary.name, r.score]) })

function indexOf(summaries: PackageSummary[]): SearchIndex {
  const index = new SearchIndex(source)
  for (const s of summaries) index.put(s)
  return index
}

/** Packages whose words overlap in names, keywords and descriptions, so queries match many with tied scores. */
function corpus(count: number): PackageSummary[] {
  const words = ['parser', 'stream', 'fast', 'cache', 'tree']
  return Array.from({ length: count }, (_, i) =>
    summary(
      i % 7 === 0 ? `@team/${words[i % 5]}-${i}` : `${words[(i * 3) % 5]}-lib-${i}`,
      { description: `${words[i % 5]} and ${words[(i + 2) % 5]} tools`, keywords: [words[(i * 2) % 5] as string] },
      i % 4 === 0 ? 'local' : 'cached',
    ),
  )
}

const page = (index: SearchIndex, text: string, from = 0, size = 10, visible: (name: string) => boolean = all) => shape(index.search(parseQuery(text), { from, size, visible }))

describe('remembered search answers', () => {
  it('are dropped by a put or a remove: the next search sees the change, on every page', () => {
    const summaries = corpus(200)
    const index = indexOf(summaries)
    const first = page(index, 'parser', 0, 500)
    expect(page(index, 'parser', 0, 500)).toEqual(first)
    index.put(summary('parser', { description: 'new' }, 'local'))
    const added = page(index, 'parser', 0, 500)
    expect(added.total).toBe(first.total + 1)
    expect(added.results[0]).toEqual(['parser', 1000])
    expect(page(index, 'parser', 5, 10)).toEqual({ total: added.total, results: added.results.slice(5, 15) })
    index.remove('parser')
    expect(page(index, 'parser', 0, 500)).toEqual(first)
    // A new version whose text no longer holds the word.
    index.put(summary('zz-tool', { description: 'a parser' }))
    expect(page(index, 'parser', 0, 500).total).toBe(first.total + 1)
    index.put(summary('zz-tool', { description: 'renamed' }))
    expect(page(index, 'parser', 0, 500)).toEqual(first)
    const gone = summaries[0] as PackageSummary
    expect(page(index, 'parser', 0, 500).results.map((r) => r[0])).toContain(gone.name)
    index.remove(gone.name)
    expect(page(index, 'parser', 0, 500).results.map((r) => r[0])).not.toContain(gone.name)
    expect(page(index, '', 0, 1).total).toBe(200)
    // Words new to the index, after a search that found none of them (the tokens a word is in are remembered).
    expect(page(index, 'zebr').total).toBe(0)
    index.put(summary('zebra-kit', { description: 'zebras', keywords: ['zebra'] }))
    expect(page(index, 'zebr')).toEqual({ total: 1, results: [['zebra-kit', 300 + Math.round(400 / 9)]] })
    expect(page(index, 'z').results).toContainEqual(['zebra-kit', 300 + Math.round(100 / 9)])
  })

  it('are kept apart per reader: one reader never gets the answer ranked for another', () => {
    const index = indexOf(corpus(100))
    const noTeam = (name: string) => !name.startsWith('@team/')
    const full = page(index, 'parser', 0, 100)
    const narrowed = page(index, 'parser', 0, 100, noTeam)
    expect(narrowed.total).toBeLessThan(full.total)
    expect(narrowed.results.every((r) => !String(r[0]).startsWith('@team/'))).toBe(true)
    expect(page(index, 'parser', 0, 100)).toEqual(full)
    expect(page(index, 'parser', 0, 100, noTeam)).toEqual(narrowed)
    expect(page(index, 'parser', 0, 100, () => false)).toEqual({ total: 0, results: [] })
  })

  it('treat the same words in another order as the same query', () => {
    const index = indexOf(corpus(100))
    expect(page(index, 'stream parser')).toEqual(page(index, 'parser stream'))
    expect(page(index, 'parser parser').results[0]?.[1]).toBe(2 * (page(index, 'parser').results[0]?.[1] as number))
  })
})

describe('the reused working arrays', () => {
  it('give each search the answer a fresh index gives, whatever ran before it', () => {
    const summaries = corpus(300)
    const shared = indexOf(summaries)
    const texts = ['parser', 'stream fast', 'tree', 'p', 'keywords:cache', 'scope:team', 'nothing', '', 'fast parser tree', 'lib-1', 'is:local stream', 'cache']
    // Every text after every other, nothing remembered: each search starts from the arrays the last one left.
    for (const before of texts) {
      for (const text of texts) {
        shared.forget()
        page(shared, before, 0, 5)
        shared.forget()
        expect(page(shared, text, 3, 50), `${text} after ${before}`).toEqual(page(indexOf(summaries), text, 3, 50))
      }
    }
  })
})

describe('GET /-/v1/search with remembered answers', () => {
  let h: Harness
  const search = async (text: string, options: { auth?: string; from?: number } = {}) => {
    const res = await fetch(`${h.url}-/v1/search?text=${encodeURIComponent(text)}&size=5&from=${options.from ?? 0}`, { headers: options.auth ? { authorization: options.auth } : {} })
    expect(res.status).toBe(200)
    const body = (await res.json()) as { objects: Array<{ package: { name: string; version: string } }>; total: number }
    return { total: body.total, names: body.objects.map((o) => `${o.package.name}@${o.package.version}`) }
  }

  beforeEach(async () => {
    h = await startHarness()
    await addUsers(h)
  })
  afterEach(() => h.close())

  it('answers a repeated search with what changed since: publish, new version, unpublish', async () => {
    await publish(h, { name: 'cachey-one', version: '1.0.0', description: 'cachey' })
    expect(await search('cachey')).toEqual({ total: 1, names: ['cachey-one@1.0.0'] })
    await publish(h, { name: 'cachey-two', version: '1.0.0' })
    expect(await search('cachey')).toEqual({ total: 2, names: ['cachey-one@1.0.0', 'cachey-two@1.0.0'] })
    expect(await search('cachey', { from: 1 })).toEqual({ total: 2, names: ['cachey-two@1.0.0'] })
    await publish(h, { name: 'cachey-one', version: '1.1.0', description: 'cachey' })
    expect(await search('cachey')).toEqual({ total: 2, names: ['cachey-one@1.1.0', 'cachey-two@1.0.0'] })
    const res = await fetch(`${h.url}cachey-two/-rev/1-local-only`, { method: 'DELETE', headers: { authorization: basic('alice', 'alice-pw') } })
    expect(res.status).toBe(200)
    expect(await search('cachey')).toEqual({ total: 1, names: ['cachey-one@1.1.0'] })
  })

  it('answers each reader by its own rights, in any order', async () => {
    await publish(h, { name: 'private-notes', version: '1.0.0', description: 'notes' })
    await publish(h, { name: 'public-notes', version: '1.0.0', description: 'notes' })
    const alice = basic('alice', 'alice-pw')
    expect(await search('notes')).toEqual({ total: 1, names: ['public-notes@1.0.0'] })
    expect(await search('notes', { auth: alice })).toEqual({ total: 2, names: ['private-notes@1.0.0', 'public-notes@1.0.0'] })
    expect(await search('notes')).toEqual({ total: 1, names: ['public-notes@1.0.0'] })
    expect(await search('notes', { auth: basic('bob', 'bob-pw') })).toEqual({ total: 2, names: ['private-notes@1.0.0', 'public-notes@1.0.0'] })
    await publish(h, { name: 'private-more-notes', version: '1.0.0', description: 'notes' })
    expect(await search('notes', { auth: alice })).toEqual({ total: 3, names: ['private-more-notes@1.0.0', 'private-notes@1.0.0', 'public-notes@1.0.0'] })
    expect(await search('notes')).toEqual({ total: 1, names: ['public-notes@1.0.0'] })
  })

  it('gives many searches at once the answers they get one at a time', async () => {
    for (const [n, word] of ['red', 'green', 'blue', 'red green', 'green blue', 'blue red'].entries()) {
      await publish(h, { name: `color-${n}`, version: '1.0.0', description: `${word} paint` })
    }
    const asks = ['red', 'green', 'blue', 'paint', 'red paint', 'color', 'colo', 'green blue', 'nothing'].flatMap((text) => [0, 1, 2].map((from) => ({ text, from })))
    const together = await Promise.all([...asks, ...asks].map((ask) => search(ask.text, { from: ask.from })))
    const alone = []
    for (const ask of asks) alone.push(await search(ask.text, { from: ask.from }))
    expect(together).toEqual([...alone, ...alone])
    expect(alone[asks.findIndex((a) => a.text === 'paint')]?.total).toBe(6)
  })
})

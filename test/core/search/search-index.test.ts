import { EventEmitter } from 'node:events'
import { describe, expect, it } from 'vitest'
import { SearchIndex, parseQuery, type PackageSummary, type SummaryFeed, type SummarySource } from '../../../src/core/search/index.js'
import { summary } from './helpers.js'

const all = () => true
const names = (index: SearchIndex, text: string, options: { from?: number; size?: number; visible?: (name: string) => boolean } = {}) =>
  index.search(parseQuery(text), { from: options.from ?? 0, size: options.size ?? 100, visible: options.visible ?? all }).results.map((r) => r.summary.name)

function indexOf(summaries: PackageSummary[]): SearchIndex {
  const index = new SearchIndex({ names: () => Promise.resolve([]), load: () => Promise.resolve(null), stamp: () => Promise.resolve('') })
  for (const s of summaries) index.put(s)
  return index
}

/**
 * A source whose loads wait until released, counting how many run at once. Its stamps are
 * what `touch` set (as another process rewriting a package would change them).
 */
function gatedSource(docs: Map<string, PackageSummary | null>) {
  const stamps = new Map<string, number>()
  const gates: Array<() => void> = []
  let running = 0
  let peak = 0
  let loads = 0
  const source: SummarySource = {
    // A null document: the package is gone from the store (not listed, and reads as nothing).
    names: () => Promise.resolve([...docs].filter(([, doc]) => doc !== null).map(([name]) => name)),
    async load(name) {
      loads++
      running++
      peak = Math.max(peak, running)
      await new Promise<void>((resolve) => gates.push(resolve))
      running--
      const value = docs.get(name)
      if (value === undefined) throw new Error(`cannot read ${name}`)
      return value
    },
    stamp: (name) => Promise.resolve(String(stamps.get(name) ?? 0)),
  }
  return {
    source,
    touch: (name: string) => stamps.set(name, (stamps.get(name) ?? 0) + 1),
    releaseAll: () => gates.splice(0).forEach((release) => release()),
    waiting: () => gates.length,
    stats: () => ({ peak, loads }),
  }
}

const tick = () => new Promise((resolve) => setImmediate(resolve))

describe('SearchIndex.search', () => {
  const index = indexOf([
    summary('express', { description: 'Fast web framework', keywords: ['web', 'framework'], author: 'TJ' }),
    summary('express-session', { description: 'Sessions for express', keywords: ['session'] }),
    summary('@acme/web-kit', { description: 'Internal kit', keywords: ['web'], maintainers: [{ name: 'alice' }] }, 'local'),
    summary('koa', { description: 'Expressive middleware for node.js', keywords: ['web', 'legacy'] }),
    summary('zeta-express-adapter', { description: 'Adapter' }),
    summary('old-thing', { description: 'Old', deprecated: 'gone' }),
    summary('beta-lib', { description: 'Beta' }, 'local', ['0.3.0']),
  ])

  it('ranks the exact name first, then prefixes, name parts, names containing the word, then descriptions', () => {
    expect(names(index, 'express')).toEqual(['express', 'express-session', 'zeta-express-adapter', 'koa'])
  })

  it('needs every word to match', () => {
    expect(names(index, 'express session')).toEqual(['express-session'])
    expect(names(index, 'express nothing-like-it')).toEqual([])
  })

  it('matches one letter only where it starts the name or a part of it', () => {
    expect(names(index, 'k')).toEqual(['koa', '@acme/web-kit'])
    expect(names(index, 'e')).toEqual(['express', 'express-session', 'zeta-express-adapter'])
  })

  it('matches keywords, descriptions and people', () => {
    expect(names(index, 'framework')).toEqual(['express'])
    expect(names(index, 'internal')).toEqual(['@acme/web-kit'])
    expect(names(index, 'alice')).toEqual(['@acme/web-kit'])
  })

  it('applies qualifiers as npm does', () => {
    expect(names(index, 'keywords:web')).toEqual(['@acme/web-kit', 'express', 'koa'])
    expect(names(index, 'keywords:web,-legacy')).toEqual(['@acme/web-kit', 'express'])
    expect(names(index, 'keywords:session,framework')).toEqual(['express', 'express-session'])
    expect(names(index, 'scope:acme')).toEqual(['@acme/web-kit'])
    expect(names(index, 'author:tj')).toEqual(['express'])
    expect(names(index, 'maintainer:alice')).toEqual(['@acme/web-kit'])
    expect(names(index, 'is:deprecated')).toEqual(['old-thing'])
    expect(names(index, 'is:unstable')).toEqual(['beta-lib'])
    expect(names(index, 'is:local')).toEqual(['@acme/web-kit', 'beta-lib'])
    expect(names(index, 'express not:cached')).toEqual([])
  })

  it('lists everything, local first, when there are no words', () => {
    expect(names(index, '')).toEqual(['@acme/web-kit', 'beta-lib', 'express', 'express-session', 'koa', 'old-thing', 'zeta-express-adapter'])
  })

  it('pages, and counts only what the caller may see', () => {
    const visible = (name: string) => !name.startsWith('@acme/')
    const answer = index.search(parseQuery(''), { from: 2, size: 2, visible })
    expect(answer.total).toBe(6)
    expect(answer.results.map((r) => r.summary.name)).toEqual(['express-session', 'koa'])
    expect(index.search(parseQuery('web'), { from: 0, size: 10, visible }).results.map((r) => r.summary.name)).not.toContain('@acme/web-kit')
    expect(index.search(parseQuery('keywords:web'), { from: 0, size: 10, visible }).total).toBe(2)
  })
})

describe('SearchIndex building and following changes', () => {
  it('builds from the source with bounded concurrency while searches already answer', async () => {
    const docs = new Map(Array.from({ length: 40 }, (_, i) => [`pkg-${i}`, summary(`pkg-${i}`)] as const))
    const gated = gatedSource(docs)
    const index = new SearchIndex(gated.source)
    const built = index.build(4)
    await tick()
    expect(index.state).toBe('building')
    expect(names(index, '')).toEqual([])
    while (index.state === 'building') {
      gated.releaseAll()
      await tick()
    }
    await built
    expect(index.size).toBe(40)
    expect(gated.stats().peak).toBe(4)
  })

  it('reports unreadable packages and keeps going', async () => {
    const errors: Array<string | null> = []
    const index = new SearchIndex(
      {
        names: () => Promise.resolve(['good', 'broken']),
        load: (name) => (name === 'broken' ? Promise.reject(new Error('ECORRUPT')) : Promise.resolve(summary(name))),
        stamp: () => Promise.resolve(''),
      },
      (name) => errors.push(name),
    )
    await index.build()
    expect(index.size).toBe(1)
    expect(errors).toEqual(['broken'])
  })

  it('refreshes on change events; a search waits for them, so a publish is found at once', async () => {
    const docs = new Map<string, PackageSummary | null>()
    const gated = gatedSource(docs)
    const index = new SearchIndex(gated.source)
    const events = new EventEmitter()
    index.follow(events)
    docs.set('fresh', summary('fresh', {}, 'local'))
    events.emit('changed', 'fresh')
    let settled = false
    const waiting = index.settled().then(() => (settled = true))
    await tick()
    expect(settled).toBe(false)
    gated.releaseAll()
    await waiting
    expect(names(index, 'fresh')).toEqual(['fresh'])
    docs.set('fresh', null)
    events.emit('changed', 'fresh')
    await tick()
    gated.releaseAll()
    await index.settled()
    expect(index.size).toBe(0)
    expect(names(index, 'fresh')).toEqual([])
  })

  it('takes the summary a change event carries instead of reading the package, beside a feed only; a waiting refresh takes the latest word', async () => {
    const docs = new Map<string, PackageSummary | null>([['cached', summary('cached', { description: 'on disk' })]])
    const gated = gatedSource(docs)
    const feed: SummaryFeed = {
      changeCursor: () => Promise.resolve('c'),
      changesSince: () => Promise.resolve({ names: [], cursor: 'c' }),
      readSnapshot: () => Promise.resolve(null),
      writeSnapshot: () => Promise.resolve(),
    }
    const index = new SearchIndex({ ...gated.source, feed })
    const events = new EventEmitter()
    index.follow(events)
    const { text: _text, ...fields } = summary('cached', { description: 'from the fill' })
    events.emit('changed', 'cached', fields)
    await index.settled()
    expect(gated.stats().loads).toBe(0)
    expect(index.get('cached')?.description).toBe('from the fill')
    expect(names(index, 'fill')).toEqual(['cached'])
    events.emit('changed', 'cached', null)
    await index.settled()
    expect(index.get('cached')).toBeUndefined()

    // Fields given to a refresh that waits behind a read are dropped by a later change without any.
    events.emit('changed', 'cached')
    await tick()
    expect(gated.waiting()).toBe(1)
    events.emit('changed', 'cached', fields)
    events.emit('changed', 'cached')
    gated.releaseAll()
    await tick()
    gated.releaseAll()
    await index.settled()
    expect(gated.stats().loads).toBe(2)
    expect(index.get('cached')?.description).toBe('on disk')

    // Without a feed a stamp is read with each refresh, which may be of a later change: read the package.
    const plain = new SearchIndex(gated.source)
    const more = new EventEmitter()
    plain.follow(more)
    more.emit('changed', 'cached', fields)
    await tick()
    gated.releaseAll()
    await plain.settled()
    expect(gated.stats().loads).toBe(3)
    expect(plain.get('cached')?.description).toBe('on disk')
  })

  it('reads a name again after a change that arrived during its read, and coalesces the rest', async () => {
    const docs = new Map<string, PackageSummary | null>([['busy', summary('busy', { description: 'first' })]])
    const gated = gatedSource(docs)
    const index = new SearchIndex(gated.source)
    const events = new EventEmitter()
    index.follow(events)
    events.emit('changed', 'busy')
    await tick()
    expect(gated.waiting()).toBe(1) // the first read is under way
    docs.set('busy', summary('busy', { description: 'second' }))
    events.emit('changed', 'busy')
    events.emit('changed', 'busy')
    events.emit('changed', 'busy')
    gated.releaseAll() // the first read returns; the old document may have been read
    await tick()
    expect(gated.waiting()).toBe(1) // exactly one more read for the three events
    gated.releaseAll()
    await index.settled()
    expect(index.get('busy')?.description).toBe('second')
    expect(gated.stats().loads).toBe(2)
  })

  it('sync reads again what other processes changed, adds new packages and drops removed ones', async () => {
    const docs = new Map<string, PackageSummary | null>([
      ['kept', summary('kept')],
      ['changed', summary('changed', { description: 'before' })],
      ['removed', summary('removed')],
    ])
    const gated = gatedSource(docs)
    const index = new SearchIndex(gated.source)
    const drain = async (work: Promise<void>) => {
      let done = false
      void work.then(() => (done = true))
      while (!done) {
        gated.releaseAll()
        await tick()
      }
    }
    await drain(index.build())
    expect(gated.stats().loads).toBe(3)

    await drain(index.sync())
    expect(gated.stats().loads).toBe(3) // nothing changed: nothing read

    docs.set('changed', summary('changed', { description: 'after' }))
    gated.touch('changed')
    docs.set('added', summary('added'))
    docs.set('removed', null)
    await drain(index.sync())
    // 'changed' and 'added', and 'removed' once more (gone from the listing: read to be sure).
    expect(gated.stats().loads).toBe(6)
    expect(index.get('changed')?.description).toBe('after')
    expect(index.get('added')).toBeDefined()
    expect(index.get('removed')).toBeUndefined()
    expect(index.get('kept')).toBeDefined()
  })

  it('stops building and following when closed', async () => {
    const docs = new Map(Array.from({ length: 10 }, (_, i) => [`p${i}`, summary(`p${i}`)] as const))
    const gated = gatedSource(docs)
    const index = new SearchIndex(gated.source)
    const events = new EventEmitter()
    const unfollow = index.follow(events)
    const built = index.build(2)
    await tick()
    index.close()
    unfollow()
    gated.releaseAll()
    await tick()
    gated.releaseAll()
    await built
    expect(gated.stats().loads).toBe(2)
    events.emit('changed', 'p5')
    expect(gated.waiting()).toBe(0)
  })
})

import path from 'node:path'
import { stringify } from 'yaml'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { parseConfig } from '../../../src/core/config/index.js'
import { silentLogger } from '../../../src/core/log.js'
import { startServer } from '../../../src/core/server/index.js'
import { startHarness, type Harness } from '../server/harness.js'
import { buildPackage } from '../../helpers/packages.js'
import { addUsers, basic, publish } from './helpers.js'

interface SearchBody {
  objects: Array<{
    package: Record<string, unknown> & { name: string }
    score: { final: number; detail: Record<string, number> }
    searchScore: number
    origin: string
  }>
  total: number
  time: string
}

describe('GET /-/v1/search', () => {
  let h: Harness
  const search = async (query: string, auth?: string): Promise<SearchBody> => {
    const res = await fetch(`${h.url}-/v1/search?${query}`, { headers: auth ? { authorization: auth } : {} })
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toBe('application/json')
    return (await res.json()) as SearchBody
  }
  const found = async (text: string, auth?: string) => (await search(`text=${encodeURIComponent(text)}`, auth)).objects.map((o) => o.package.name)

  beforeEach(async () => {
    h = await startHarness()
    await addUsers(h)
  })
  afterEach(() => h.close())

  it("answers in npm's shape, and finds a package as soon as its publish is answered", async () => {
    await publish(h, {
      name: 'searchable-lib',
      version: '1.2.0',
      description: 'Finds things fast',
      extra: { keywords: ['finder', 'fast'], homepage: 'https://searchable.example/', repository: 'git+https://git.example/o/searchable-lib.git' },
    })
    const body = await search('text=searchable&size=20&from=0&quality=0.65&popularity=0.98&maintenance=0.5')
    expect(body.total).toBe(1)
    expect(new Date(body.time).getTime()).not.toBeNaN()
    const [hit] = body.objects
    expect(hit?.origin).toBe('local')
    expect(hit?.searchScore).toBeGreaterThan(0)
    expect(hit?.score).toEqual({ final: 1, detail: { quality: 1, popularity: 1, maintenance: 1 } })
    expect(hit?.package).toEqual({
      name: 'searchable-lib',
      scope: 'unscoped',
      version: '1.2.0',
      description: 'Finds things fast',
      keywords: ['finder', 'fast'],
      date: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
      links: { npm: `${h.url}-/web/package/searchable-lib`, homepage: 'https://searchable.example/', repository: 'https://git.example/o/searchable-lib' },
      publisher: { username: 'alice' },
      maintainers: [{ username: 'alice' }],
    })
  })

  it('finds cached packages (labelled cached) once they were fetched, and honours qualifiers', async () => {
    expect((await fetch(`${h.url}alpha`)).status).toBe(200)
    expect((await fetch(`${h.url}@acme%2fwidget`)).status).toBe(200)
    await publish(h, { name: 'alpha-helper', version: '0.1.0', extra: { keywords: ['alpha'] } })
    const body = await search('text=alpha')
    expect(body.objects.map((o) => [o.package.name, o.origin])).toEqual([
      ['alpha', 'cached'],
      ['alpha-helper', 'local'],
    ])
    expect(await found('scope:acme')).toEqual(['@acme/widget'])
    expect(await found('keywords:alpha')).toEqual(['alpha-helper'])
    expect(await found('alpha is:cached')).toEqual(['alpha'])
    expect(await found('maintainer:alice')).toEqual(['alpha-helper'])
  })

  it('finds a cached package whose document is over 1 MB (summarised in the view worker)', async () => {
    // The worker's answer crosses threads as plain fields; its search text, read through getters,
    // is made back on the server's thread. Without that, such a package never reached the index.
    h.upstream.addPackage(await buildPackage({ name: 'sizeable', version: '1.0.0', description: 'a roomy document', extra: { notes: 'x'.repeat(1_500_000) } }))
    expect((await fetch(`${h.url}sizeable`)).status).toBe(200)
    expect(await found('roomy')).toEqual(['sizeable'])
  })

  it('shows a package only to those who may read it', async () => {
    await publish(h, { name: 'private-plans', version: '1.0.0', description: 'secret plans' })
    await publish(h, { name: 'public-plans', version: '1.0.0', description: 'open plans' })
    expect(await found('plans')).toEqual(['public-plans'])
    expect((await search('text=')).total).toBe(1)
    expect(await found('plans', basic('alice', 'alice-pw'))).toEqual(['private-plans', 'public-plans'])
    expect(await found('plans', basic('bob', 'bob-pw'))).toEqual(['private-plans', 'public-plans'])
    expect((await fetch(`${h.url}-/v1/search?text=plans`, { headers: { authorization: basic('bob', 'wrong') } })).status).toBe(401)
  })

  it('pages with size and from, and clamps nonsense', async () => {
    for (const n of [1, 2, 3]) await publish(h, { name: `paged-${n}`, version: '1.0.0' })
    const page = await search('text=paged&size=2&from=1')
    expect(page.total).toBe(3)
    expect(page.objects.map((o) => o.package.name)).toEqual(['paged-2', 'paged-3'])
    expect((await search('text=paged&size=-5&from=abc')).objects).toHaveLength(3)
    expect((await fetch(`${h.url}-/v1/search?text=x`, { method: 'POST' })).status).toBe(405)
  })

  it('drops unpublished packages and follows tag changes and deprecations', async () => {
    await publish(h, { name: 'short-lived', version: '1.0.0' })
    expect(await found('short-lived')).toEqual(['short-lived'])
    const res = await fetch(`${h.url}short-lived/-rev/1-local-only`, { method: 'DELETE', headers: { authorization: basic('alice', 'alice-pw') } })
    expect(res.status).toBe(200)
    expect(await found('short-lived')).toEqual([])
  })

  it('builds the index from the store at start, then sees what other processes change', async () => {
    await publish(h, { name: 'survivor', version: '3.0.0' })
    expect((await fetch(`${h.url}alpha`)).status).toBe(200)
    const text = stringify({ storage: h.storage, uplinks: { npmjs: { url: h.upstream.url } }, packages: { '**': { access: '$all', proxy: 'npmjs' } } })
    const { config } = parseConfig(text, path.join(h.dir, 'second.yaml'))
    const second = await startServer(config, { host: '127.0.0.1', port: 0 }, silentLogger, { searchSyncMs: 50 })
    const namesOnSecond = async (want: number) => {
      let names: string[] = []
      for (let i = 0; i < 100 && names.length !== want; i++) {
        const body = (await (await fetch(`${second.url}-/v1/search?text=`)).json()) as SearchBody
        names = body.objects.map((o) => `${o.package.name}:${o.origin}`)
        if (names.length !== want) await new Promise((resolve) => setTimeout(resolve, 20))
      }
      return names
    }
    try {
      expect(await namesOnSecond(2)).toEqual(['survivor:local', 'alpha:cached'])
      // Published through the first server (another process, as far as the second knows): the
      // second finds it by its periodic look at the store, and drops it again after an unpublish.
      await publish(h, { name: 'elsewhere', version: '1.0.0' })
      expect(await namesOnSecond(3)).toEqual(['elsewhere:local', 'survivor:local', 'alpha:cached'])
      const res = await fetch(`${h.url}elsewhere/-rev/1-local-only`, { method: 'DELETE', headers: { authorization: basic('alice', 'alice-pw') } })
      expect(res.status).toBe(200)
      expect(await namesOnSecond(2)).toEqual(['survivor:local', 'alpha:cached'])
    } finally {
      await second.close(1000)
    }
  })
})

import type { ServerResponse } from 'node:http'
import { LRUCache } from 'lru-cache'
import type { Polka, Request } from 'polka'
import { CACHE_BOUNDS } from '../../cache-bounds.js'
import type { User } from '../../auth/index.js'
import type { PackageRule } from '../../config/types.js'
import { allows } from '../../registry/index.js'
import { pageOf, parseQuery, searchResponse } from '../../search/index.js'
import { parseUplinkSearch, type UplinkHit } from '../../search/uplink-results.js'
import { packagePage } from '../../web/index.js'
import type { ServerContext } from '../context.js'
import { identify } from '../identify.js'
import { publicBaseUrl } from '../negotiate.js'
import { methodNotAllowed, sendJson } from '../respond.js'

/** `npm search`: `GET /-/v1/search?text=&size=&from=`, answered from the in-memory index. */
export function searchRoutes(app: Polka, ctx: ServerContext): void {
  app.get('/-/v1/search', async (req: Request, res: ServerResponse) => {
    const user = await identify(ctx, req)
    const query = req.query as Record<string, string | string[] | undefined>
    const { size, from } = pageOf(first(query.size), first(query.from))
    // A package published before this request was answered is findable in it.
    await ctx.search.settled()
    const text = first(query.text) ?? ''
    const visible = readableBy(ctx, user)
    const answer = ctx.search.search(parseQuery(text), { from, size, visible })
    const base = publicBaseUrl(req, ctx.config.urlPrefix, ctx.hostForUrls, ctx.config.trustProxy)
    const root = new URL(base).pathname
    const origin = base.slice(0, base.length - root.length)
    const body: { objects: Array<ReturnType<typeof searchResponse>['objects'][number] | UplinkHit>; total: number; time: string } = searchResponse(
      answer,
      (name) => origin + packagePage(root, name),
    )
    // Local results first; the rest of the page from the uplinks, for packages nobody installed here yet.
    const missing = size - body.objects.length
    if (ctx.config.search.uplink && missing > 0 && text.trim() !== '') {
      const more = await uplinkResults(ctx, text, { from: Math.max(0, from - answer.total), size: missing }, visible)
      body.objects.push(...more.hits)
      body.total += more.total
    }
    sendJson(res, 200, body, { 'cache-control': 'no-store', vary: 'Authorization, Cookie' })
  })
  app.all('/-/v1/search', (req: Request, res: ServerResponse) => methodNotAllowed(res, req.method, ['GET', 'HEAD']))

  // `npm stars [user]`: the CouchDB view npm asks, `key` being the user name as a JSON string.
  app.get('/-/_view/starredByUser', async (req: Request, res: ServerResponse) => {
    const user = await identify(ctx, req)
    const key = first((req.query as Record<string, string | string[] | undefined>).key) ?? ''
    const starrer = jsonString(key)
    await ctx.search.settled()
    const names = starrer ? ctx.search.starredBy(starrer, readableBy(ctx, user)) : []
    sendJson(res, 200, { rows: names.map((name) => ({ key: starrer, value: name })) }, { 'cache-control': 'no-store', vary: 'Authorization, Cookie' })
  })
  app.all('/-/_view/starredByUser', (req: Request, res: ServerResponse) => methodNotAllowed(res, req.method, ['GET', 'HEAD']))
}

/** `"alice"` (as npm sends it) or a bare `alice`. */
function jsonString(value: string): string {
  try {
    const parsed: unknown = JSON.parse(value)
    return typeof parsed === 'string' ? parsed : ''
  } catch {
    return value
  }
}

/**
 * Hits of the uplinks' own search that this registry would serve from that uplink, the caller
 * may read, and the store does not already hold (those are among the local results). An uplink
 * whose circuit is open is not asked; one that is slow or fails adds nothing (after
 * `search.timeout` at most): local results never wait longer than that.
 */
async function uplinkResults(ctx: ServerContext, text: string, page: { from: number; size: number }, visible: (name: string) => boolean): Promise<{ hits: UplinkHit[]; total: number }> {
  const uplinks = new Set(ctx.config.packages.flatMap((rule) => rule.proxy))
  const closed = new Set(ctx.upstream.states().filter((s) => s.state === 'closed').map((s) => s.uplink))
  const signal = AbortSignal.timeout(ctx.config.search.timeout)
  const answers = await Promise.all(
    [...uplinks]
      .filter((uplink) => closed.has(uplink))
      .map(async (uplink) => {
        try {
          // A few more than needed: some are dropped below.
          const { hits, total } = parseUplinkSearch(await ctx.upstream.search(uplink, { text, from: page.from, size: Math.min(250, page.size + 10) }, signal))
          return { hits: hits.filter((hit) => visible(hit.package.name) && !ctx.search.get(hit.package.name) && ctx.registry.packuments.uplinksFor(hit.package.name).includes(uplink)), total }
        } catch {
          return { hits: [], total: 0 }
        }
      }),
  )
  const seen = new Set<string>()
  const hits = answers.flatMap((a) => a.hits).filter((hit) => !seen.has(hit.package.name) && seen.add(hit.package.name))
  return { hits: hits.slice(0, page.size), total: answers.reduce((sum, a) => sum + a.total, 0) }
}

function first(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value
}

/**
 * Each name's rule (false: none), remembered per rule list (a config reload brings a new list,
 * and a new memo). Bounded: uplink search hits bring names from anywhere.
 */
const rulesByName = new WeakMap<PackageRule[], LRUCache<string, PackageRule | false>>()
/** The readers made per rule list, by what they may read: the search index remembers each one's answers. */
const readersByRules = new WeakMap<PackageRule[], LRUCache<string, (name: string) => boolean>>()

/**
 * Whether `user` may read a name, for filtering thousands of names per request: the rule of
 * each name is looked up once per config, the verdict once per rule. Lists and searches use
 * it, so nobody sees a name they could not read. Readers are told apart by what they may
 * read: everyone whom the same rules let read the same (all anonymous readers, and every user
 * the rules name alike) gets the same function back, which the search index asks once per
 * package and whose answers it remembers (ranked-cache.ts).
 */
export function readableBy(ctx: ServerContext, user: User | null): (name: string) => boolean {
  const packages = ctx.config.packages
  let readers = readersByRules.get(packages)
  if (!readers) {
    readers = new LRUCache({ max: CACHE_BOUNDS.searchReaders })
    readersByRules.set(packages, readers)
  }
  const verdicts = new Map(packages.map((rule) => [rule, allows(rule.access, user)]))
  const key = [...verdicts.values()].map((verdict) => (verdict ? '1' : '0')).join('')
  let reader = readers.get(key)
  if (!reader) {
    reader = newReader(ctx, packages, verdicts)
    readers.set(key, reader)
  }
  return reader
}

function newReader(ctx: ServerContext, packages: PackageRule[], verdicts: Map<PackageRule, boolean>): (name: string) => boolean {
  let memo = rulesByName.get(packages)
  if (!memo) {
    memo = new LRUCache({ max: CACHE_BOUNDS.ruleMatches })
    rulesByName.set(packages, memo)
  }
  const rules = memo
  return (name) => {
    let rule = rules.get(name)
    if (rule === undefined) {
      rule = ctx.registry.rules.match(name) ?? false
      rules.set(name, rule)
    }
    // A rule of another list (a reload between the two reads): nobody reads through it here.
    return rule ? (verdicts.get(rule) ?? false) : false
  }
}

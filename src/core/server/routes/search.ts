import type { ServerResponse } from 'node:http'
import type { Polka, Request } from 'polka'
import type { User } from '../../auth/index.js'
import type { PackageRule } from '../../config/types.js'
import { allows } from '../../registry/index.js'
import { pageOf, parseQuery, searchResponse } from '../../search/index.js'
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
    const answer = ctx.search.search(parseQuery(first(query.text) ?? ''), { from, size, visible: readableBy(ctx, user) })
    const base = publicBaseUrl(req, ctx.config.urlPrefix, ctx.hostForUrls, ctx.config.trustProxy)
    const root = new URL(base).pathname
    const origin = base.slice(0, base.length - root.length)
    sendJson(res, 200, searchResponse(answer, (name) => origin + packagePage(root, name)), { 'cache-control': 'no-store', vary: 'Authorization, Cookie' })
  })
  app.all('/-/v1/search', (req: Request, res: ServerResponse) => methodNotAllowed(res, req.method, ['GET', 'HEAD']))
}

function first(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value
}

/** Each name's rule, remembered per rule list (a config reload brings a new list, and a new memo). */
const rulesByName = new WeakMap<PackageRule[], Map<string, PackageRule | null>>()

/**
 * Whether `user` may read a name, for filtering thousands of names per request: the rule of
 * each name is looked up once per config, the verdict once per rule and request. Lists and
 * searches use it, so nobody sees a name they could not read.
 */
export function readableBy(ctx: ServerContext, user: User | null): (name: string) => boolean {
  const packages = ctx.config.packages
  let memo = rulesByName.get(packages)
  if (!memo) {
    memo = new Map()
    rulesByName.set(packages, memo)
  }
  const rules = memo
  const verdicts = new Map<PackageRule, boolean>()
  return (name) => {
    let rule = rules.get(name)
    if (rule === undefined) {
      rule = ctx.registry.rules.match(name)
      rules.set(name, rule)
    }
    if (!rule) return false
    let verdict = verdicts.get(rule)
    if (verdict === undefined) {
      verdict = allows(rule.access, user)
      verdicts.set(rule, verdict)
    }
    return verdict
  }
}

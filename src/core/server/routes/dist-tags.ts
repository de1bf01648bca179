import type { ServerResponse } from 'node:http'
import type { Polka, Request } from 'polka'
import { notFound } from '../../errors.js'
import { parseDistTagsPath, parseTagVersion } from '../../registry/index.js'
import type { ServerContext } from '../context.js'
import { authorize, identify } from '../identify.js'
import { methodNotAllowed, sendJson } from '../respond.js'
import { actorOf, readJson } from './publish.js'

/** `npm dist-tag ls/add/rm`: `/-/package/:name/dist-tags[/:tag]`, the version as a JSON string body. */
export function distTagRoutes(app: Polka, ctx: ServerContext): void {
  app.all('/-/package/*', async (req: Request, res: ServerResponse) => {
    const target = parseDistTagsPath(req.path)
    if (!target) throw notFound('not found', 'ENOROUTE')
    const rule = ctx.registry.rules.match(target.name)
    const user = await identify(ctx, req)
    authorize(rule, target.name, user, 'access')
    if (target.tag === undefined) {
      if (req.method !== 'GET' && req.method !== 'HEAD') methodNotAllowed(res, req.method, ['GET'])
      const answer = await ctx.registry.packuments.get(target.name)
      return sendJson(res, 200, answer.view.distTags)
    }
    if (req.method === 'PUT' || req.method === 'POST') {
      authorize(rule, target.name, user, 'publish')
      const version = parseTagVersion(await readJson(req, ctx))
      await ctx.registry.publisher.setTag(target.name, target.tag, version, actorOf(rule, target.name, user))
      return sendJson(res, 201, { ok: true })
    }
    if (req.method === 'DELETE') {
      authorize(rule, target.name, user, 'publish')
      await ctx.registry.publisher.removeTag(target.name, target.tag, actorOf(rule, target.name, user))
      return sendJson(res, 200, { ok: true })
    }
    methodNotAllowed(res, req.method, ['PUT', 'DELETE'])
  })
}

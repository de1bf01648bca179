import type { IncomingMessage, ServerResponse } from 'node:http'
import type { User } from '../../auth/index.js'
import type { PackageRule } from '../../config/types.js'
import { SinopiaError, notFound } from '../../errors.js'
import { asPublishBody, changesPackage, isEmptyPlan, isPublishBody, parseEdit, parsePublish, tarballVersion, type Actor, type PackagePath } from '../../registry/index.js'
import { readJson as readJsonBody } from '../body.js'
import type { ServerContext } from '../context.js'
import { authorize, identify } from '../identify.js'
import { methodNotAllowed, sendJson } from '../respond.js'

/** Parses a JSON request body within max_body_size and max_json_depth; 400 for anything that is not JSON. */
export async function readJson(req: IncomingMessage, ctx: ServerContext): Promise<unknown> {
  return readJsonBody(req, { limit: ctx.config.maxBodySize, maxDepth: ctx.config.maxJsonDepth })
}

/**
 * The writes npm, yarn and pnpm send to package URLs: publish and the other PUTs
 * (deprecate, unpublish one version, star, owner), and the DELETEs of unpublish.
 */
export async function writePackage(req: IncomingMessage, res: ServerResponse, ctx: ServerContext, target: PackagePath): Promise<void> {
  const { name } = target
  const rule = ctx.registry.rules.match(name)
  const user = await identify(ctx, req)
  const publisher = ctx.registry.publisher
  if (req.method === 'PUT' && target.kind === 'packument') {
    // Before a byte of the body is read: who may send one at all. Every write needs read
    // access, and a login unless the rule lets anonymous users publish (a star needs one too).
    authorize(rule, name, user, 'access')
    if (!user) authorize(rule, name, user, 'publish')
    const actor = actorOf(rule, name, user)
    const body = asPublishBody(await readJson(req, ctx))
    if (isPublishBody(body)) {
      // Before the costly checks of the tarballs: whether this user may publish at all.
      authorize(rule, name, user, 'publish')
      const limits = { maxUnpackedSize: ctx.config.maxUnpackedSize, maxManifestSize: ctx.config.maxBodySize, maxJsonDepth: ctx.config.maxJsonDepth }
      const versions = await publisher.publish(name, await parsePublish(name, body, limits), actor)
      ctx.log.log('info', `published ${name}@${versions.join(', ')} by ${user?.name ?? 'anonymous'}`)
      return sendJson(res, 201, { ok: true, success: true })
    }
    const plan = await publisher.plan(name, parseEdit(body, target.rev), user?.name ?? null)
    if (!user) throw new SinopiaError('EUNAUTHORIZED', `log in to change ${name}`)
    if (isEmptyPlan(plan)) return sendJson(res, 201, { ok: true })
    // Otherwise a star needs only the login: it changes nothing but the user's own entry.
    if (changesPackage(plan)) {
      authorize(rule, name, user, 'publish')
      if (plan.removed.length > 0) authorize(rule, name, user, 'unpublish')
    }
    await publisher.apply(name, plan, actor)
    return sendJson(res, 201, { ok: true })
  }
  if (req.method === 'DELETE' && target.kind === 'packument' && target.rev !== undefined) {
    authorize(rule, name, user, 'unpublish')
    await publisher.removePackage(name, actorOf(rule, name, user), target.rev)
    ctx.log.log('info', `unpublished ${name} by ${user?.name ?? 'anonymous'}`)
    return sendJson(res, 200, { ok: true })
  }
  if (req.method === 'DELETE' && target.kind === 'tarball' && target.rev !== undefined) {
    authorize(rule, name, user, 'unpublish')
    await publisher.removeBlobIfUnused(name, tarballVersion(name, target.file))
    return sendJson(res, 200, { ok: true })
  }
  methodNotAllowed(res, req.method, ['GET', 'HEAD'])
}

/** Who asks, under which rule, for the ownership checks in core (after `authorize`, so a rule exists). */
export function actorOf(rule: PackageRule | null, name: string, user: User | null): Actor {
  if (!rule) throw notFound(`package ${name} not found`)
  return { user: user && { name: user.name, groups: user.groups }, rule }
}

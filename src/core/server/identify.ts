import type { IncomingMessage } from 'node:http'
import type { User } from '../auth/index.js'
import { SinopiaError } from '../errors.js'
import type { PackageRule } from '../config/types.js'
import { allows } from '../registry/index.js'
import type { ServerContext } from './context.js'
import { clientAddress } from './negotiate.js'

const identities = new WeakMap<IncomingMessage, Promise<User | null>>()
/** The names worked out so far, for the request log (which must not wait on a lookup). */
const names = new WeakMap<IncomingMessage, string>()

/** The user a request was identified as, if it was and it is not anonymous. */
export function identifiedName(req: IncomingMessage): string | undefined {
  return names.get(req)
}

/**
 * Who sent the request (null: anonymous), worked out once per request: from the Authorization
 * header, or, for GET and HEAD without one, from the web session cookie.
 */
export function identify(ctx: ServerContext, req: IncomingMessage): Promise<User | null> {
  let pending = identities.get(req)
  if (!pending) {
    const read = req.method === 'GET' || req.method === 'HEAD'
    if (req.headers.authorization || !read) {
      pending = ctx.auth.identify(req.headers.authorization, clientAddress(req, ctx.config.trustProxy))
      // A stale token in a user's .npmrc must not break installs of packages anyone may read:
      // on reads, an unknown token counts as none (a private package then still answers 401).
      // A wrong password still gets its 401: the person typing it wants to know.
      if (read && /^bearer /i.test(req.headers.authorization ?? '')) pending = pending.catch(anonymousIfUnauthorized)
    } else pending = sessionUser(ctx, req.headers.cookie)
    identities.set(req, pending)
    pending.then(
      (user) => user && names.set(req, user.name),
      () => undefined,
    )
  }
  return pending
}

function anonymousIfUnauthorized(error: unknown): null {
  if (error instanceof SinopiaError && error.code === 'EUNAUTHORIZED') return null
  throw error
}

/**
 * The user of the web page's session cookie. It counts for reads only: browsers attach
 * cookies by themselves, so a write must always carry explicit credentials. A session of a
 * user removed since is ended.
 */
async function sessionUser(ctx: ServerContext, cookie: string | undefined): Promise<User | null> {
  const name = ctx.webSessions.user(cookie)
  if (!name) return null
  if (!(await ctx.auth.users.exists(name))) {
    ctx.webSessions.forgetUser(name)
    return null
  }
  return { name, groups: [] }
}

export type Action = 'access' | 'publish' | 'unpublish'

/**
 * Throws unless `user` may do `action` to the package `name` under its rule: 401 when
 * logging in could help (anonymous), 403 when it cannot (logged in, not allowed), 404
 * when no rule covers the name at all. A read-only token may only read.
 */
export function authorize(rule: PackageRule | null, name: string, user: User | null, action: Action): void {
  if (!rule) throw new SinopiaError('ENOTFOUND', `package ${name} not found`)
  if (action !== 'access' && user?.token?.readonly) {
    throw new SinopiaError('EFORBIDDEN', 'this token is read-only')
  }
  if (allows(rule[action], user)) return
  if (!user) throw new SinopiaError('EUNAUTHORIZED', `log in to ${action === 'access' ? 'read' : action} ${name}`)
  throw new SinopiaError('EFORBIDDEN', `user ${user.name} may not ${action === 'access' ? 'read' : action} ${name}`)
}

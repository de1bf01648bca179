import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Polka, Request } from 'polka'
import { WRONG_PASSWORD, assertUserName, isIpv4Cidr, type TokenRecord, type User } from '../../auth/index.js'
import { SinopiaError, badRequest, isSinopiaError, notFound } from '../../errors.js'
import { parseJson, readBody } from '../body.js'
import type { ServerContext } from '../context.js'
import { identify } from '../identify.js'
import { LoginSessions, expiredPage, loggedInPage, loginForm, sendPage } from '../login-page.js'
import { clientAddress, publicBaseUrl } from '../negotiate.js'
import { methodNotAllowed, sendJson } from '../respond.js'
import { statusOf } from '../statuses.js'

/** User documents, token requests and login forms are small; a big body here is not a client. */
const SMALL_BODY = 64 * 1024
const COUCH_PREFIX = 'org.couchdb.user:'

/**
 * Logging in and tokens, as npm, yarn and pnpm speak it: the CouchDB-style user document
 * (legacy login and adduser), npm's web login, whoami, logout and `npm token`.
 */
export function userRoutes(app: Polka, ctx: ServerContext): void {
  const { pendingLogins, pendingLoginsPerAddress } = ctx.config.limits
  const sessions = new LoginSessions(undefined, pendingLogins, undefined, pendingLoginsPerAddress)
  const limit = Math.min(ctx.config.maxBodySize, SMALL_BODY)
  /** The client's address for login limits (behind a trusted proxy, from X-Forwarded-For). */
  const address = (req: IncomingMessage) => clientAddress(req, ctx.config.trustProxy)

  app.put('/-/user/:id', async (req: Request, res: ServerResponse) => {
    const name = couchName(req.params.id)
    const body = await readJsonObject(req, limit, ctx.config.maxJsonDepth)
    if (body.name !== undefined && body.name !== name) throw badRequest('the user name in the body differs from the one in the URL')
    if (typeof body.password !== 'string') throw badRequest('a password is required')
    await logInOrRegister(ctx, name, body.password, address(req), true)
    const { token } = await ctx.auth.tokens.create(name, { kind: 'login' })
    sendJson(res, 201, { ok: true, id: `${COUCH_PREFIX}${name}`, token })
  })
  // npm owner add/rm reads the new owner's document first, as the logged-in maintainer: any
  // user may see that another exists (the name only: nothing else about users is stored or shown).
  app.get('/-/user/:id', async (req: Request, res: ServerResponse) => {
    const name = couchName(req.params.id)
    const user = await caller(ctx, req)
    if (user.name !== name && !(await ctx.auth.users.exists(name))) throw notFound(`no user ${name}`)
    sendJson(res, 200, { _id: `${COUCH_PREFIX}${name}`, name })
  })
  app.all('/-/user/:id', (req: Request, res: ServerResponse) => methodNotAllowed(res, req.method, ['GET', 'HEAD', 'PUT']))

  app.get('/-/whoami', async (req: Request, res: ServerResponse) => sendJson(res, 200, { username: (await caller(ctx, req)).name }))
  app.all('/-/whoami', (req: Request, res: ServerResponse) => methodNotAllowed(res, req.method, ['GET', 'HEAD']))

  // npm logout. An unknown token answers 200 too, so `npm logout` can always clear its config;
  // tokens from `npm token create` are left alone (revoke them with `npm token revoke`).
  app.delete('/-/user/token/:token', async (req: Request, res: ServerResponse) => {
    const record = await ctx.auth.tokens.find(req.params.token ?? '')
    if (record) {
      const user = await caller(ctx, req)
      if (user.name !== record.user) throw notFound('no such token of yours')
      if (record.kind === 'login') await ctx.auth.tokens.revoke(user.name, record.key)
    }
    sendJson(res, 200, { ok: true })
  })
  app.all('/-/user/token/:token', (req: Request, res: ServerResponse) => methodNotAllowed(res, req.method, ['DELETE']))

  app.get('/-/npm/v1/tokens', async (req: Request, res: ServerResponse) => {
    const records = await ctx.auth.tokens.list((await caller(ctx, req)).name)
    records.sort((a, b) => b.created.localeCompare(a.created))
    sendJson(res, 200, { objects: records.map(describeToken), total: records.length, urls: {} })
  })
  app.post('/-/npm/v1/tokens', async (req: Request, res: ServerResponse) => {
    const user = writableCaller(await caller(ctx, req))
    const body = await readJsonObject(req, limit, ctx.config.maxJsonDepth)
    if (typeof body.password !== 'string') throw badRequest('a password is required to create a token')
    const cidr = cidrList(body.cidr_whitelist)
    await ctx.auth.checkPassword(user.name, body.password, address(req))
    const { token, record } = await ctx.auth.tokens.create(user.name, { kind: 'api', readonly: body.readonly === true, cidr })
    sendJson(res, 201, { ...describeToken(record), token })
  })
  app.all('/-/npm/v1/tokens', (req: Request, res: ServerResponse) => methodNotAllowed(res, req.method, ['GET', 'HEAD', 'POST']))
  app.delete('/-/npm/v1/tokens/token/:key', async (req: Request, res: ServerResponse) => {
    const user = writableCaller(await caller(ctx, req))
    const wanted = req.params.key ?? ''
    const byToken = await ctx.auth.tokens.find(wanted)
    const record = byToken?.user === user.name ? byToken : (await ctx.auth.tokens.list(user.name)).find((r) => r.key === wanted)
    if (!record) throw notFound('no such token of yours')
    await ctx.auth.tokens.revoke(user.name, record.key)
    res.writeHead(204)
    res.end()
  })
  app.all('/-/npm/v1/tokens/token/:key', (req: Request, res: ServerResponse) => methodNotAllowed(res, req.method, ['DELETE']))

  // npm profile. Users here are a name and a password hash, nothing else to show or
  // set. `npm profile set password` works; the other fields are refused with a clear message.
  app.get('/-/npm/v1/user', async (req: Request, res: ServerResponse) => sendJson(res, 200, profileOf((await caller(ctx, req)).name)))
  app.post('/-/npm/v1/user', async (req: Request, res: ServerResponse) => {
    const user = writableCaller(await caller(ctx, req))
    const body = await readJsonObject(req, limit, ctx.config.maxJsonDepth)
    const { password, ...rest } = body
    if (rest.tfa !== undefined && rest.tfa !== null) throw badRequest('this registry does not support two-factor authentication')
    const unsupported = Object.keys(rest).filter((key) => key !== 'name' && rest[key] !== null && rest[key] !== '' && rest[key] !== false)
    if (unsupported.length > 0) throw badRequest(`this registry keeps no ${unsupported.join(', ')} for users: only the password can be set`)
    if (password !== undefined && password !== null) {
      const change = password as { old?: unknown; new?: unknown }
      if (typeof change !== 'object' || typeof change.old !== 'string' || typeof change.new !== 'string') {
        throw badRequest('password must be {"old": "...", "new": "..."}')
      }
      await ctx.auth.checkPassword(user.name, change.old, address(req))
      await ctx.auth.users.setPassword(user.name, change.new)
      ctx.log.log('info', `user ${user.name} changed their password`)
    }
    sendJson(res, 200, profileOf(user.name))
  })
  app.all('/-/npm/v1/user', (req: Request, res: ServerResponse) => methodNotAllowed(res, req.method, ['GET', 'HEAD', 'POST']))

  // npm's web login: POST starts a session, the person logs in on the page at loginUrl, npm polls doneUrl.
  app.post('/-/v1/login', async (req: Request, res: ServerResponse) => {
    const body = await readJsonObject(req, limit, ctx.config.maxJsonDepth)
    const session = sessions.start(body.create === true, address(req))
    const base = publicBaseUrl(req, ctx.config.urlPrefix, ctx.hostForUrls, ctx.config.trustProxy)
    sendJson(res, 200, { loginUrl: `${base}-/v1/login/${session.loginId}`, doneUrl: `${base}-/v1/done/${session.doneId}` })
  })
  app.all('/-/v1/login', (req: Request, res: ServerResponse) => methodNotAllowed(res, req.method, ['POST']))
  app.get('/-/v1/login/:id', (req: Request, res: ServerResponse) => {
    const session = sessions.byLoginId(req.params.id ?? '')
    if (!session) return sendPage(res, 404, expiredPage())
    sendPage(res, 200, session.user ? loggedInPage(session.user) : loginForm({ create: session.create }))
  })
  app.post('/-/v1/login/:id', async (req: Request, res: ServerResponse) => {
    const session = sessions.byLoginId(req.params.id ?? '')
    if (!session) return sendPage(res, 404, expiredPage())
    if (session.user) return sendPage(res, 200, loggedInPage(session.user))
    const form = new URLSearchParams((await readBody(req, limit)).toString('utf8'))
    const name = (form.get('name') ?? '').trim()
    try {
      await logInOrRegister(ctx, name, form.get('password') ?? '', address(req), session.create)
    } catch (error) {
      if (!isSinopiaError(error) || statusOf(error.code) >= 500) throw error
      return sendPage(res, statusOf(error.code), loginForm({ create: session.create, name, error: error.message }))
    }
    session.user = name
    sendPage(res, 200, loggedInPage(name))
  })
  app.all('/-/v1/login/:id', (req: Request, res: ServerResponse) => methodNotAllowed(res, req.method, ['GET', 'HEAD', 'POST']))
  app.get('/-/v1/done/:id', async (req: Request, res: ServerResponse) => {
    const session = sessions.byDoneId(req.params.id ?? '')
    if (!session) throw notFound('unknown or expired login session; run `npm login` again', 'ELOGINEXPIRED')
    if (!session.user || req.method === 'HEAD') return sendJson(res, 202, {}, { 'retry-after': '1', 'cache-control': 'no-store' })
    // Single use: gone before the token exists, so two polls at once cannot both collect one.
    sessions.finish(session)
    const { token } = await ctx.auth.tokens.create(session.user, { kind: 'login' })
    sendJson(res, 200, { token }, { 'cache-control': 'no-store' })
  })
  app.all('/-/v1/done/:id', (req: Request, res: ServerResponse) => methodNotAllowed(res, req.method, ['GET', 'HEAD']))
}

/** A profile as npm profile reads it: the name; no e-mail and no two-factor auth are kept here. */
function profileOf(name: string) {
  return { name, email: '', email_verified: false, tfa: false }
}

/** `org.couchdb.user:alice` -> `alice` (a valid user name), else 404/400. */
function couchName(id: string | undefined): string {
  if (!id?.startsWith(COUCH_PREFIX)) throw notFound('not found', 'ENOROUTE')
  return assertUserName(id.slice(COUCH_PREFIX.length))
}

/**
 * A right password logs in; a new name creates the user when `mayCreate` and
 * self-registration allows it. Throws 400 (bad name or password), 401 or 429 (too many
 * failures). An unknown name where registration is closed gets the very answer a wrong
 * password gets (status, message and a bcrypt compare's time), so no answer tells which
 * names exist; the message says registration is closed to both, which is no secret.
 */
async function logInOrRegister(ctx: ServerContext, name: string, password: string, from: string, mayCreate: boolean): Promise<void> {
  assertUserName(name)
  const { users } = ctx.auth
  if (mayCreate && !(await users.exists(name)) && (await users.registrationOpen())) {
    try {
      await users.add(name, password, { selfRegistration: true })
      ctx.log.log('info', `user ${name} registered itself`)
      return
    } catch (error) {
      // Lost a race: someone took the name, or the last free place, since the checks above.
      if (!isSinopiaError(error) || (error.code !== 'EUSEREXISTS' && error.code !== 'EREGISTRATION')) throw error
    }
  }
  try {
    await ctx.auth.checkPassword(name, password, from)
  } catch (error) {
    if (mayCreate && isSinopiaError(error) && error.code === 'EUNAUTHORIZED' && !(await users.registrationOpen())) {
      throw new SinopiaError('EUNAUTHORIZED', `${WRONG_PASSWORD} (this registry takes no new accounts: ask an admin to run \`sinopia-cli user add\`)`, {
      })
    }
    throw error
  }
}

/** The logged-in user, or 401 (never with WWW-Authenticate: npm would take it for a one-time-password request). */
async function caller(ctx: ServerContext, req: IncomingMessage): Promise<User> {
  const user = await identify(ctx, req)
  if (!user) throw new SinopiaError('EUNAUTHORIZED', 'log in first (npm login)')
  return user
}

function writableCaller(user: User): User {
  if (user.token?.readonly) throw new SinopiaError('EFORBIDDEN', 'a read-only token cannot manage tokens')
  return user
}

/** A token as `npm token list` shows it: the first characters only, and the key it is revoked by. */
function describeToken(record: TokenRecord) {
  return {
    token: record.prefix,
    key: record.key,
    name: record.kind,
    cidr_whitelist: record.cidr.length > 0 ? record.cidr : null,
    readonly: record.readonly,
    created: record.created,
    updated: record.created,
  }
}

function cidrList(value: unknown): string[] {
  if (value === undefined || value === null) return []
  if (!Array.isArray(value) || !value.every((c): c is string => typeof c === 'string' && isIpv4Cidr(c))) {
    throw badRequest('cidr_whitelist must be a list of IPv4 CIDR ranges, like 192.168.1.0/24')
  }
  return value
}

/** The body as a JSON object (an empty body is `{}`); the parser's message is not passed on, it may quote a password. */
async function readJsonObject(req: IncomingMessage, limit: number, maxDepth: number): Promise<Record<string, unknown>> {
  const raw = await readBody(req, limit)
  if (!raw.toString('utf8').trim()) return {}
  const value = parseJson(raw, maxDepth)
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw badRequest('the body must be a JSON object')
  return value as Record<string, unknown>
}

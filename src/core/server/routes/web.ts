import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Polka, Request } from 'polka'
import { assertUserName } from '../../auth/index.js'
import { SinopiaError, isSinopiaError } from '../../errors.js'
import { allows, parsePackagePath } from '../../registry/index.js'
import { packageOrigin, parseQuery } from '../../search/index.js'
import {
  ASSETS,
  PAGE_SIZE,
  PageCache,
  listFragment,
  listPageHtml,
  loginPageHtml,
  notFoundPageHtml,
  packagePageHtml,
  safeNext,
  sessionCookie,
  type Chrome,
  type ListView,
  type PackageModel,
  type ReadmeOutcome,
} from '../../web/index.js'
import { readBody } from '../body.js'
import type { ServerContext } from '../context.js'
import { identify } from '../identify.js'
import { clientAddress, fromTrustedProxy, publicBaseUrl } from '../negotiate.js'
import { methodNotAllowed, note } from '../respond.js'
import { isNotFound, statusOf } from '../statuses.js'
import { readableBy } from './search.js'

/** Scripts and styles come only from this server's files: no inline script can run, whatever a README holds. */
export const WEB_CSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'"
const LOGIN_BODY_LIMIT = 16 * 1024
const PACKAGE_PREFIX = '/-/web/package/'

/**
 * The web pages: the package list with live search at `/`, package pages, the login, and
 * the one script and stylesheet they load. Server-rendered; the script only swaps in the
 * result list as the visitor types.
 */
export function webRoutes(app: Polka, ctx: ServerContext): void {
  // The README is kept as the renderer's promise: one render per revision, a failure (plain text) included.
  const pages = new PageCache<{ model: Promise<PackageModel | null>; readme: Promise<ReadmeOutcome> }>()

  app.get('/', async (req: Request, res: ServerResponse) => {
    assertWebPages(ctx)
    const chrome = await chromeOf(ctx, req)
    sendHtml(res, 200, listPageHtml(chrome, await listView(ctx, req)))
  })
  app.get('/-/web/fragment', async (req: Request, res: ServerResponse) => {
    assertWebPages(ctx)
    const chrome = await chromeOf(ctx, req)
    sendHtml(res, 200, listFragment(chrome.root, await listView(ctx, req)).value)
  })

  app.get('/-/web/static/:file', (req: Request, res: ServerResponse) => {
    const asset = Object.hasOwn(ASSETS, req.params.file ?? '') ? ASSETS[req.params.file as keyof typeof ASSETS] : undefined
    if (!asset) throw new SinopiaError('ENOROUTE', 'not found')
    const etag = `"${asset.version}"`
    const immutable = (req.query as Record<string, unknown>).v === asset.version
    const headers = {
      etag,
      'cache-control': immutable ? 'public, max-age=31536000, immutable' : 'no-cache',
      'x-content-type-options': 'nosniff',
    }
    if (req.headers['if-none-match'] === etag) {
      res.writeHead(304, headers)
      res.end()
      return
    }
    res.writeHead(200, { ...headers, 'content-type': asset.contentType, 'content-length': asset.body.length })
    res.end(req.method === 'HEAD' ? undefined : asset.body)
    note(res, { bytes: asset.body.length })
  })

  app.get(`${PACKAGE_PREFIX}*`, async (req: Request, res: ServerResponse) => {
    assertWebPages(ctx)
    const chrome = await chromeOf(ctx, req)
    const name = packageName(req.path.slice(PACKAGE_PREFIX.length - 1))
    if (!name) return sendHtml(res, 404, notFoundPageHtml(chrome, req.path.slice(PACKAGE_PREFIX.length)))
    const user = await identify(ctx, req)
    const rule = ctx.registry.rules.match(name)
    // Not there and not yours to see answer alike: a page never confirms a private name.
    if (!rule || !allows(rule.access, user)) return sendHtml(res, 404, notFoundPageHtml(chrome, name))
    let answer
    try {
      answer = await ctx.registry.packuments.get(name)
    } catch (error) {
      if (isNotFound(error)) return sendHtml(res, 404, notFoundPageHtml(chrome, name))
      throw error
    }
    const local = await ctx.registry.packuments.local(name)
    const origin = packageOrigin(local?.doc)
    const { view } = answer
    const key = `${name}\u0000${view.rev}\u0000${origin}`
    const page = pages.get(key, () => {
      // Parsed in the view worker when the document is big (a page of a 100,000-version package).
      const model = ctx.registry.views.run('page', { name, full: view.full, origin }, view.full.length)
      const readme = model.then((m) => ctx.readmes.render(m?.readme))
      // A failure is not kept: the next view tries again (and the awaits below report this one).
      readme.catch(() => pages.delete(key))
      return { model, readme }
    })
    const model = await page.model
    if (!model) return sendHtml(res, 404, notFoundPageHtml(chrome, name))
    const readme = await page.readme
    // Not rendered because the renderer was busy: shown as text this once, rendered on a later view.
    if (!readme.keep) pages.delete(key)
    sendHtml(res, 200, packagePageHtml(chrome, model, readme.html))
  })

  app.get('/-/web/login', async (req: Request, res: ServerResponse) => {
    assertWebLogin(ctx)
    const chrome = await chromeOf(ctx, req)
    sendHtml(res, 200, loginPageHtml(chrome, { next: safeNext((req.query as Record<string, unknown>).next, chrome.root) }))
  })
  // The form's POST: the same password check (and failure limiter) as npm login, then a cookie session.
  app.post('/-/web/login', async (req: Request, res: ServerResponse) => {
    assertWebLogin(ctx)
    const chrome = await chromeOf(ctx, req, false)
    assertSameOrigin(req, ctx.config.trustProxy)
    const form = new URLSearchParams((await readBody(req, LOGIN_BODY_LIMIT)).toString('utf8'))
    const name = (form.get('name') ?? '').trim()
    const next = safeNext(form.get('next'), chrome.root)
    try {
      assertUserName(name)
      await ctx.auth.checkPassword(name, form.get('password') ?? '', clientAddress(req, ctx.config.trustProxy))
    } catch (error) {
      if (!isSinopiaError(error) || statusOf(error.code) >= 500) throw error
      return sendHtml(res, statusOf(error.code), loginPageHtml(chrome, { next, name, error: error.message }))
    }
    const id = ctx.webSessions.create(name)
    ctx.log.log('info', `web login: ${name}`)
    redirect(res, next, sessionCookie(id, { path: chrome.root, secure: chrome.base.startsWith('https:') }))
  })
  app.post('/-/web/logout', async (req: Request, res: ServerResponse) => {
    const chrome = await chromeOf(ctx, req, false)
    assertSameOrigin(req, ctx.config.trustProxy)
    ctx.webSessions.destroy(req.headers.cookie)
    redirect(res, chrome.root, sessionCookie(null, { path: chrome.root, secure: chrome.base.startsWith('https:') }))
  })
  app.all('/-/web/login', (req: Request, res: ServerResponse) => methodNotAllowed(res, req.method, ['GET', 'HEAD', 'POST']))
  app.all('/-/web/logout', (req: Request, res: ServerResponse) => methodNotAllowed(res, req.method, ['POST']))
}

/** The page frame for this request; `identified` false on POSTs, which never read the session. */
/** `web: {enable: false}`: no pages at all (npm's web login keeps its own page). */
function assertWebPages(ctx: ServerContext): void {
  if (!ctx.config.web.enabled) throw new SinopiaError('ENOROUTE', 'not found')
}

/** `web: {login: false}`: the pages offer no login, and the login form is not there. */
function assertWebLogin(ctx: ServerContext): void {
  if (!ctx.config.web.login) throw new SinopiaError('ENOROUTE', 'not found')
}

async function chromeOf(ctx: ServerContext, req: Request, identified = true): Promise<Chrome> {
  const base = publicBaseUrl(req, ctx.config.urlPrefix, ctx.hostForUrls, ctx.config.trustProxy)
  const root = new URL(base).pathname
  const user = identified ? await identify(ctx, req) : null
  const { title: site, login } = ctx.config.web
  return { root, base, user: user?.name ?? null, here: `${root}${req.url.replace(/^\/+/, '')}`, site, login }
}

async function listView(ctx: ServerContext, req: Request): Promise<ListView> {
  const query = req.query as Record<string, unknown>
  const q = typeof query.q === 'string' ? query.q.trim().slice(0, 256) : ''
  const page = Math.min(Math.max(Number.parseInt(typeof query.page === 'string' ? query.page : '1', 10) || 1, 1), 100_000)
  const user = await identify(ctx, req)
  await ctx.search.settled()
  const answer = ctx.search.search(parseQuery(q), { from: (page - 1) * PAGE_SIZE, size: PAGE_SIZE, visible: readableBy(ctx, user) })
  return { q, page, answer, indexState: ctx.search.state, indexed: ctx.search.size }
}

/** `/@scope/name` or `/name` (percent-encoded or not) -> the name; null when it is not a package name. */
function packageName(path: string): string | null {
  try {
    const target = parsePackagePath(path)
    return target?.kind === 'packument' && target.rev === undefined ? target.name : null
  } catch {
    return null
  }
}

/**
 * Refuses a form posted from another site (an Origin header that names another host). The
 * session cookie is SameSite=Strict already; this also keeps other sites from logging a
 * visitor in under their account.
 */
function assertSameOrigin(req: IncomingMessage, trustProxy: readonly string[]): void {
  const origin = req.headers.origin
  if (origin === undefined) return
  let host: string | null
  try {
    host = new URL(origin).host
  } catch {
    host = null
  }
  const forwarded = fromTrustedProxy(req, trustProxy) ? req.headers['x-forwarded-host'] : undefined
  const hosts = [forwarded, req.headers.host].flat().map((h) => h?.split(',')[0]?.trim())
  if (!host || !hosts.includes(host)) throw new SinopiaError('EFORBIDDEN', 'form posted from another site')
}

function redirect(res: ServerResponse, location: string, cookie: string): void {
  res.writeHead(303, { location, 'set-cookie': cookie, 'cache-control': 'no-store', 'content-length': 0 })
  res.end()
}

/** An HTML page under the web CSP; pages differ per login, so never shared by caches. */
function sendHtml(res: ServerResponse, status: number, markup: string): void {
  const body = Buffer.from(markup)
  res.writeHead(status, {
    'content-type': 'text/html; charset=utf-8',
    'content-length': body.length,
    'content-security-policy': WEB_CSP,
    'x-content-type-options': 'nosniff',
    'x-frame-options': 'DENY',
    'referrer-policy': 'same-origin',
    'cache-control': 'private, no-cache',
    vary: 'Cookie, Authorization',
  })
  res.end(res.req?.method === 'HEAD' ? undefined : body)
  note(res, { bytes: body.length })
}

import { randomBytes } from 'node:crypto'
import type { ServerResponse } from 'node:http'
import { LRUCache } from 'lru-cache'
import { clientKey } from '../auth/limiter.js'
import { SinopiaError } from '../errors.js'
import { note } from './respond.js'

/** How long `npm login` waits for the browser side before the session is gone. */
export const LOGIN_TTL_MS = 5 * 60 * 1000

export interface LoginSession {
  /** In the URL the person opens in a browser (`/-/v1/login/<loginId>`). */
  loginId: string
  /** Only in the URL npm polls (`/-/v1/done/<doneId>`): knowing it is what collects the token. */
  doneId: string
  /** `npm adduser`: a new name creates the account (when self-registration is open). */
  create: boolean
  expires: number
  /** Who asked for it: each address may have `maxPerAddress` pending. */
  address: string
  /** Set when the form came back with the right password; the token is made when npm collects it. */
  user?: string
}

/**
 * Web-login sessions, in memory (a restart cancels the logins in progress, npm says so).
 * Two random ids of 256 bits each per session, so a login URL left in a browser history,
 * a log or a screen share cannot be used to collect the token.
 *
 * Anyone may start one, so they are bounded twice: `maxPerAddress` pending per client
 * address (more is a 429 to that address alone), and `max` in all, past which the least
 * recently used goes (its npm says the login expired). A flood never stops others' logins
 * from starting.
 */
export class LoginSessions {
  private readonly byLogin: LRUCache<string, LoginSession>
  private readonly byDone = new Map<string, LoginSession>()
  private readonly perAddress = new Map<string, number>()

  constructor(
    private readonly ttlMs = LOGIN_TTL_MS,
    max = 1_000,
    private readonly now: () => number = () => Date.now(),
    private readonly maxPerAddress = 10,
  ) {
    this.byLogin = new LRUCache<string, LoginSession>({
      max,
      ttl: ttlMs,
      ttlResolution: 0,
      perf: { now },
      // Whichever way a session goes (finished, expired, evicted), its other id and its place go with it.
      dispose: (session) => {
        this.byDone.delete(session.doneId)
        const left = (this.perAddress.get(session.address) ?? 1) - 1
        if (left > 0) this.perAddress.set(session.address, left)
        else this.perAddress.delete(session.address)
      },
    })
  }

  get size(): number {
    return this.byLogin.size
  }

  /** A new pending login for `address`; 429 when that address has `maxPerAddress` pending already. */
  start(create: boolean, address = ''): LoginSession {
    this.byLogin.purgeStale()
    const from = clientKey(address)
    if ((this.perAddress.get(from) ?? 0) >= this.maxPerAddress) {
      throw new SinopiaError('ERATELIMIT', 'too many logins in progress from this address; finish one or wait a few minutes')
    }
    const session: LoginSession = { loginId: newId(), doneId: newId(), create, expires: this.now() + this.ttlMs, address: from }
    this.byLogin.set(session.loginId, session)
    this.byDone.set(session.doneId, session)
    this.perAddress.set(from, (this.perAddress.get(from) ?? 0) + 1)
    return session
  }

  byLoginId(id: string): LoginSession | null {
    return this.live(this.byLogin.get(id))
  }

  byDoneId(id: string): LoginSession | null {
    const session = this.byDone.get(id)
    // Through the LRU map, so an expired session is dropped (and its places freed) here too.
    return session ? this.live(this.byLogin.get(session.loginId)) : null
  }

  finish(session: LoginSession): void {
    this.byLogin.delete(session.loginId)
  }

  private live(session: LoginSession | undefined): LoginSession | null {
    if (!session) return null
    if (session.expires > this.now()) return session
    this.finish(session)
    return null
  }
}

const newId = () => randomBytes(32).toString('base64url')

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`)
}

const STYLE = `body{font:16px/1.5 system-ui,sans-serif;max-width:26rem;margin:4rem auto;padding:0 1rem;color:#222}
label{display:block;margin:.8rem 0 .2rem}input{width:100%;box-sizing:border-box;padding:.4rem;font:inherit}
button{margin-top:1rem;padding:.4rem 1.2rem;font:inherit}.error{color:#a00}`

function page(title: string, body: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>${escapeHtml(title)} - sinopia-cli</title><style>${STYLE}</style></head>
<body><h1>${escapeHtml(title)}</h1>
${body}
</body></html>
`
}

/** The form: it posts back to its own URL (no `action`), user name and password urlencoded. */
export function loginForm(options: { create: boolean; name?: string; error?: string }): string {
  const title = options.create ? 'Create an account or log in' : 'Log in'
  const intro = options.create
    ? 'A new name creates an account, when this registry allows it; an existing one logs in.'
    : 'Log in to this registry to finish <code>npm login</code>.'
  return page(
    title,
    `<p>${intro}</p>
${options.error ? `<p class="error" role="alert">${escapeHtml(options.error)}</p>` : ''}
<form method="post">
<label for="name">User name</label>
<input id="name" name="name" autocomplete="username" required autofocus value="${escapeHtml(options.name ?? '')}">
<label for="password">Password</label>
<input id="password" name="password" type="password" autocomplete="${options.create ? 'new-password' : 'current-password'}" required>
<button type="submit">${options.create ? 'Continue' : 'Log in'}</button>
</form>`,
  )
}

export function loggedInPage(name: string): string {
  return page('Logged in', `<p>You are logged in as <strong>${escapeHtml(name)}</strong>. Return to your terminal: npm finishes by itself.</p>`)
}

export function expiredPage(): string {
  return page('Login link expired', '<p>This login link is unknown or has expired (they last 5 minutes). Run <code>npm login</code> again.</p>')
}

/**
 * Sends a page that runs no script, loads nothing, cannot be framed and is never cached
 * (the URL holds the session id, so no Referer either).
 */
export function sendPage(res: ServerResponse, status: number, html: string): void {
  const body = Buffer.from(html)
  res.writeHead(status, {
    'content-type': 'text/html; charset=utf-8',
    'content-length': body.length,
    'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'",
    'x-frame-options': 'DENY',
    'x-content-type-options': 'nosniff',
    'referrer-policy': 'no-referrer',
    'cache-control': 'no-store',
  })
  res.end(res.req?.method === 'HEAD' ? undefined : body)
  note(res, { bytes: body.length })
}

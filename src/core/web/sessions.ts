import { randomBytes } from 'node:crypto'
import { LRUCache } from 'lru-cache'

export const SESSION_COOKIE = 'sinopia_session'
/** A web login lasts this long (absolute, not sliding); then the page asks again. */
export const SESSION_TTL_MS = 12 * 60 * 60 * 1000
/** Sessions kept at most (`limits.web_sessions`); past it the least recently used is dropped (logged out). */
export const MAX_SESSIONS = 10_000

interface Session {
  user: string
  expires: number
}

/**
 * Web-page logins, in memory (a restart logs everyone out): a random id of 256 bits, sent
 * as an HttpOnly, SameSite=Strict cookie, maps to a user name. The id never leaves the
 * cookie and is not a token: it cannot be used with npm, and only for reading (identify()
 * accepts it on GET and HEAD only).
 */
export class WebSessions {
  private readonly sessions: LRUCache<string, Session>

  constructor(
    ttlMs = SESSION_TTL_MS,
    max = MAX_SESSIONS,
    private readonly now: () => number = Date.now,
  ) {
    this.sessions = new LRUCache<string, Session>({ max, ttl: ttlMs, ttlResolution: 0, perf: { now } })
  }

  get size(): number {
    this.sessions.purgeStale()
    return this.sessions.size
  }

  create(user: string): string {
    const id = randomBytes(32).toString('base64url')
    this.sessions.set(id, { user, expires: this.now() + (this.sessions.ttl || SESSION_TTL_MS) })
    return id
  }

  /** The user of the session a Cookie header names; null when none, unknown or expired. */
  user(cookieHeader: string | undefined): string | null {
    const id = sessionId(cookieHeader)
    if (!id) return null
    const session = this.sessions.get(id)
    if (!session) return null
    if (session.expires > this.now()) return session.user
    this.sessions.delete(id)
    return null
  }

  destroy(cookieHeader: string | undefined): void {
    const id = sessionId(cookieHeader)
    if (id) this.sessions.delete(id)
  }

  /** Ends every session of a user (their account is gone). */
  forgetUser(user: string): void {
    for (const [id, session] of this.sessions.entries()) if (session.user === user) this.sessions.delete(id)
  }
}

/** The session id in a Cookie header (`a=1; sinopia_session=<id>`), if it is shaped like one. */
export function sessionId(cookieHeader: string | undefined): string | null {
  if (!cookieHeader) return null
  for (const part of cookieHeader.split(';')) {
    const eq = part.indexOf('=')
    if (eq < 0 || part.slice(0, eq).trim() !== SESSION_COOKIE) continue
    const value = part.slice(eq + 1).trim()
    return /^[A-Za-z0-9_-]{43}$/.test(value) ? value : null
  }
  return null
}

/** The Set-Cookie value for a session (`id` null: clears it). Secure when the page is served over https. */
export function sessionCookie(id: string | null, options: { path: string; secure: boolean; ttlMs?: number }): string {
  const parts = [`${SESSION_COOKIE}=${id ?? ''}`, `Path=${options.path}`, 'HttpOnly', 'SameSite=Strict']
  parts.push(id ? `Max-Age=${Math.floor((options.ttlMs ?? SESSION_TTL_MS) / 1000)}` : 'Max-Age=0')
  if (options.secure) parts.push('Secure')
  return parts.join('; ')
}

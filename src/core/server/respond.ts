import type { ServerResponse } from 'node:http'
import { SinopiaError } from '../errors.js'
import { errorAnswer } from './statuses.js'

/** Per-response facts the request log prints. */
export interface ResponseNotes {
  cache?: string
  bytes?: number
}

export type NotedResponse = ServerResponse & { notes?: ResponseNotes }

export function note(res: ServerResponse, notes: ResponseNotes): void {
  const noted = res as NotedResponse
  if (noted.notes) Object.assign(noted.notes, notes)
  else noted.notes = { ...notes }
}

/** Every response: error bodies echo input, so no browser may take one for HTML or script. */
export const NOSNIFF = { 'x-content-type-options': 'nosniff' } as const

export function sendJson(res: ServerResponse, status: number, value: unknown, headers: Record<string, string> = {}): void {
  const body = Buffer.from(JSON.stringify(value))
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': body.length, ...NOSNIFF, ...headers })
  res.end(res.req?.method === 'HEAD' ? undefined : body)
  note(res, { bytes: body.length })
}

/** The one translation of errors into responses: npm-style `{"error": "..."}` with the status statuses.ts gives it. */
export function sendError(res: ServerResponse, error: unknown): void {
  const { status, message } = errorAnswer(error)
  if (res.headersSent) {
    res.destroy()
    return
  }
  for (const name of res.getHeaderNames()) res.removeHeader(name)
  const retryAfter = error instanceof SinopiaError && error.retryAfter !== undefined ? { 'retry-after': String(error.retryAfter) } : undefined
  sendJson(res, status, { error: message }, retryAfter)
}

/** The 405 for a known path asked with a method it does not take. */
export function methodNotAllowed(res: ServerResponse, method: string | undefined, allowed: string[]): never {
  res.setHeader('allow', allowed.join(', '))
  throw new SinopiaError('EMETHOD', `method ${method ?? '?'} not allowed here`)
}

/** Adds names to the response's Vary header, keeping the ones set already. */
export function addVary(res: ServerResponse, ...names: string[]): void {
  const current = String(res.getHeader('vary') ?? '')
    .split(',')
    .map((v) => v.trim())
    .filter(Boolean)
  const lower = current.map((v) => v.toLowerCase())
  res.setHeader('vary', [...current, ...names.filter((n) => !lower.includes(n.toLowerCase()))].join(', '))
}

/**
 * Who may keep a package's documents and tarballs. Shared caches only when everyone
 * (`$all`) may read the package: a tarball then for good (its name and bytes never change),
 * a document until revalidated by ETag. Anything else is `private` and varies with the
 * credentials, so a proxy never hands one user's private package to another.
 */
export function setCachePolicy(res: ServerResponse, kind: 'document' | 'tarball', everyone: boolean): void {
  if (everyone) {
    res.setHeader('cache-control', kind === 'tarball' ? 'public, max-age=31536000, immutable' : 'public, max-age=0, must-revalidate')
    return
  }
  res.setHeader('cache-control', 'private, max-age=0, must-revalidate')
  addVary(res, 'Authorization', 'Cookie')
}

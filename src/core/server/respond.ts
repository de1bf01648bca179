import type { ServerResponse } from 'node:http'
import { SinopiaError } from '../errors.js'

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

export function sendJson(res: ServerResponse, status: number, value: unknown, headers: Record<string, string> = {}): void {
  const body = Buffer.from(JSON.stringify(value))
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': body.length, ...headers })
  res.end(res.req?.method === 'HEAD' ? undefined : body)
  note(res, { bytes: body.length })
}

/** The one translation of errors into responses: npm-style `{"error": "..."}` with the error's status. */
export function sendError(res: ServerResponse, error: unknown): void {
  const status = error instanceof SinopiaError ? error.status : 500
  const message = error instanceof SinopiaError ? error.message : 'internal server error'
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
  throw new SinopiaError('EMETHOD', `method ${method ?? '?'} not allowed here`, { status: 405 })
}

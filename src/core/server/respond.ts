import type { ServerResponse } from 'node:http'
import { SinopiaError, diskErrno } from '../errors.js'

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

/**
 * What a storage volume that refuses writes means to a client: 507 when it is full (the
 * request may succeed once space is freed), 503 when it is read-only or failing (the server
 * cannot store anything until an operator acts). The one place errno codes become statuses.
 */
const DISK_ERRORS: Record<string, { status: number; message: string }> = {
  ENOSPC: { status: 507, message: 'the registry storage is full (ENOSPC): nothing was stored; try again once space is freed' },
  EDQUOT: { status: 507, message: 'the registry storage quota is exhausted (EDQUOT): nothing was stored; try again once space is freed' },
  EROFS: { status: 503, message: 'the registry storage is read-only (EROFS): nothing can be stored now' },
  EIO: { status: 503, message: 'the registry storage failed to read or write (EIO)' },
}

/** The one translation of errors into responses: npm-style `{"error": "..."}` with the error's status. */
export function sendError(res: ServerResponse, error: unknown): void {
  const disk = DISK_ERRORS[diskErrno(error) ?? '']
  const status = disk?.status ?? (error instanceof SinopiaError ? error.status : 500)
  const message = disk?.message ?? (error instanceof SinopiaError ? error.message : 'internal server error')
  if (res.headersSent) {
    res.destroy()
    return
  }
  for (const name of res.getHeaderNames()) res.removeHeader(name)
  sendJson(res, status, { error: message })
}

/** The 405 for a known path asked with a method it does not take. */
export function methodNotAllowed(res: ServerResponse, method: string | undefined, allowed: string[]): never {
  res.setHeader('allow', allowed.join(', '))
  throw new SinopiaError('EMETHOD', `method ${method ?? '?'} not allowed here`, { status: 405 })
}

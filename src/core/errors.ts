/**
 * One error type for the whole core. `code` is stable (scripts and tests match on it) and says
 * what went wrong, `hint` tells a person what to do next. Only the edges translate: the server
 * into `{"error": message}` with the status its table (server/statuses.ts) gives the code, the
 * CLI into one line.
 */
export class SinopiaError extends Error {
  readonly code: string
  readonly hint?: string
  /** Seconds after which the same request may succeed (an uplink that is down); the server sends it as Retry-After. */
  readonly retryAfter?: number

  constructor(code: string, message: string, options: { hint?: string; cause?: unknown; retryAfter?: number } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause })
    this.name = 'SinopiaError'
    this.code = code
    this.hint = options.hint
    if (options.retryAfter !== undefined) this.retryAfter = options.retryAfter
  }
}

/** A malformed request; `code` must be one that server/statuses.ts answers with 400. */
export const badRequest = (message: string, code = 'EBADREQUEST') => new SinopiaError(code, message)
/** Something that does not exist; `code` must be one that server/statuses.ts answers with 404. */
export const notFound = (message: string, code = 'ENOTFOUND') => new SinopiaError(code, message)

export function isSinopiaError(error: unknown): error is SinopiaError {
  return error instanceof SinopiaError
}

/** Node's system errors (ENOENT, EACCES, ...) carry a string `code`. */
export function errnoCode(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code
  return typeof code === 'string' ? code : undefined
}

/** Errno codes that say the storage volume cannot take a write (the server edge maps them to statuses). */
export const DISK_ERRNOS = new Set(['ENOSPC', 'EDQUOT', 'EROFS', 'EIO'])

/** The disk errno behind `error` (itself or a cause it wraps), if any. */
export function diskErrno(error: unknown): string | undefined {
  for (let e = error, depth = 0; e && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    const code = errnoCode(e)
    if (code && DISK_ERRNOS.has(code)) return code
  }
  return undefined
}

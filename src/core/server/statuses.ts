import { SinopiaError, diskErrno } from '../errors.js'

/**
 * The one place an error code becomes an HTTP status. Core errors say what went wrong (a
 * code and a hint); only the server decides how that reads to an HTTP client. A code missing
 * here answers 500, as does any error that is not a SinopiaError.
 */
export const STATUSES: Readonly<Record<string, number>> = {
  // The request is malformed or names something malformed.
  EBADREQUEST: 400,
  EBADJSON: 400,
  EJSONDEPTH: 400,
  EBADPATH: 400,
  EINVALIDNAME: 400,
  EBADTAG: 400,
  EBADVERSION: 400,
  EBADPUBLISH: 400,
  EBADTARBALL: 400,
  EMANIFESTMISMATCH: 400,
  /** A published attachment that does not match its own dist.integrity or dist.shasum. */
  EPUBLISHINTEGRITY: 400,
  EBADUSER: 400,
  EBADPASSWORD: 400,
  EBADRULE: 400,

  EUNAUTHORIZED: 401,
  EFORBIDDEN: 403,

  ENOTFOUND: 404,
  ETARGET: 404,
  ENOTCACHED: 404,
  ENOROUTE: 404,
  ENOUSER: 404,
  ENORULE: 404,
  ENOAUDIT: 404,
  ELOGINEXPIRED: 404,

  EMETHOD: 405,

  EPUBLISHCONFLICT: 409,
  EUSEREXISTS: 409,
  EREGISTRATION: 409,

  /** A request body (or an audit body once inflated) over its configured limit. */
  EBODYTOOLARGE: 413,
  EENCODING: 415,
  ERATELIMIT: 429,
  /** The client went away; nobody reads the answer, the log still shows why the request ended. */
  EABORTED: 499,

  EINTERNAL: 500,
  ECONFIG: 500,
  ECORRUPT: 500,
  ESTORAGE: 500,
  /** The store's database was written by a newer sinopia-cli (a schema version this one does not know). */
  ESCHEMA: 500,

  /** The uplink answered, but with something unusable: an unexpected status, bad JSON, a cut body. */
  EUPLINK: 502,
  /** The uplink sent a document or tarball over its configured size limit. */
  ETOOLARGE: 502,
  /** The uplink's tarball does not match the integrity it (or the lockfile) declared. */
  EINTEGRITY: 502,

  /** The uplink cannot be asked now (unreachable, or its circuit is open): worth a retry later. */
  EUPLINKDOWN: 503,
  EBUSY: 503,
  EAUDIT: 503,

  // Raised by commands only and never answered over HTTP; listed so that every code has its row.
  EUSAGE: 500,
  ECANCELED: 500,
  ENOTTY: 500,
  ESTDIN: 500,
  EPASSWORDMISMATCH: 500,
  ENOENT: 500,
  EWRITE: 500,
  EBUNDLE: 500,
  EBUNDLESIG: 500,
  ENOBUNDLE: 500,
  ELOCKFILE: 500,
  ENOLOCKFILE: 500,
  EADDRINUSE: 500,
  EADDRNOTAVAIL: 500,
  EACCES: 500,
  ENOSOURCE: 500,
  ENOHTPASSWD: 500,
  ENOINTEGRITY: 500,
  /** The search snapshot is older than the store's change feed reaches: the index rebuilds, nothing is answered. */
  ESTALE: 500,
}

/** The status for a code; an unknown code is the server's own failure. */
export function statusOf(code: string): number {
  return Object.hasOwn(STATUSES, code) ? (STATUSES[code] as number) : 500
}

/** Whether `error` means "no such thing" (a 404), whatever code says which thing. */
export function isNotFound(error: unknown): error is SinopiaError {
  return error instanceof SinopiaError && statusOf(error.code) === 404
}

/**
 * What a storage volume that refuses writes means to a client: 507 when it is full (the
 * request may succeed once space is freed), 503 when it is read-only or failing (the server
 * cannot store anything until an operator acts). Found anywhere in an error's causes, so it
 * wins over the code of the error that wraps it.
 */
const DISK_ANSWERS: Readonly<Record<string, { status: number; message: string }>> = {
  ENOSPC: { status: 507, message: 'the registry storage is full (ENOSPC): nothing was stored; try again once space is freed' },
  EDQUOT: { status: 507, message: 'the registry storage quota is exhausted (EDQUOT): nothing was stored; try again once space is freed' },
  EROFS: { status: 503, message: 'the registry storage is read-only (EROFS): nothing can be stored now' },
  EIO: { status: 503, message: 'the registry storage failed to read or write (EIO)' },
}

/** The status and message an error is answered with; anything unexpected hides its details. */
export function errorAnswer(error: unknown): { status: number; message: string } {
  const disk = DISK_ANSWERS[diskErrno(error) ?? '']
  if (disk) return disk
  if (error instanceof SinopiaError) return { status: statusOf(error.code), message: error.message }
  return { status: 500, message: 'internal server error' }
}

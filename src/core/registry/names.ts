import { LRUCache } from 'lru-cache'
import validate from 'validate-npm-package-name'
import { CACHE_BOUNDS } from '../cache-bounds.js'
import { badRequest } from '../errors.js'

/** npm's own limit; longer names exist only in very old packages, which we do not serve. */
export const MAX_NAME_LENGTH = 214

/**
 * Names already found valid. Every request checks its package name, and the validator's
 * regexes and result objects are a measurable share of a tarball request's CPU; a server sees
 * the same names over and over. The least recently seen go first: names sent to fill it
 * push out each other, not the names of the packages in use.
 */
const knownValid = new LRUCache<string, true>({ max: CACHE_BOUNDS.validNames })

/** Throws a 400 unless `name` is a package name npm would accept (old-style capitals included). */
export function assertPackageName(name: string): string {
  if (name.length === 0 || name.length > MAX_NAME_LENGTH) {
    throw badRequest(`invalid package name: must be 1 to ${MAX_NAME_LENGTH} characters`, 'EINVALIDNAME')
  }
  if (knownValid.has(name)) return name
  const result = validate(name)
  if (!result.validForOldPackages) {
    const why = [...(result.errors ?? []), ...(result.warnings ?? [])][0] ?? 'not a valid npm package name'
    throw badRequest(`invalid package name "${printable(name)}": ${why}`, 'EINVALIDNAME')
  }
  knownValid.set(name, true)
  return name
}

/**
 * Throws a 400 unless npm would take `name` for a package created today (its
 * `validForNewPackages`): no capitals, so `Pub-Pkg` cannot sit beside `pub-pkg`. Old names
 * with capitals from the uplink stay readable (assertPackageName).
 */
export function assertNewPackageName(name: string): void {
  const result = validate(name)
  if (!result.validForNewPackages) {
    const why = [...(result.errors ?? []), ...(result.warnings ?? [])][0] ?? 'not a valid name for a new package'
    throw badRequest(`invalid name for a new package "${printable(name)}": ${why}`, 'EINVALIDNAME')
  }
}

/** The conventional tarball file name: `name-1.0.0.tgz`, the scope left out. */
export function tarballFile(name: string, version: string): string {
  return `${name.slice(name.lastIndexOf('/') + 1)}-${version}.tgz`
}

/** The registry path of a tarball: `@scope/name/-/name-1.0.0.tgz`. */
export function tarballPath(name: string, version: string): string {
  return `${name}/-/${tarballFile(name, version)}`
}

/** Keeps control characters out of error messages and log lines. */
export function printable(value: string): string {
  // C0 and C1 controls, and the Unicode line and paragraph separators that some log viewers break lines at.
  // eslint-disable-next-line no-control-regex
  return value.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, '?').slice(0, 300)
}

import semver from 'semver'
import { badRequest } from '../errors.js'
import { printable } from './names.js'

/**
 * npm's rule for dist-tags (not a version range, nothing that needs URL encoding), plus no
 * name an object already has (`constructor`, `toString`, `__proto__`): a tag is a key in
 * documents that many readers index as plain objects. One check for the dist-tag route and
 * for the tags in a publish body.
 */
export function assertTag(tag: string): void {
  if (tag.length === 0 || tag.length > 100 || encodeURIComponent(tag) !== tag || semver.validRange(tag) || tag in Object.prototype) {
    throw badRequest(`invalid dist-tag "${printable(tag)}": a tag must not be a version range nor need URL encoding`, 'EBADTAG')
  }
}

/**
 * A version as npm publishes it: `semver.clean(v) === v`, so no `v` prefix, no spaces and no
 * build metadata (`1.0.0+build` is the same version as `1.0.0` to every client).
 */
export function assertCleanVersion(version: string): void {
  if (semver.clean(version) !== version) {
    throw badRequest(`version "${printable(version)}" is not clean semver (write it as ${semver.clean(version) ?? 'MAJOR.MINOR.PATCH'})`, 'EBADVERSION')
  }
}

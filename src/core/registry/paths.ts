import { badRequest } from '../errors.js'
import { assertPackageName, printable } from './names.js'

/** What a package URL asks for. */
export type PackagePath =
  | { kind: 'packument'; name: string }
  | { kind: 'version'; name: string; spec: string }
  | { kind: 'tarball'; name: string; file: string }

/**
 * Parses the raw (still percent-encoded) path of a package URL. Clients spell a scoped
 * name both `/@scope%2fname` and `/@scope/name`, so both are read; everything else about
 * the path is strict, because the name and file end up in storage paths and log lines.
 * Returns null when the path is not a package URL at all (an unknown route).
 */
export function parsePackagePath(rawPath: string): PackagePath | null {
  const segments = rawPath.split('/').slice(1)
  if (segments.length === 0 || segments[0] === '' || segments[0] === '-') return null
  const decoded = segments.map(decodeSegment)
  let name: string
  let rest: string[]
  const first = decoded[0] as string
  if (first.startsWith('@') && !first.includes('/')) {
    if (decoded.length < 2) throw badRequest(`invalid package name "${printable(first)}"`, 'EINVALIDNAME')
    name = `${first}/${decoded[1]}`
    rest = decoded.slice(2)
  } else {
    name = first
    rest = decoded.slice(1)
  }
  assertPackageName(name)
  if (rest.length === 0) return { kind: 'packument', name }
  if (rest.length === 1) return { kind: 'version', name, spec: assertSpec(rest[0] as string) }
  if (rest.length === 2 && rest[0] === '-') return { kind: 'tarball', name, file: assertTarballFile(rest[1] as string) }
  return null
}

function decodeSegment(segment: string): string {
  let value: string
  try {
    value = decodeURIComponent(segment)
  } catch {
    throw badRequest('malformed percent-encoding in the path', 'EBADPATH')
  }
  // NUL, backslashes and traversal never belong in a registry path, whatever the encoding.
  // eslint-disable-next-line no-control-regex
  if (/[\u0000\\]/.test(value) || value === '.' || value === '..') {
    throw badRequest(`invalid path segment "${printable(value)}"`, 'EBADPATH')
  }
  return value
}

function assertSpec(spec: string): string {
  if (spec.length === 0 || spec.length > 256 || !/^[\w.+\-~^<>=|* ]+$/.test(spec)) {
    throw badRequest(`invalid version or tag "${printable(spec)}"`, 'EBADPATH')
  }
  return spec
}

function assertTarballFile(file: string): string {
  if (file.length > 300 || file.includes('/') || file.startsWith('.') || !file.endsWith('.tgz')) {
    throw badRequest(`invalid tarball file name "${printable(file)}"`, 'EBADPATH')
  }
  return file
}

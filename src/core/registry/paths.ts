import { badRequest } from '../errors.js'
import { assertPackageName, printable } from './names.js'

/** What a package URL asks for. */
export type PackagePath =
  | { kind: 'packument'; name: string; rev?: string }
  | { kind: 'version'; name: string; spec: string }
  | { kind: 'tarball'; name: string; file: string; rev?: string }

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
  const [a, b, c, d] = rest as [string?, string?, string?, string?]
  if (rest.length === 0) return { kind: 'packument', name }
  if (rest.length === 1) return { kind: 'version', name, spec: assertSpec(a as string) }
  // npm's writes name the revision they saw: PUT/DELETE /:name/-rev/:rev, DELETE /:name/-/:file/-rev/:rev.
  if (rest.length === 2 && a === '-rev') return { kind: 'packument', name, rev: assertSpec(b as string) }
  if (rest.length === 2 && a === '-') return { kind: 'tarball', name, file: assertTarballFile(b as string) }
  if (rest.length === 4 && a === '-' && c === '-rev') return { kind: 'tarball', name, file: assertTarballFile(b as string), rev: assertSpec(d as string) }
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

/**
 * `/-/package/:name/dist-tags[/:tag]`, the name percent-encoded (`@scope%2fname`) or not.
 * Returns null when the path is not of that shape.
 */
export function parseDistTagsPath(rawPath: string): { name: string; tag?: string } | null {
  const prefix = '/-/package/'
  if (!rawPath.startsWith(prefix)) return null
  const segments = rawPath.slice(prefix.length).split('/').map(decodeSegment)
  const at = segments.indexOf('dist-tags')
  if (at < 1 || at > 2 || segments.length > at + 2) return null
  const name = segments.slice(0, at).join('/')
  assertPackageName(name)
  const tag = segments[at + 1]
  return tag === undefined ? { name } : { name, tag: assertSpec(tag) }
}

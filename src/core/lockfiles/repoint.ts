import { SinopiaError } from '../errors.js'

/**
 * Points the registry tarball URLs a lockfile names (`resolved`) at another registry, the
 * rest of the file left byte for byte as it was (integrity, order, formatting, comments).
 *
 * Why: yarn classic installs from the `resolved` URLs verbatim (`--registry` only applies to
 * new resolutions), and npm replaces only the public registry's host by default, so a lockfile
 * written against a company mirror cannot install through this registry offline until its URLs
 * name it. Only URLs of the registry tarball shape (`…/<name>/-/<file>.tgz`) change; git, file:
 * and other tarball URLs stay.
 *
 *   https://mirror.corp/api/npm/lodash/-/lodash-4.17.21.tgz#<sha1>  --to http://reg:4873/
 *   http://reg:4873/lodash/-/lodash-4.17.21.tgz#<sha1>
 */

export type RepointKind = 'npm' | 'yarn-classic'

export interface RepointChange {
  /** 1-based line of the file. */
  line: number
  from: string
  to: string
}

export interface RepointResult {
  kind: RepointKind
  text: string
  changes: RepointChange[]
  /** Registry tarball URLs left alone because they already name the target. */
  unchanged: number
  /** Hosts (`host:port`) the changed URLs named, with how many of each. */
  hosts: Record<string, number>
}

/** `"resolved": "URL"` in package-lock.json / npm-shrinkwrap.json; `resolved "URL"` in a yarn classic yarn.lock. */
const RESOLVED: Record<RepointKind, RegExp> = {
  npm: /^(\s*"resolved"\s*:\s*")([^"]+)(")/,
  'yarn-classic': /^(\s+resolved\s+")([^"]+)(")/,
}

/** Which lockfile this is; yarn berry and pnpm lockfiles name no registry host (they install through the configured one). */
export function repointKind(file: string, text: string): RepointKind {
  const start = text.trimStart()
  if (start.startsWith('{')) return 'npm'
  if (/^# yarn lockfile v1/m.test(text)) return 'yarn-classic'
  const why = /^__metadata:/m.test(text)
    ? 'a yarn berry lockfile names no registry: set npmRegistryServer (or YARN_NPM_REGISTRY_SERVER) instead'
    : /^lockfileVersion:/m.test(text)
      ? 'a pnpm lockfile names no registry for registry packages: pass --registry (or set it in .npmrc) instead'
      : 'not a package-lock.json, npm-shrinkwrap.json or yarn classic yarn.lock'
  throw new SinopiaError('ELOCKFILE', `${file}: nothing to repoint: ${why}`, {
    hint: 'lockfile repoint rewrites the resolved URLs of npm and yarn classic lockfiles',
  })
}

/** The registry's base URL with one trailing slash; refuses anything but http(s). */
export function registryBase(to: string): string {
  let url: URL
  try {
    url = new URL(to)
  } catch {
    throw new SinopiaError('EUSAGE', `--to ${to} is not a URL`, { hint: 'give the registry URL, e.g. http://registry.internal:4873/' })
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new SinopiaError('EUSAGE', `--to ${to} is not an http(s) URL`, { hint: 'give the registry URL, e.g. http://registry.internal:4873/' })
  }
  url.search = ''
  url.hash = ''
  return url.href.endsWith('/') ? url.href : `${url.href}/`
}

/**
 * `url` moved to `base`, or null when it is not a registry tarball URL. The package name is the
 * path segment before `/-/` (two for a scope: `@s/n`, or one when the slash is encoded as `%2f`).
 */
export function repointUrl(url: string, base: string): string | null {
  let parsed: URL
  try {
    parsed = new URL(url)
  } catch {
    return null
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') return null
  const segments = parsed.pathname.split('/')
  const dash = segments.lastIndexOf('-')
  const file = segments[dash + 1]
  if (dash < 2 || dash !== segments.length - 2 || !file?.endsWith('.tgz')) return null
  const last = (segments[dash - 1] as string).replace(/%2f/i, '/')
  const scope = segments[dash - 2] as string
  const name = scope.startsWith('@') && !last.includes('/') ? `${scope}/${last}` : last
  if (!name || name.startsWith('.')) return null
  return `${base}${name}/-/${file}${parsed.search}${parsed.hash}`
}

export function repointLockfile(file: string, text: string, to: string): RepointResult {
  const kind = repointKind(file, text)
  const base = registryBase(to)
  const pattern = RESOLVED[kind]
  const changes: RepointChange[] = []
  const hosts: Record<string, number> = {}
  let unchanged = 0
  const lines = text.split('\n')
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] as string
    const match = pattern.exec(line)
    if (!match) continue
    const [, before, url, after] = match as unknown as [string, string, string, string]
    const moved = repointUrl(url, base)
    if (moved === null) continue
    if (moved === url) {
      unchanged++
      continue
    }
    lines[i] = `${before}${moved}${after}${line.slice(match[0].length)}`
    changes.push({ line: i + 1, from: url, to: moved })
    const host = new URL(url).host
    hosts[host] = (hosts[host] ?? 0) + 1
  }
  return { kind, text: lines.join('\n'), changes, unchanged, hosts }
}

/** The hosts a yarn classic lockfile's registry tarball URLs name, other than `base`'s (lock-sync's hint). */
export function foreignHosts(text: string, base: string): string[] {
  if (!/^# yarn lockfile v1/m.test(text)) return []
  const own = new URL(base).host
  const hosts = new Set<string>()
  for (const line of text.split('\n')) {
    const url = RESOLVED['yarn-classic'].exec(line)?.[2]
    if (!url || repointUrl(url, base) === null) continue
    const host = new URL(url).host
    if (host !== own) hosts.add(host)
  }
  return [...hosts].sort()
}

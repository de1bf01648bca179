import semver from 'semver'
import { PackageCollector } from './collect.js'
import { classifyLocation, classifySpec, sha1FromFragment, splitNameAt } from './specs.js'
import type { ParsedLockfile, SkipKind } from './types.js'

interface ClassicEntry {
  version?: string
  resolved?: string
  integrity?: string
}

interface BerryEntry {
  version?: string
  resolution?: string
}

/**
 * yarn.lock of yarn classic (v1), as parsed by `parseSyml`: one key per descriptor
 * (`"alpha@^1.0.0"`, `"my-alias@npm:real@^1"`, `"x@github:u/r"`), each holding the resolved
 * `version`, `resolved` URL (its fragment is the sha1) and, since yarn 1.10, `integrity`.
 */
export function readYarnClassic(doc: Record<string, ClassicEntry>): ParsedLockfile {
  const out = new PackageCollector()
  for (const [key, entry] of Object.entries(doc)) {
    if (!entry || typeof entry !== 'object') continue
    const descriptor = splitNameAt(key.split(/,\s*/)[0] as string)
    if (!descriptor) continue
    const [installedAs, range] = descriptor
    const spec = classifySpec(installedAs, range)
    if (spec.kind !== 'registry') {
      out.skip(installedAs, range, spec.kind)
      continue
    }
    const { version, resolved } = entry
    if (typeof version !== 'string' || !semver.valid(version)) {
      out.skip(installedAs, range, 'other', `no valid version in the lockfile (${String(version)})`)
      continue
    }
    if (typeof resolved === 'string' && resolved !== '') {
      const kind = classifyLocation(resolved, spec.name, version)
      if (kind !== 'registry') {
        out.skip(installedAs, resolved, kind)
        continue
      }
    }
    out.add(spec.name, version, entry.integrity ?? (resolved ? sha1FromFragment(resolved) : undefined))
  }
  return { format: 'yarn-classic', packages: out.packages, skipped: out.skipped }
}

/**
 * yarn.lock of yarn berry (2+), recognised by its `__metadata` entry. Each entry's `resolution`
 * is a locator, `name@npm:1.0.0` for registry packages (the real name for aliases), else
 * `name@<protocol>…`. Its `checksum` is that of yarn's zip archive, not of the tarball, so berry
 * packages carry no lockfile integrity: they are checked against the registry's.
 */
export function readYarnBerry(doc: Record<string, BerryEntry>): ParsedLockfile {
  const out = new PackageCollector()
  for (const [key, entry] of Object.entries(doc)) {
    if (key === '__metadata' || !entry || typeof entry !== 'object' || typeof entry.resolution !== 'string') continue
    const locator = splitNameAt(entry.resolution)
    if (!locator) continue
    const [name, reference] = locator
    if (reference.startsWith('workspace:')) continue // the project itself
    const npmVersion = registryVersion(reference)
    if (npmVersion) {
      out.add(name, npmVersion)
      continue
    }
    if (reference.startsWith('patch:')) {
      // `resolve@patch:resolve@npm%3A1.22.1#~builtin<compat/resolve>::…`: the patch applies to a registry package.
      const base = splitNameAt(decodeURIComponent(reference.slice('patch:'.length).split('#')[0] as string))
      const baseVersion = base ? registryVersion(base[1]) : null
      if (base && baseVersion) out.add(base[0], baseVersion)
      else out.skip(name, reference, 'other', 'patch of a package that does not come from a registry')
      continue
    }
    out.skip(name, reference, berryKind(reference))
  }
  return { format: 'yarn-berry', packages: out.packages, skipped: out.skipped }
}

/** `npm:1.2.3` (with or without `::params`) -> '1.2.3'. */
function registryVersion(reference: string): string | null {
  if (!reference.startsWith('npm:')) return null
  const version = (reference.slice('npm:'.length).split('::')[0] as string).trim()
  return semver.valid(version) ? version : null
}

function berryKind(reference: string): SkipKind {
  if (/^(link|portal):/.test(reference)) return 'link'
  if (/^file:/.test(reference)) return 'file'
  if (/^(git\+|git:|github:|gitlab:|bitbucket:)/.test(reference) || /#(commit|head|tag|semver)=/.test(reference)) return 'git'
  if (/^https?:\/\//.test(reference)) return /\.git(#|$)/.test(reference) ? 'git' : 'tarball-url'
  return 'other'
}

import semver from 'semver'
import { SinopiaError } from '../errors.js'
import type { Manifest, Packument } from '../store/index.js'
import { printable } from './names.js'

/**
 * Pure transformations of packuments: checking what an uplink sent, the abbreviated
 * ("corgi") form, and the offline view that advertises only what the store can serve.
 */

/** Per-version fields of the abbreviated document (npm's documented set plus what clients read). */
const ABBREVIATED_FIELDS = [
  'name',
  'version',
  'deprecated',
  'dependencies',
  'optionalDependencies',
  'devDependencies',
  'bundleDependencies',
  'bundledDependencies',
  'peerDependencies',
  'peerDependenciesMeta',
  'acceptDependencies',
  'bin',
  'directories',
  'dist',
  'engines',
  'os',
  'cpu',
  'funding',
  'license',
  '_hasShrinkwrap',
  'hasInstallScript',
] as const

const INSTALL_SCRIPTS = ['preinstall', 'install', 'postinstall'] as const

/**
 * Checks a packument an uplink sent for `name` and drops what must never be served from a
 * cache (attachments) or cannot be used (versions that are not objects with a valid semver).
 */
export function checkUpstreamPackument(doc: unknown, name: string, uplink: string): Packument {
  if (!doc || typeof doc !== 'object' || Array.isArray(doc)) {
    throw new SinopiaError('EUPLINK', `uplink ${uplink} sent a packument for ${printable(name)} that is not an object`)
  }
  const packument = { ...(doc as Record<string, unknown>) } as Packument
  if (packument.name !== undefined && packument.name !== name) {
    throw new SinopiaError('EUPLINK', `uplink ${uplink} sent the packument of "${printable(String(packument.name))}" for ${printable(name)}`)
  }
  packument.name = name
  delete packument._attachments
  const versions: Record<string, Manifest> = {}
  const raw = packument.versions && typeof packument.versions === 'object' ? packument.versions : {}
  for (const [version, manifest] of Object.entries(raw)) {
    // semver.valid trims: a key with white space around a valid version is not one.
    if (!manifest || typeof manifest !== 'object' || !semver.valid(version) || /\s/.test(version)) continue
    versions[version] = manifest
  }
  packument.versions = versions
  const tags = packument['dist-tags']
  packument['dist-tags'] = {}
  if (tags && typeof tags === 'object') {
    for (const [tag, version] of Object.entries(tags)) {
      if (typeof version === 'string' && versions[version]) packument['dist-tags'][tag] = version
    }
  }
  return packument
}

/**
 * True when checkUpstreamPackument returned `sent` as it was (same fields, same order, same
 * values): `checked` then serializes to the JSON of `sent`, so the uplink's bytes can be kept.
 */
export function unchangedByCheck(sent: unknown, checked: Packument): boolean {
  const doc = sent as Record<string, unknown>
  const isMap = (value: unknown) => Boolean(value) && typeof value === 'object' && !Array.isArray(value)
  if (doc.name !== checked.name || Object.hasOwn(doc, '_attachments')) return false
  if (!isMap(doc.versions) || !isMap(doc['dist-tags'])) return false
  const count = (map: unknown) => Object.keys(map as object).length
  return count(doc.versions) === count(checked.versions) && count(doc['dist-tags']) === count(checked['dist-tags'])
}

function abbreviateManifest(manifest: Manifest): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  for (const field of ABBREVIATED_FIELDS) {
    if (manifest[field] !== undefined) out[field] = manifest[field]
  }
  if (out.hasInstallScript === undefined) {
    const scripts = manifest.scripts as Record<string, unknown> | undefined
    if (scripts && INSTALL_SCRIPTS.some((s) => typeof scripts[s] === 'string')) out.hasInstallScript = true
  }
  return out
}

/**
 * The abbreviated document (`Accept: application/vnd.npm.install-v1+json`). Besides npm's
 * documented fields it keeps `time`, which pnpm reads for time-based resolution.
 */
export function abbreviate(doc: Packument): Record<string, unknown> {
  const versions: Record<string, unknown> = {}
  for (const [version, manifest] of Object.entries(doc.versions)) versions[version] = abbreviateManifest(manifest)
  const out: Record<string, unknown> = {
    name: doc.name,
    modified: doc.time?.modified ?? new Date(0).toISOString(),
    'dist-tags': doc['dist-tags'] ?? {},
    versions,
  }
  if (doc.time) out.time = doc.time
  return out
}

/**
 * The packument as if only the versions in `available` were published: what the registry
 * serves while the uplink is down, so clients resolve to versions whose tarballs it has.
 * A dist-tag whose version is missing moves to the highest available version of the same
 * major (stable versions preferred), or is dropped when that major has none.
 */
export function offlinePackument(doc: Packument, available: ReadonlySet<string>): Packument {
  const versions: Record<string, Manifest> = {}
  for (const [version, manifest] of Object.entries(doc.versions)) {
    if (available.has(version)) versions[version] = manifest
  }
  const time: Record<string, string> = {}
  for (const [key, value] of Object.entries(doc.time ?? {})) {
    if (key === 'created' || key === 'modified' || available.has(key)) time[key] = value
  }
  const tags: Record<string, string> = {}
  const kept = Object.keys(versions)
  for (const [tag, version] of Object.entries(doc['dist-tags'] ?? {})) {
    const target = available.has(version) ? version : sameMajorFallback(version, kept)
    if (target) tags[tag] = target
  }
  return { ...doc, 'dist-tags': tags, versions, ...(doc.time ? { time } : {}) }
}

function sameMajorFallback(version: string, candidates: string[]): string | null {
  const major = semver.major(version)
  const sameMajor = candidates.filter((v) => semver.major(v) === major)
  const stable = sameMajor.filter((v) => !semver.prerelease(v))
  return semver.rsort(stable.length > 0 ? stable : sameMajor)[0] ?? null
}

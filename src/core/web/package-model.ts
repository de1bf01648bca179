import semver from 'semver'
import { latestManifest, summarize, type Origin, type PackageSummary } from '../search/index.js'
import type { Manifest, Packument } from '../store/index.js'
import { tarballFile } from '../registry/names.js'

export interface VersionRow {
  version: string
  /** ISO time, or null when the document does not say. */
  date: string | null
  deprecated: string | null
  /** Tarball file name under `/<name>/-/`. */
  file: string
}

/** Everything the package page shows, taken from the packument once per revision. */
export interface PackageModel {
  summary: PackageSummary
  license: string | null
  deprecated: string | null
  distTags: Array<[tag: string, version: string]>
  /** Newest first (semver order), at most LISTED_VERSIONS of them. */
  versions: VersionRow[]
  /** How many versions there are in all. */
  versionCount: number
  dependencies: Array<{ kind: 'dependencies' | 'peerDependencies' | 'optionalDependencies'; entries: Array<[name: string, range: string]> }>
  /** Markdown as published: the document's, else the latest version's. */
  readme: string | null
}

/** Versions listed on a page at most: a package with 100,000 versions would make a page of megabytes. */
export const LISTED_VERSIONS = 1_000

const DEPENDENCY_KINDS = ['dependencies', 'peerDependencies', 'optionalDependencies'] as const

export function packageModel(name: string, doc: Packument, origin: Origin): PackageModel | null {
  const summary = summarize(name, doc, origin)
  const latest = latestManifest(doc)
  if (!summary || !latest) return null
  const time = doc.time ?? {}
  const versions = Object.values(doc.versions ?? {})
    .filter((m): m is Manifest => typeof m?.version === 'string' && semver.valid(m.version) !== null)
    .sort((a, b) => semver.rcompare(a.version, b.version))
  const versionCount = versions.length
  const listed = versions
    .slice(0, LISTED_VERSIONS)
    .map((m) => ({
      version: m.version,
      date: isoDate(time[m.version]),
      deprecated: typeof m.deprecated === 'string' && m.deprecated !== '' ? m.deprecated : null,
      file: tarballFile(name, m.version),
    }))
  const distTags = Object.entries(doc['dist-tags'] ?? {})
    .filter((entry): entry is [string, string] => typeof entry[1] === 'string')
    .sort(([a], [b]) => (a === 'latest' ? -1 : b === 'latest' ? 1 : a.localeCompare(b)))
  const dependencies = DEPENDENCY_KINDS.map((kind) => ({ kind, entries: dependencyList(latest[kind]) })).filter((d) => d.entries.length > 0)
  return {
    summary,
    license: licenseOf(latest.license ?? doc.license),
    deprecated: summary.deprecated ? (latest.deprecated as string) : null,
    distTags,
    versions: listed,
    versionCount,
    dependencies,
    readme: readmeOf(doc, latest),
  }
}

function dependencyList(value: unknown): Array<[string, string]> {
  if (!value || typeof value !== 'object' || Array.isArray(value)) return []
  return Object.entries(value as Record<string, unknown>)
    .filter((entry): entry is [string, string] => typeof entry[1] === 'string')
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
}

function licenseOf(value: unknown): string | null {
  if (typeof value === 'string') return value
  if (value && typeof value === 'object' && typeof (value as { type?: unknown }).type === 'string') return (value as { type: string }).type
  return null
}

function readmeOf(doc: Packument, latest: Manifest): string | null {
  for (const candidate of [doc.readme, latest.readme]) {
    if (typeof candidate === 'string' && candidate.trim() !== '') return candidate
  }
  return null
}

function isoDate(value: unknown): string | null {
  if (typeof value !== 'string') return null
  const ms = Date.parse(value)
  return Number.isNaN(ms) ? null : new Date(ms).toISOString()
}


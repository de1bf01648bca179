import semver from 'semver'
import { PackageCollector } from './collect.js'
import { classifyLocation, splitNameAt } from './specs.js'
import type { LockfileFormat, ParsedLockfile, SkipKind } from './types.js'

interface Resolution {
  integrity?: string
  tarball?: string
  type?: string
  repo?: string
  commit?: string
  directory?: string
}

interface PackageEntry {
  name?: string
  version?: string
  resolution?: Resolution
}

type ImporterDeps = Record<string, string | { specifier?: string; version?: string }>

interface PnpmLock {
  lockfileVersion?: string | number
  packages?: Record<string, PackageEntry>
  importers?: Record<string, Record<string, ImporterDeps | undefined>>
  [key: string]: unknown
}

const DEPENDENCY_FIELDS = ['dependencies', 'devDependencies', 'optionalDependencies'] as const

/**
 * pnpm-lock.yaml. Every package of every platform is under `packages`, keyed by its id:
 *   v9: `name@1.0.0`, `@s/n@1.0.0`, `name@https://…`, `name@file:../x`
 *   v6: `/name@1.0.0`, `/@s/n@1.0.0(peer@2.0.0)` for registry packages; anything else has no leading `/`
 *   v5: `/name/1.0.0`, `/@s/n/1.0.0_peer@2.0.0`
 * An alias is keyed by the real name. link: dependencies appear only in the importers.
 */
export function readPnpmLockfile(lock: PnpmLock): ParsedLockfile {
  const major = Number.parseInt(String(lock.lockfileVersion ?? ''), 10)
  const format: LockfileFormat = major >= 9 ? 'pnpm-v9' : major >= 6 ? 'pnpm-v6' : 'pnpm-v5'
  const out = new PackageCollector()
  for (const [key, entry] of Object.entries(lock.packages ?? {})) {
    if (!entry || typeof entry !== 'object') continue
    const id = registryId(key, major)
    const resolution = entry.resolution ?? {}
    // A registry package keeps a registry id even when its tarball lives at an unusual URL.
    if (id && !resolution.type && !resolution.directory) {
      out.add(id[0], id[1], resolution.integrity)
      continue
    }
    // v9 keys are `name@<where>`; v5/v6 keys of non-registry packages are the location itself.
    const named = major >= 9 ? splitNameAt(key) : null
    const name = entry.name ?? named?.[0] ?? key
    out.skip(name, named?.[1] ?? key, kindOf(resolution, name, entry.version ?? ''))
  }
  // A single-project v5/v6 lockfile keeps its importer's fields at the top level.
  const importers = lock.importers ?? { '.': lock as Record<string, ImporterDeps | undefined> }
  for (const importer of Object.values(importers)) {
    for (const field of DEPENDENCY_FIELDS) {
      for (const [name, value] of Object.entries(importer?.[field] ?? {})) {
        const version = typeof value === 'string' ? value : value?.version
        if (typeof version === 'string' && version.startsWith('link:')) out.skip(name, version, 'link')
      }
    }
  }
  return { format, packages: out.packages, skipped: out.skipped }
}

/** [name, version] of a registry package's key, or null when the key is not one. */
function registryId(key: string, major: number): [string, string] | null {
  if (major < 9 && !key.startsWith('/')) return null
  const bare = key.replace(/^\//, '')
  let split: [string, string] | null
  if (major >= 6 || Number.isNaN(major)) {
    split = splitNameAt(bare.replace(/\(.*$/, ''))
  } else {
    const slash = bare.lastIndexOf('/')
    split = slash > 0 ? [bare.slice(0, slash), bare.slice(slash + 1).replace(/_.*$/, '')] : null
  }
  return split && semver.valid(split[1]) ? split : null
}

function kindOf(resolution: Resolution, name: string, version: string): SkipKind {
  if (resolution.type === 'git') return 'git'
  if (resolution.type === 'directory' || resolution.directory) return 'file'
  if (resolution.tarball) {
    const kind = classifyLocation(resolution.tarball, name, version)
    return kind === 'registry' ? 'tarball-url' : kind
  }
  return 'other'
}

import semver from 'semver'
import { PackageCollector } from './collect.js'
import { classifyLocation, splitNameAt } from './specs.js'
import type { LockfileFormat, ParsedLockfile } from './types.js'

interface PackagesEntry {
  name?: string
  version?: string
  resolved?: string
  integrity?: string
  link?: boolean
  inBundle?: boolean
}

interface TreeEntry {
  version?: string
  resolved?: string
  integrity?: string
  bundled?: boolean
  dependencies?: Record<string, TreeEntry>
}

interface NpmLock {
  lockfileVersion?: number
  packages?: Record<string, PackagesEntry>
  dependencies?: Record<string, TreeEntry>
}

const NODE_MODULES = 'node_modules/'

/**
 * package-lock.json and npm-shrinkwrap.json. Versions 2 and 3 list every installed folder under
 * `packages`, keyed by its path (`node_modules/a/node_modules/@s/b`); version 1 nests the same tree
 * under `dependencies`. An alias is installed under its own name: v2/v3 add the real `name`, v1
 * writes `"version": "npm:real@1.0.0"`.
 */
export function readNpmLockfile(lock: NpmLock): ParsedLockfile {
  const version = typeof lock.lockfileVersion === 'number' ? lock.lockfileVersion : 1
  const out = new PackageCollector()
  if (version >= 2 && lock.packages && typeof lock.packages === 'object') readPackages(lock.packages, out)
  else readTree(lock.dependencies ?? {}, out)
  const format: LockfileFormat = version >= 3 ? 'npm-v3' : version === 2 ? 'npm-v2' : 'npm-v1'
  return { format, packages: out.packages, skipped: out.skipped }
}

function readPackages(packages: Record<string, PackagesEntry>, out: PackageCollector): void {
  for (const [key, entry] of Object.entries(packages)) {
    const at = key.lastIndexOf(NODE_MODULES)
    // '' is the project; other keys outside node_modules are its workspaces and file: folders.
    if (at === -1 || !entry || typeof entry !== 'object') continue
    const installedAs = key.slice(at + NODE_MODULES.length)
    const name = typeof entry.name === 'string' ? entry.name : installedAs
    if (entry.link) {
      out.skip(installedAs, `link:${entry.resolved ?? ''}`, 'link')
      continue
    }
    if (entry.inBundle) {
      out.skip(installedAs, `${name}@${entry.version ?? ''}`, 'bundled')
      continue
    }
    addEntry(out, installedAs, name, entry.version, entry.resolved, entry.integrity)
  }
}

function readTree(dependencies: Record<string, TreeEntry>, out: PackageCollector): void {
  for (const [installedAs, entry] of Object.entries(dependencies)) {
    if (!entry || typeof entry !== 'object') continue
    if (entry.bundled) {
      out.skip(installedAs, `${installedAs}@${entry.version ?? ''}`, 'bundled')
      continue
    }
    let name = installedAs
    let version = entry.version
    if (version?.startsWith('npm:')) {
      const alias = splitNameAt(version.slice('npm:'.length))
      if (alias) [name, version] = alias
    }
    addEntry(out, installedAs, name, version, entry.resolved, entry.integrity)
    if (entry.dependencies) readTree(entry.dependencies, out)
  }
}

function addEntry(out: PackageCollector, installedAs: string, name: string, version: string | undefined, resolved?: string, integrity?: string): void {
  if (typeof version !== 'string' || !semver.valid(version)) {
    // v1 writes a git URL, a tarball URL or a file: path in `version`.
    const spec = version ?? resolved ?? ''
    const kind = classifyLocation(spec, name, '')
    out.skip(installedAs, spec, kind === 'registry' ? 'other' : kind)
    return
  }
  if (typeof resolved === 'string' && resolved !== '') {
    const kind = classifyLocation(resolved, name, version)
    if (kind !== 'registry') {
      out.skip(installedAs, resolved, kind)
      return
    }
  }
  // No `resolved` (npm's omit-lockfile-registry-resolved): a registry package all the same.
  out.add(name, version, integrity)
}

import path from 'node:path'
import { parseSyml } from '@yarnpkg/parsers'
import { parse as parseYaml } from 'yaml'
import { SinopiaError } from '../errors.js'
import { PackageCollector } from './collect.js'
import { readNpmLockfile } from './npm.js'
import { readPnpmLockfile } from './pnpm.js'
import type { LockedPackage, ParsedLockfile, SkippedDependency } from './types.js'
import { readYarnBerry, readYarnClassic } from './yarn.js'

export { mergeIntegrity, PackageCollector } from './collect.js'
export { classifySpec, isRegistryTarball, splitNameAt, type SpecKind } from './specs.js'
export { SKIP_REASONS, type LockedPackage, type LockfileFormat, type ParsedLockfile, type SkipKind, type SkippedDependency } from './types.js'

/** The file names lock-sync looks for in a folder. */
export const LOCKFILE_NAMES = ['package-lock.json', 'npm-shrinkwrap.json', 'yarn.lock', 'pnpm-lock.yaml'] as const

type Kind = 'npm' | 'yarn' | 'pnpm'

/**
 * Reads a lockfile's text. The kind comes from the file name, or from the content when the name is
 * not one of LOCKFILE_NAMES (a copy such as `ci/package-lock.v1.json`). A file that cannot be
 * read as its kind is an ELOCKFILE error naming it.
 */
export function parseLockfile(file: string, text: string): ParsedLockfile {
  const kind = kindFromName(path.basename(file)) ?? sniff(text)
  if (!kind) throw invalid(file, 'not a package-lock.json, npm-shrinkwrap.json, yarn.lock or pnpm-lock.yaml')
  try {
    if (kind === 'npm') return readNpmLockfile(asObject(JSON.parse(text), file))
    if (kind === 'pnpm') return readPnpmLockfile(asObject(parseYaml(text), file))
    const doc = asObject(parseSyml(text), file)
    return '__metadata' in doc ? readYarnBerry(doc) : readYarnClassic(doc)
  } catch (error) {
    if (error instanceof SinopiaError) throw error
    throw invalid(file, error instanceof Error ? error.message.split('\n')[0] ?? '' : String(error), error)
  }
}

/** Several lockfiles' packages, each name@version once, and every skipped dependency with the lockfile it came from. */
export function mergeLockfiles(parsed: Array<{ file: string; lockfile: ParsedLockfile }>): {
  packages: LockedPackage[]
  skipped: Array<SkippedDependency & { lockfile: string }>
} {
  const all = new PackageCollector()
  for (const { lockfile } of parsed) for (const pkg of lockfile.packages) all.add(pkg.name, pkg.version, pkg.integrity)
  const skipped = parsed.flatMap(({ file, lockfile }) => lockfile.skipped.map((entry) => ({ ...entry, lockfile: file })))
  return { packages: all.packages, skipped }
}

function kindFromName(base: string): Kind | null {
  if (base === 'package-lock.json' || base === 'npm-shrinkwrap.json') return 'npm'
  if (base === 'yarn.lock') return 'yarn'
  if (base === 'pnpm-lock.yaml') return 'pnpm'
  return null
}

function sniff(text: string): Kind | null {
  const start = text.trimStart()
  if (start.startsWith('{')) return 'npm'
  if (/^lockfileVersion:/m.test(text)) return 'pnpm'
  if (/^# yarn lockfile v1/m.test(text) || /^__metadata:/m.test(text)) return 'yarn'
  return null
}

function asObject(value: unknown, file: string): Record<string, never> {
  if (!value || typeof value !== 'object' || Array.isArray(value)) throw invalid(file, 'it holds no object')
  return value as Record<string, never>
}

function invalid(file: string, why: string, cause?: unknown): SinopiaError {
  return new SinopiaError('ELOCKFILE', `cannot read ${file}: ${why}`, {
    hint: 'lock-sync reads package-lock.json (v1-v3), npm-shrinkwrap.json, yarn.lock (classic and berry) and pnpm-lock.yaml (v6, v9)',
    ...(cause === undefined ? {} : { cause }),
  })
}

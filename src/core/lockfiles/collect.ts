import ssri from 'ssri'
import { SKIP_REASONS, type LockedPackage, type SkipKind, type SkippedDependency } from './types.js'

/**
 * Gathers a lockfile's packages, each name@version once. The same package met twice (nested
 * copies, several lockfiles) keeps one entry whose integrity carries every digest seen, unless two
 * digests of the same algorithm disagree: then both entries stay, and syncing one of them fails
 * with the mismatch, as it should.
 */
export class PackageCollector {
  private readonly byId = new Map<string, LockedPackage[]>()
  private readonly skips = new Map<string, SkippedDependency>()

  add(name: string, version: string, integrity?: string | null): void {
    const id = `${name}@${version}`
    const clean = integrity ? ssri.parse(integrity).toString() || undefined : undefined
    const known = this.byId.get(id)
    if (!known) {
      this.byId.set(id, [{ name, version, ...(clean ? { integrity: clean } : {}) }])
      return
    }
    if (!clean) return
    for (const entry of known) {
      const merged = mergeIntegrity(entry.integrity, clean)
      if (merged !== null) {
        entry.integrity = merged
        return
      }
    }
    known.push({ name, version, integrity: clean })
  }

  skip(name: string, spec: string, kind: SkipKind, reason: string = SKIP_REASONS[kind]): void {
    const id = `${name}\0${spec}`
    if (!this.skips.has(id)) this.skips.set(id, { name, spec, kind, reason })
  }

  get packages(): LockedPackage[] {
    return [...this.byId.values()].flat()
  }

  get skipped(): SkippedDependency[] {
    return [...this.skips.values()]
  }
}

/** Both digests in one SRI string, or null when they disagree on an algorithm they share. */
export function mergeIntegrity(a: string | undefined, b: string): string | null {
  if (!a) return b
  const left = ssri.parse(a)
  const right = ssri.parse(b)
  for (const algorithm of Object.keys(right)) {
    const mine = left[algorithm]
    if (mine && !mine.some((hash) => right[algorithm]?.some((other) => other.digest === hash.digest))) return null
  }
  const hashes = new Set([...left.toString().split(' '), ...right.toString().split(' ')])
  return [...hashes].join(' ')
}

import { readFile } from 'node:fs/promises'
import { mergeLockfiles, parseLockfile, type LockedPackage, type LockfileFormat, type SkippedDependency } from '../lockfiles/index.js'

export interface ReadLockfiles {
  lockfiles: Array<{ file: string; format: LockfileFormat; packages: number; skipped: number }>
  /** Over all the lockfiles, each name@version once. */
  packages: LockedPackage[]
  skipped: Array<SkippedDependency & { lockfile: string }>
}

/** Reads and merges lockfiles; a broken one is an ELOCKFILE error naming it. */
export async function readLockfiles(files: string[]): Promise<ReadLockfiles> {
  const parsed = await Promise.all(files.map(async (file) => ({ file, lockfile: parseLockfile(file, await readFile(file, 'utf8')) })))
  const merged = mergeLockfiles(parsed)
  return {
    lockfiles: parsed.map(({ file, lockfile }) => ({ file, format: lockfile.format, packages: lockfile.packages.length, skipped: lockfile.skipped.length })),
    ...merged,
  }
}

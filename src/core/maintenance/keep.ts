import { readFile, stat } from 'node:fs/promises'
import path from 'node:path'
import fg from 'fast-glob'
import { SinopiaError, errnoCode } from '../errors.js'
import { LOCKFILE_NAMES, parseLockfile } from '../lockfiles/index.js'
import { sha512Of } from '../store/index.js'

/** What `prune --keep-lockfile` must leave in place. */
export interface KeepList {
  files: string[]
  /** `name@version` of every registry package the lockfiles install. */
  specs: Set<string>
  /** sha512 digests the lockfiles record: the same bytes under another key stay too. */
  integrities: Set<string>
}

export const emptyKeepList = (): KeepList => ({ files: [], specs: new Set(), integrities: new Set() })

/**
 * Reads the lockfiles that `patterns` name: files (package-lock.json, npm-shrinkwrap.json,
 * yarn.lock, pnpm-lock.yaml, read by core/lockfiles), folders (the lockfiles in them) or globs
 * relative to `cwd` (node_modules is not searched). A pattern that names nothing, or a file that
 * cannot be read, is an error: pruning without what the user asked to keep would delete exactly that.
 */
export async function readKeepList(patterns: readonly string[], cwd: string): Promise<KeepList> {
  const keep = emptyKeepList()
  const files = new Set<string>()
  for (const pattern of patterns) {
    const matched = await resolvePattern(pattern, cwd)
    if (matched.length === 0) {
      throw new SinopiaError('ENOLOCKFILE', `--keep-lockfile ${pattern}: no lockfile there`, { hint: `give the path of a lockfile (${LOCKFILE_NAMES.join(', ')}), a folder holding one, or a glob` })
    }
    for (const file of matched) files.add(file)
  }
  for (const file of [...files].sort()) {
    let text: string
    try {
      text = await readFile(file, 'utf8')
    } catch (error) {
      throw new SinopiaError('ELOCKFILE', `cannot read ${file} (${errnoCode(error) ?? String(error)})`, { cause: error })
    }
    for (const pkg of parseLockfile(file, text).packages) {
      keep.specs.add(`${pkg.name}@${pkg.version}`)
      const sha512 = sha512Of(pkg.integrity)
      if (sha512) keep.integrities.add(sha512)
    }
    keep.files.push(file)
  }
  return keep
}

async function resolvePattern(pattern: string, cwd: string): Promise<string[]> {
  const direct = path.resolve(cwd, pattern)
  try {
    const info = await stat(direct)
    if (info.isFile()) return [direct]
    if (info.isDirectory()) {
      const inside = await Promise.all(LOCKFILE_NAMES.map(async (name) => ((await isFile(path.join(direct, name))) ? path.join(direct, name) : null)))
      return inside.filter((file): file is string => file !== null)
    }
  } catch (error) {
    if (errnoCode(error) !== 'ENOENT') throw error
  }
  const found = await fg(pattern, { cwd, absolute: true, onlyFiles: true, dot: true, ignore: ['**/node_modules/**'] })
  return found.map((file) => path.normalize(file))
}

async function isFile(file: string): Promise<boolean> {
  try {
    return (await stat(file)).isFile()
  } catch {
    return false
  }
}

import { stat } from 'node:fs/promises'
import path from 'node:path'
import { SinopiaError, errnoCode } from '../errors.js'
import { LOCKFILE_NAMES } from '../lockfiles/index.js'

/**
 * The lockfiles named by lock-sync's arguments, absolute, sorted, each once. An argument is a file,
 * a folder (its lockfiles) or a glob (`**\/package-lock.json`; node_modules is never searched
 * unless the pattern names it). No arguments: the lockfiles in `cwd`. An argument that names
 * nothing is an ENOLOCKFILE error.
 */
export async function findLockfiles(args: string[], cwd: string): Promise<string[]> {
  const found = new Set<string>()
  for (const arg of args.length > 0 ? args : [cwd]) {
    const absolute = path.resolve(cwd, arg)
    const info = await stat(absolute).catch((error: unknown) => {
      if (errnoCode(error) === 'ENOENT' || errnoCode(error) === 'ENOTDIR') return null
      throw error
    })
    let matches: string[]
    if (info?.isFile()) matches = [absolute]
    else if (info?.isDirectory()) matches = await inFolder(absolute)
    else {
      const { default: fg } = await import('fast-glob')
      matches = await fg(arg, {
        cwd,
        absolute: true,
        onlyFiles: true,
        followSymbolicLinks: false,
        ...(arg.includes('node_modules') ? {} : { ignore: ['**/node_modules/**'] }),
      })
    }
    if (matches.length === 0) {
      throw new SinopiaError('ENOLOCKFILE', info ? `no lockfile in ${absolute}` : `no file matches ${arg}`, {
        hint: `lock-sync looks for ${LOCKFILE_NAMES.join(', ')}; pass their paths or a glob such as '**/package-lock.json'`,
      })
    }
    for (const file of matches) found.add(path.normalize(file))
  }
  return [...found].sort()
}

async function inFolder(dir: string): Promise<string[]> {
  const present = await Promise.all(
    LOCKFILE_NAMES.map(async (name) => {
      const file = path.join(dir, name)
      return (await stat(file).catch(() => null))?.isFile() ? file : null
    }),
  )
  return present.filter((file): file is string => file !== null)
}

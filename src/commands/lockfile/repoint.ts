import { readFile } from 'node:fs/promises'
import { Args, Flags } from '@oclif/core'
import { BaseCommand } from '../../cli/base-command.js'
import { SinopiaError, errnoCode } from '../../core/errors.js'
import { repointLockfile, type RepointResult } from '../../core/lockfiles/repoint.js'
import { writeFileAtomic } from '../../core/fs/atomic.js'

export default class LockfileRepoint extends BaseCommand {
  static override summary = "Point a lockfile's resolved tarball URLs at this registry (npm and yarn classic lockfiles)."
  static override description = `yarn classic installs from the resolved URLs of yarn.lock as they are, and npm replaces only \
the public registry's host by default: a lockfile written against another registry (a company mirror) cannot install \
offline through this one until its URLs name it. Only registry tarball URLs change (…/<name>/-/<file>.tgz); integrity, \
order and formatting stay, and git, file: and other tarball URLs are left alone. --dry-run prints the changes as a diff.

Exit status: 0 when the file was rewritten (or, with --dry-run, could be), 1 on an error.`

  static override examples = [
    '<%= config.bin %> lockfile repoint yarn.lock --to http://registry.internal:4873/',
    '<%= config.bin %> lockfile repoint package-lock.json --to http://registry.internal:4873/ --dry-run',
  ]

  static override strict = false
  static override args = {
    files: Args.string({ description: 'Lockfiles: package-lock.json, npm-shrinkwrap.json, or a yarn classic yarn.lock.', required: true }),
  }

  static override flags = {
    to: Flags.string({ summary: 'The registry URL the tarball URLs should name.', required: true, helpValue: 'URL' }),
    'dry-run': Flags.boolean({ summary: 'Print what would change as a diff; write nothing.' }),
    json: Flags.boolean({ summary: 'Print a JSON summary instead.' }),
  }

  async run(): Promise<void> {
    const { argv, flags } = await this.parse(LockfileRepoint)
    const results: Array<{ file: string } & Omit<RepointResult, 'text'>> = []
    for (const file of argv as string[]) {
      const text = await readLockfile(file)
      const { text: next, ...result } = repointLockfile(file, text, flags.to)
      if (!flags['dry-run'] && result.changes.length > 0) await writeFileAtomic(file, next)
      results.push({ file, ...result })
    }
    if (flags.json) {
      this.log(JSON.stringify({ command: 'lockfile repoint', to: flags.to, dryRun: flags['dry-run'], files: results }, null, 2))
      return
    }
    for (const { file, changes, unchanged, hosts } of results) {
      if (flags['dry-run']) {
        this.log(`--- ${file}\n+++ ${file} (repointed)`)
        for (const change of changes) this.log(`@@ ${change.line} @@\n-${change.from}\n+${change.to}`)
      }
      const from = Object.entries(hosts).map(([host, n]) => `${host} (${n})`).join(', ')
      const verb = flags['dry-run'] ? 'would repoint' : 'repointed'
      this.log(`${file}: ${changes.length === 0 ? 'nothing to change' : `${verb} ${changes.length} URL${changes.length === 1 ? '' : 's'} from ${from}`}${unchanged ? `; ${unchanged} already named the registry` : ''}`)
    }
  }
}

async function readLockfile(file: string): Promise<string> {
  try {
    return await readFile(file, 'utf8')
  } catch (error) {
    throw new SinopiaError('ENOENT', `cannot read ${file} (${errnoCode(error) ?? String(error)})`, { hint: 'name a package-lock.json, npm-shrinkwrap.json or yarn.lock' })
  }
}

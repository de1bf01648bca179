import { readFile } from 'node:fs/promises'
import { Args, Flags } from '@oclif/core'
import { BaseCommand } from '../cli/base-command.js'
import { syncFlags } from '../cli/flags.js'
import { createProgress, interruptible, syncSummaryText } from '../cli/progress.js'
import { SinopiaError, errnoCode } from '../core/errors.js'
import { MirrorResolver, Syncer, openRegistry } from '../core/sync/index.js'

export default class Mirror extends BaseCommand {
  static override summary = 'Put packages (and, with --deps, all they pull in) into the store, for installs with the uplink down.'
  static override description = `Takes npm specs: name, name@range, name@tag, @scope/name@version. By default each spec's \
package gets the version the spec resolves to (as npm resolves it); --all-versions takes every version the spec allows \
(every version of a bare name, every version in a range). --deps adds the \
whole dependency closure an install of those versions pulls: dependencies and optional dependencies of every platform, \
and with --peers the peer dependencies. Each package gets its packument and its verified tarball, through the same \
uplink client and store as serve (which may run at the same time).

Exit status: 0 when every package is in the store, 1 when any failed, 130 when interrupted.`

  static override examples = [
    '<%= config.bin %> mirror typescript@^5 @types/node@latest',
    '<%= config.bin %> mirror --deps express',
    '<%= config.bin %> mirror --from specs.txt --deps --json',
  ]

  static override strict = false
  static override args = {
    specs: Args.string({ description: 'Package specs: name, name@range, name@tag, @scope/name@version.' }),
  }

  static override flags = {
    from: Flags.string({ summary: 'Read specs from this file, one per line (blank lines and # comments ignored).', helpValue: 'FILE' }),
    'all-versions': Flags.boolean({ summary: 'Every version each spec allows (a bare name: every version), not only the one it resolves to.' }),
    deps: Flags.boolean({ summary: 'The full dependency closure an install would pull (optional dependencies included).' }),
    peers: Flags.boolean({ summary: 'With --deps: include peer dependencies (those not marked optional).', dependsOn: ['deps'] }),
    ...syncFlags('Packages resolved and fetched at once.'),
  }

  async run(): Promise<void> {
    const { argv, flags } = await this.parse(Mirror)
    const config = await this.loadConfig(flags.config, false)
    const specs = [...(argv as string[]), ...(flags.from ? await specsFrom(flags.from) : [])]
    if (specs.length === 0) {
      throw new SinopiaError('EUSAGE', 'no package specs given', { hint: `pass specs (${this.config.bin} mirror lodash@^4) or --from FILE` })
    }
    const progress = await createProgress({ verb: 'mirror', json: flags.json })
    const interrupt = interruptible(progress)
    const { registry, close } = await openRegistry(config)
    let exitCode: number
    try {
      const syncer = new Syncer(registry, { concurrency: flags.concurrency, retries: flags.retries, signal: interrupt.signal, onEvent: progress.onEvent })
      const resolver = new MirrorResolver(registry, syncer, { allVersions: flags['all-versions'], deps: flags.deps, peers: flags.peers })
      resolver.add(specs)
      const summary = await syncer.finish()
      progress.stop()
      this.log(flags.json ? JSON.stringify({ command: 'mirror', roots: resolver.roots, ...summary }, null, 2) : syncSummaryText('mirror', summary))
      exitCode = summary.interrupted > 0 ? 130 : summary.failed.length > 0 ? 1 : 0
    } finally {
      progress.stop()
      interrupt.dispose()
      await close()
    }
    if (exitCode !== 0) this.exit(exitCode)
  }
}

async function specsFrom(file: string): Promise<string[]> {
  let text: string
  try {
    text = await readFile(file, 'utf8')
  } catch (error) {
    throw new SinopiaError('ENOENT', `cannot read ${file} (${errnoCode(error) ?? String(error)})`, { hint: '--from takes a file with one spec per line' })
  }
  return text
    .split(/\r?\n/)
    .map((line) => line.replace(/(^|\s)#.*$/, '').trim())
    .filter((line) => line !== '')
}

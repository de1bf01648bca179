import { readFile } from 'node:fs/promises'
import path from 'node:path'
import { Args, Flags } from '@oclif/core'
import { BaseCommand } from '../cli/base-command.js'
import { syncFlags } from '../cli/flags.js'
import { checkSummaryText, createProgress, interruptible, syncSummaryText } from '../cli/progress.js'
import { foreignHosts } from '../core/lockfiles/repoint.js'
import { openStore } from '../core/store/index.js'
import type { Config } from '../core/config/index.js'
import { Syncer, checkStore, findLockfiles, openRegistry, readLockfiles } from '../core/sync/index.js'
import type { ReadLockfiles, SyncOptions, SyncSummary } from '../core/sync/index.js'

export default class LockSync extends BaseCommand {
  static override summary = 'Put every package a lockfile installs into the store, so installs work with the uplink down.'
  static override description = `Reads package-lock.json (v1-v3), npm-shrinkwrap.json, yarn.lock (classic and berry) and \
pnpm-lock.yaml (v6, v9). For each registry package, of every platform, the store gets the tarball, verified against the \
lockfile's integrity, and the packument, so that npm ci and npm install both work offline through serve. git, file:, link: \
and tarball-URL dependencies are listed as skipped. Packages already stored cost no uplink request. It can run while serve \
uses the same storage; after Ctrl-C the store is consistent and the next run resumes.

Exit status: 0 when every package is in the store, 1 when any failed (or, with --check, any is missing or corrupt), 130 when interrupted.`

  static override examples = [
    '<%= config.bin %> lock-sync',
    "<%= config.bin %> lock-sync '**/package-lock.json'",
    '<%= config.bin %> lock-sync --check yarn.lock',
    '<%= config.bin %> lock-sync --verify',
    '<%= config.bin %> lock-sync --json > sync.json',
  ]

  static override strict = false
  static override args = {
    lockfiles: Args.string({ description: 'Lockfiles, folders or globs (default: the lockfiles in the current folder).' }),
  }

  static override flags = {
    check: Flags.boolean({ summary: 'Fetch nothing: report what is missing or corrupt in the store, exit 1 if anything is.', exclusive: ['verify'] }),
    verify: Flags.boolean({ summary: 'Re-hash the tarballs already stored, and fetch again any that are corrupt.' }),
    ...syncFlags('Packages fetched (or checked) at once.'),
  }

  async run(): Promise<void> {
    const { argv, flags } = await this.parse(LockSync)
    const config = await this.loadConfig(flags.config, false)
    const cwd = process.cwd()
    const locked = await readLockfiles(await findLockfiles(argv as string[], cwd))
    const from = locked.lockfiles.length === 1 ? path.relative(cwd, locked.lockfiles[0]?.file ?? '') || '.' : `${locked.lockfiles.length} lockfiles`
    const lockfiles = locked.lockfiles.map((l) => ({ ...l, file: path.relative(cwd, l.file) }))
    const skipped = locked.skipped.map((s) => ({ ...s, lockfile: path.relative(cwd, s.lockfile) }))
    const progress = await createProgress({ verb: flags.check ? 'check' : 'lock-sync', json: flags.json })
    const interrupt = interruptible(progress)
    const options = { concurrency: flags.concurrency, signal: interrupt.signal, onEvent: progress.onEvent }
    let exitCode: number
    try {
      if (flags.check) {
        const summary = await checkStore(await openStore(config.storage), locked.packages, skipped, options)
        progress.stop()
        this.log(flags.json ? JSON.stringify({ command: 'lock-sync --check', lockfiles, ...summary }, null, 2) : checkSummaryText(summary, from))
        exitCode = summary.interrupted > 0 ? 130 : summary.missing.length + summary.corrupt.length > 0 ? 1 : 0
      } else {
        const summary = await syncLockfiles(config, locked, skipped, { ...options, retries: flags.retries, verify: flags.verify })
        progress.stop()
        this.log(flags.json ? JSON.stringify({ command: 'lock-sync', lockfiles, ...summary }, null, 2) : syncSummaryText('lock-sync', summary, from))
        exitCode = summary.interrupted > 0 ? 130 : summary.failed.length > 0 ? 1 : 0
      }
    } finally {
      progress.stop()
      interrupt.dispose()
    }
    await this.hintForeignHosts(config, locked)
    if (exitCode !== 0) this.exit(exitCode)
  }

  /** yarn 1 fetches the resolved URLs verbatim: a yarn.lock naming another host cannot install through this registry as it is. */
  private async hintForeignHosts(config: Config, locked: ReadLockfiles): Promise<void> {
    const registry = registryUrl(config)
    for (const { file, format } of locked.lockfiles) {
      if (format !== 'yarn-classic') continue
      const hosts = foreignHosts(await readFile(file, 'utf8'), registry)
      if (hosts.length === 0) continue
      const shown = path.relative(process.cwd(), file) || file
      this.logToStderr(
        `Hint: ${shown} names ${hosts.join(', ')}; yarn 1 installs from those URLs as written. To install through this registry: ${this.config.bin} lockfile repoint ${shown} --to ${registry}`,
      )
    }
  }
}

/** The URL clients reach this registry at, as far as the config tells. */
function registryUrl(config: Config): string {
  if (config.urlPrefix && /^https?:\/\//i.test(config.urlPrefix)) return config.urlPrefix
  const host = config.listen.host === '0.0.0.0' || config.listen.host === '::' ? 'localhost' : config.listen.host
  return `http://${host.includes(':') ? `[${host}]` : host}:${config.listen.port}/`
}

/** The store and registry opened as serve opens them, every locked package synced, the uplink connections closed. */
async function syncLockfiles(config: Config, locked: ReadLockfiles, skipped: ReadLockfiles['skipped'], options: SyncOptions): Promise<SyncSummary> {
  const { registry, close } = await openRegistry(config)
  try {
    const syncer = new Syncer(registry, options)
    syncer.skip(skipped)
    syncer.add(locked.packages)
    return await syncer.finish()
  } finally {
    await close()
  }
}

import path from 'node:path'
import { Flags } from '@oclif/core'
import ora, { type Ora } from 'ora'
import { BaseCommand } from '../cli/base-command.js'
import { Users } from '../core/auth/index.js'
import { SinopiaError } from '../core/errors.js'
import { formatBytes, plural } from '../core/maintenance/index.js'
import { DEFAULT_MIGRATE_CONCURRENCY, assertSource, migrateHtpasswd, migrateStore, migrateVerdaccio, type MigrateProgress, type MigrateReport } from '../core/migrate/index.js'
import { isDatabaseUrl, openStore, redactLocation } from '../core/store/index.js'

export default class Migrate extends BaseCommand {
  static override summary = 'Copy a store to another backend (a folder, a database), or read a Verdaccio/Sinopia storage folder into one.'
  static override description = `Copies every package's documents, every tarball, the tokens and the usage records. Each \
tarball is re-hashed by the destination as it is written and each document decoded first: what is broken in the source is \
reported, not copied, and the exit status is 1. The source is only read (no locks held), so a server may keep serving from it. \
What the destination already holds identical is skipped: after an interruption, run the same command again to finish.

--from-verdaccio reads Verdaccio's (or Sinopia's) storage folder: the packages its .verdaccio-db.json lists become \
packages published here (each tarball verified against its version's integrity or shasum), the others cached uplink \
copies. --htpasswd appends that Verdaccio's users to the configured users (the htpasswd file, or the --to store with auth.store); \
users already there are kept as they are. Users a store keeps (auth.store) are copied with it. \
Verdaccio's tokens cannot be carried over: its users log in again.`

  static override examples = [
    '<%= config.bin %> migrate --from ./storage --to ./backup-storage',
    '<%= config.bin %> migrate --from-verdaccio /var/lib/verdaccio/storage --htpasswd /etc/verdaccio/htpasswd --to ./storage',
    '<%= config.bin %> migrate --from ./storage --to ./other-storage --json',
  ]

  static override enableJsonFlag = true

  static override flags = {
    from: Flags.string({ summary: 'The store to copy from: a storage folder (or a database URL).', helpValue: 'STORE', exclusive: ['from-verdaccio'] }),
    'from-verdaccio': Flags.string({ summary: "A Verdaccio or Sinopia storage folder to read (its uplinks and users go by this config).", helpValue: 'DIR' }),
    to: Flags.string({ summary: 'The store to copy into: a storage folder (created if missing) or a database URL.', helpValue: 'STORE' }),
    htpasswd: Flags.string({ summary: "With --from-verdaccio: Verdaccio's htpasswd file, whose users are added to the configured one.", helpValue: 'FILE' }),
    concurrency: Flags.integer({ summary: 'Packages copied at once.', default: DEFAULT_MIGRATE_CONCURRENCY, min: 1, max: 64 }),
  }

  async run(): Promise<MigrateReport> {
    const { flags } = await this.parse(Migrate)
    const from = flags.from ?? flags['from-verdaccio']
    if (from === undefined) throw new SinopiaError('EUSAGE', 'migrate needs --from STORE or --from-verdaccio DIR: the store to copy from')
    if (flags.to === undefined) throw new SinopiaError('EUSAGE', 'migrate needs --to STORE: the store to copy into')
    if (flags.htpasswd !== undefined && flags['from-verdaccio'] === undefined) throw new SinopiaError('EUSAGE', '--htpasswd goes with --from-verdaccio')
    const source = await assertSource(from, flags.from === undefined ? '--from-verdaccio' : '--from')
    const to = isDatabaseUrl(flags.to) ? flags.to : path.resolve(flags.to)
    if (to === source) throw new SinopiaError('EUSAGE', `--to is the store --from names (${redactLocation(to)}): nothing to copy`)

    // A terminal that reports no width (some pseudo-terminals) would make ora redraw forever.
    const spinning = !this.jsonEnabled() && process.stderr.isTTY && (process.stderr.columns ?? 0) > 0
    const spinner: Ora | null = spinning ? ora({ text: 'migrate: listing the source', stream: process.stderr, discardStdin: false }).start() : null
    const options = { concurrency: flags.concurrency, ...(spinner ? { onProgress: (p: MigrateProgress) => (spinner.text = progressText(p)) } : {}) }
    let report: MigrateReport
    try {
      const dest = await openStore(to)
      if (flags['from-verdaccio'] === undefined) {
        report = await migrateStore(await openStore(source), dest, options)
      } else {
        const config = await this.loadConfig(flags.config, false)
        report = await migrateVerdaccio({ dir: source, uplinks: config.uplinks }, dest, options)
        if (flags.htpasswd !== undefined) report.users = await migrateHtpasswd(flags.htpasswd, Users.of(config, dest))
      }
    } catch (error) {
      spinner?.fail()
      throw error
    }
    spinner?.stop()
    this.log(reportText(report))
    if (!report.ok) process.exitCode = 1
    return report
  }
}

function progressText(p: MigrateProgress): string {
  const parts = [`${p.done}/${p.total} packages and blobs`, `${formatBytes(p.bytes)} copied`]
  if (p.skipped > 0) parts.push(`${p.skipped} already there`)
  if (p.failed > 0) parts.push(`${p.failed} failed`)
  return `migrate: ${parts.join(' · ')}`
}

function reportText(r: MigrateReport): string {
  const lines = [
    `migrate: ${r.from} -> ${r.to}: ${plural(r.packages, 'package')}; ` +
      `${plural(r.documents.copied, 'document')} and ${plural(r.blobs.copied, 'blob')} (${formatBytes(r.bytes)}) copied, ` +
      `${plural(r.tokens.copied, 'token')} copied, usage of ${plural(r.usage, 'blob')} carried over; ${(r.durationMs / 1000).toFixed(1)} s`,
  ]
  if (r.skipped > 0) lines.push(`skipped ${r.skipped} already in the destination (${r.documents.skipped} documents, ${r.blobs.skipped} blobs, ${r.tokens.skipped} tokens)`)
  if (r.users) {
    lines.push(`users: ${r.users.added.length} added${r.users.added.length > 0 ? ` (${r.users.added.join(', ')})` : ''}`)
    if (r.users.existing.length > 0) lines.push(`users already there, left as they are: ${r.users.existing.join(', ')}`)
  }
  for (const warning of r.warnings) lines.push(`warning: ${warning}`)
  if (r.failed.length > 0) {
    lines.push(`failed (${r.failed.length}, not copied):`, ...r.failed.map((f) => `  ${f.item}: ${f.code}: ${f.message}`))
    lines.push('the rest was copied; fix the source (`sinopia-cli verify` on it) and run the same command again')
  } else lines.push('done: everything was copied and verified')
  return lines.join('\n')
}

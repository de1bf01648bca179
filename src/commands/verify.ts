import { Flags } from '@oclif/core'
import ora, { type Ora } from 'ora'
import { BaseCommand } from '../cli/base-command.js'
import { preferSmallHeap } from '../core/heap.js'
import { formatBytes, plural, verifyStore, type VerifyProgress, type VerifyReport } from '../core/maintenance/index.js'
import { openStore, tarballSpec } from '../core/store/index.js'

function progressText(p: VerifyProgress): string {
  if (p.phase === 'index') return `looking again at ${p.entries} blob index entries`
  return `${p.blobs} blobs hashed, ${p.entries} index entries read, ${p.done}/${p.packages} packages' metadata parsed`
}

export default class Verify extends BaseCommand {
  static override summary = 'Check the storage: re-hash every blob, parse every metadata file, find missing tarballs.'
  static override description = `Exits non-zero while problems remain. With --fix, corrupt blobs and unreadable uplink \
metadata move to the quarantine folder of the storage and references to missing blobs are dropped, so the server \
fetches them from the uplink again on the next request. What was published here (local.json, its tarballs) has no \
other copy: such problems are reported, never "fixed". Safe while \`serve\` runs.`

  static override examples = ['<%= config.bin %> verify', '<%= config.bin %> verify --fix', '<%= config.bin %> verify --json']
  static override enableJsonFlag = true

  static override flags = {
    fix: Flags.boolean({ summary: 'Quarantine corrupt blobs and unreadable metadata, and drop dangling references.' }),
  }

  async run(): Promise<VerifyReport> {
    const { flags } = await this.parse(Verify)
    preferSmallHeap()
    const config = await this.loadConfig(flags.config, false)
    const store = await openStore(config.storage)
    // A terminal that reports no width (some pseudo-terminals) would make ora redraw forever.
    const spinning = !this.jsonEnabled() && process.stderr.isTTY && (process.stderr.columns ?? 0) > 0
    const spinner: Ora | null = spinning ? ora({ text: 'verifying', stream: process.stderr, discardStdin: false }).start() : null
    let report: VerifyReport
    try {
      report = await verifyStore(store, {
        fix: flags.fix,
        onProgress: spinner ? (p) => (spinner.text = progressText(p)) : undefined,
      })
    } catch (error) {
      spinner?.fail()
      throw error
    }
    spinner?.stop()
    for (const blob of report.blobs.corrupt) {
      this.log(`corrupt blob ${blob.integrity.slice(0, 24)}… (${formatBytes(blob.size)})${blob.quarantined ? `: moved to ${blob.quarantined}` : ''}`)
    }
    for (const blob of report.blobs.unreadable) this.log(`unreadable blob ${blob.path} (${blob.code}): left in place; check the disk`)
    for (const entry of report.entries.dangling) {
      if (entry.why === 'missing' || entry.dropped) {
        this.log(`${tarballSpec(entry.key)}: blob ${entry.why}${entry.dropped ? '; reference dropped, the server fetches it again' : ''}`)
      }
    }
    for (const file of report.metadata.broken) this.log(`${file.message}${file.quarantined ? ` (${file.quarantined === '(removed)' ? 'removed' : `moved to ${file.quarantined}`})` : ''}`)
    for (const v of report.missingLocal) this.log(`${v.name}@${v.version} was published here and its tarball is missing or corrupt: publish it again`)
    this.log(
      `checked ${plural(report.blobs.checked, 'blob')} (${formatBytes(report.blobs.bytes)}), ${plural(report.entries.checked, 'index entry', 'index entries')}, ` +
        `${plural(report.metadata.packages, 'package')}${report.orphans ? `; ${plural(report.orphans, 'unreferenced blob')} (prune collects them)` : ''}`,
    )
    if (report.problems === 0) this.log(flags.fix && hadProblems(report) ? 'fixed: no problems remain' : 'no problems found')
    else {
      this.log(`${plural(report.problems, 'problem')}${flags.fix ? ' remain' : ' found; `verify --fix` repairs what an uplink can refill'}`)
      process.exitCode = 1
    }
    return report
  }
}

function hadProblems(report: VerifyReport): boolean {
  return report.blobs.corrupt.length + report.blobs.unreadable.length + report.entries.dangling.length + report.metadata.broken.length > 0
}

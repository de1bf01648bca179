import { Flags } from '@oclif/core'
import { BaseCommand } from '../../cli/base-command.js'
import { bundleArgs, signatureFlags } from '../../cli/flags.js'
import { formatBytes } from '../../cli/progress.js'
import { loadPublicKey, verifyBundle, type BundleReport } from '../../core/bundle/index.js'

export default class BundleVerify extends BaseCommand {
  static override summary = 'Check a bundle: its format, every tarball against its digest and the manifest, and the signature.'
  static override description = `Reads the whole bundle once. Exit status: 0 when every check passes, 1 otherwise (each problem \
is listed, naming the package).`

  static override examples = ['<%= config.bin %> bundle verify deps.tar', '<%= config.bin %> bundle verify deps.tar --require-signature bundle.pub']

  static override args = bundleArgs

  static override flags = {
    ...signatureFlags,
    json: Flags.boolean({ summary: 'Print the report as JSON.' }),
  }

  async run(): Promise<void> {
    const { args, flags } = await this.parse(BundleVerify)
    const trusted = flags['require-signature'] ? await loadPublicKey(flags['require-signature']) : null
    const report = await verifyBundle(args.file, { trusted })
    const { manifest: _manifest, ...rest } = report
    this.log(flags.json ? JSON.stringify({ command: 'bundle verify', ...rest, created: report.manifest?.created }, null, 2) : reportText(report))
    if (!report.ok) this.exit(1)
  }
}

export function reportText(report: BundleReport): string {
  const signature =
    report.signature.status === 'valid'
      ? `signed by ${report.signature.fingerprint}${report.signature.trusted ? ' (the required key)' : ' (not checked against a trusted key)'}`
      : report.signature.status === 'absent'
        ? 'not signed'
        : 'bad signature'
  const head = `bundle: ${report.file}: ${report.packages} packages, ${report.versions} versions, ${report.blobs} tarballs, ${formatBytes(report.bytes)}; ${signature}`
  if (report.ok) return `${head}\nok`
  return [head, `${report.problems.length} problems:`, ...report.problems.map((p) => `  ${p.package ? `${p.package}: ` : ''}${p.message}`)].join('\n')
}

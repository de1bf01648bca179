import { Flags } from '@oclif/core'
import { BaseCommand } from '../../cli/base-command.js'
import { bundleArgs, signatureFlags } from '../../cli/flags.js'
import { importBundle, loadPublicKey } from '../../core/bundle/index.js'
import { openStore } from '../../core/store/index.js'
import { reportText } from './verify.js'

export default class BundleImport extends BaseCommand {
  static override summary = 'Import a bundle into the store (safe next to a running serve).'
  static override description = `Reads the bundle once: the manifest and signature are checked before anything is written, \
each tarball is verified as it streams into the store, and a bundle with any problem is refused with nothing of it imported \
(no packument written, the tarballs already stored taken back). Then new versions are added to each package's cached uplink copy, under the package's lock; versions the store \
holds with the same integrity are skipped; a version it holds with another integrity is refused and reported, never replaced. \
Imported packages count as fetched from an uplink named "bundle" (a later publish of the name here is an override), and are served even where the config proxies no uplink.

Exit status: 0 when everything was imported or already present, 1 when the bundle or any version was refused.`

  static override examples = ['<%= config.bin %> bundle import deps.tar', '<%= config.bin %> bundle import deps.tar --require-signature bundle.pub --json']

  static override args = bundleArgs
  static override flags = {
    ...signatureFlags,
    json: Flags.boolean({ summary: 'Print a machine-readable summary.' }),
  }

  async run(): Promise<void> {
    const { args, flags } = await this.parse(BundleImport)
    const config = await this.loadConfig(flags.config, false)
    const trusted = flags['require-signature'] ? await loadPublicKey(flags['require-signature']) : null
    const started = Date.now()
    const store = await openStore(config.storage)
    const result = await importBundle(store, args.file, { trusted })
    const durationMs = Date.now() - started
    const { manifest: _manifest, ...verify } = result.verify
    if (flags.json) {
      this.log(JSON.stringify({ command: 'bundle import', ok: result.ok, verify, added: result.added, present: result.present, refused: result.refused, durationMs }, null, 2))
    } else if (!result.verify.ok) {
      this.log(`${reportText(result.verify)}\nbundle: refused; nothing was imported`)
    } else {
      const lines = [`bundle: imported ${args.file}: ${result.added.length} versions added, ${result.present.length} already present, ${result.refused.length} refused`]
      if (result.refused.length > 0) lines.push('refused:', ...result.refused.map((p) => `  ${p.package ?? ''}: ${p.message}`))
      this.log(lines.join('\n'))
    }
    if (!result.ok) this.exit(1)
  }
}

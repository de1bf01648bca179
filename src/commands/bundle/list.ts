import { Args, Flags } from '@oclif/core'
import { BaseCommand } from '../../cli/base-command.js'
import { formatBytes } from '../../cli/progress.js'
import { readManifest } from '../../core/bundle/index.js'

export default class BundleList extends BaseCommand {
  static override summary = 'List what a bundle holds (from its manifest; `bundle verify` checks the tarballs).'
  static override examples = ['<%= config.bin %> bundle list deps.tar', '<%= config.bin %> bundle list deps.tar --json']

  static override args = { file: Args.string({ description: 'The bundle.', required: true }) }
  static override flags = { json: Flags.boolean({ summary: 'Print the list as JSON.' }) }

  async run(): Promise<void> {
    const { args, flags } = await this.parse(BundleList)
    const manifest = await readManifest(args.file)
    const rows = manifest.packages.flatMap((pkg) => pkg.versions.map((v) => ({ name: pkg.name, version: v.version, size: v.size, integrity: v.integrity })))
    if (flags.json) {
      this.log(JSON.stringify({ format: manifest.format, created: manifest.created, tool: manifest.tool, packages: rows }, null, 2))
      return
    }
    const width = (pick: (r: (typeof rows)[number]) => string, title: string) => Math.max(title.length, ...rows.map((r) => pick(r).length))
    const w = [width((r) => r.name, 'NAME'), width((r) => r.version, 'VERSION'), width((r) => formatBytes(r.size), 'SIZE')]
    const line = (a: string, b: string, c: string, d: string) => `${a.padEnd(w[0] ?? 0)}  ${b.padEnd(w[1] ?? 0)}  ${c.padStart(w[2] ?? 0)}  ${d}`
    this.log(`bundle format ${manifest.format}, created ${manifest.created} by ${manifest.tool.name} ${manifest.tool.version}`)
    this.log(line('NAME', 'VERSION', 'SIZE', 'INTEGRITY'))
    for (const r of rows) this.log(line(r.name, r.version, formatBytes(r.size), `${r.integrity.slice(0, 24)}…`))
    this.log(`${manifest.packages.length} packages, ${rows.length} versions, ${formatBytes(rows.reduce((n, r) => n + r.size, 0))}`)
  }
}

import { BaseCommand } from '../../cli/base-command.js'
import type { PackageRule } from '../../core/config/index.js'

const COLUMNS = ['pattern', 'access', 'publish', 'unpublish', 'proxy'] as const

export default class AclList extends BaseCommand {
  static override summary = 'Show the package rules, in the order they are tried.'
  static override description = 'The first rule whose pattern matches a package name decides who may install, publish and unpublish it.'
  static override examples = ['<%= config.bin %> acl list', '<%= config.bin %> acl list --json']
  static override enableJsonFlag = true

  async run(): Promise<PackageRule[]> {
    const { flags } = await this.parse(AclList)
    const config = await this.loadConfig(flags.config, false)
    const rows = config.packages.map((rule) => COLUMNS.map((column) => (column === 'pattern' ? rule.pattern : rule[column].join(' ') || '-')))
    const widths = COLUMNS.map((column, i) => Math.max(column.length, ...rows.map((row) => row[i]!.length)))
    const line = (cells: readonly string[]) => cells.map((cell, i) => cell.padEnd(widths[i]!)).join('  ').trimEnd()
    this.log(line(COLUMNS.map((column) => column.toUpperCase())))
    for (const row of rows) this.log(line(row))
    if (rows.length === 0) this.log(`(no rules in ${config.file}: nobody may install or publish anything)`)
    return config.packages
  }
}

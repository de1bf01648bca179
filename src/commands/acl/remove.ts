import { Args } from '@oclif/core'
import { BaseCommand } from '../../cli/base-command.js'
import { configPath } from '../../core/config/index.js'
import { removeRuleFromFile } from '../../core/config/edit.js'

export default class AclRemove extends BaseCommand {
  static override summary = 'Remove the package rule for a pattern.'
  static override description = 'The names it matched fall to the next matching rule; with none, nobody may install or publish them.'
  static override examples = ["<%= config.bin %> acl remove 'secret-*'"]

  static override args = {
    pattern: Args.string({ required: true, description: 'The pattern exactly as `acl list` shows it.' }),
  }

  async run(): Promise<void> {
    const { args, flags } = await this.parse(AclRemove)
    const { file } = await removeRuleFromFile(configPath({ flag: flags.config, env: process.env }), args.pattern)
    this.log(`Removed the rule for '${args.pattern}' from ${file}.`)
  }
}

import { Args } from '@oclif/core'
import { BaseCommand } from '../../cli/base-command.js'
import { Tokens, Users } from '../../core/auth/index.js'
import { openStore } from '../../core/store/index.js'

export default class UserRemove extends BaseCommand {
  static override summary = 'Remove a user and revoke their tokens.'
  static override description = 'Takes effect at once, also in a running server: the next request with their password or a token of theirs gets 401.'

  static override examples = ['<%= config.bin %> user remove alice']

  static override args = { name: Args.string({ required: true, description: 'User name.' }) }

  async run(): Promise<void> {
    const { args, flags } = await this.parse(UserRemove)
    const config = await this.loadConfig(flags.config, false)
    const store = await openStore(config.storage)
    await Users.of(config, store).remove(args.name)
    await new Tokens(store.tokens).revokeAll(args.name)
    this.log(`removed user ${args.name} and revoked their tokens`)
  }
}

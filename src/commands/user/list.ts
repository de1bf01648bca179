import { BaseCommand } from '../../cli/base-command.js'
import { Tokens, Users } from '../../core/auth/index.js'
import { openStore } from '../../core/store/index.js'

export interface UserListEntry {
  name: string
  /** Login and API tokens the user holds. */
  tokens: number
}

export default class UserList extends BaseCommand {
  static override summary = 'List the users (of the htpasswd file, or of the store with auth.store).'
  static override enableJsonFlag = true

  static override examples = ['<%= config.bin %> user list', '<%= config.bin %> user list --json']

  async run(): Promise<UserListEntry[]> {
    const { flags } = await this.parse(UserList)
    const config = await this.loadConfig(flags.config, false)
    const store = await openStore(config.storage)
    const tokens = new Tokens(store.tokens)
    const users = Users.of(config, store)
    const entries = await Promise.all((await users.list()).map(async (name) => ({ name, tokens: (await tokens.list(name)).length })))
    if (entries.length === 0) this.log(`no users in ${users.where()}`)
    else {
      const width = Math.max(4, ...entries.map((e) => e.name.length))
      this.log(`${'NAME'.padEnd(width)}  TOKENS`)
      for (const entry of entries) this.log(`${entry.name.padEnd(width)}  ${entry.tokens}`)
    }
    return entries
  }
}

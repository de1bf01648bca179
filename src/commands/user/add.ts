import { Args } from '@oclif/core'
import { BaseCommand } from '../../cli/base-command.js'
import { passwordFlags } from '../../cli/flags.js'
import { readNewPassword } from '../../cli/prompt.js'
import { Users, assertUserName } from '../../core/auth/index.js'
import { SinopiaError } from '../../core/errors.js'
import { openStore } from '../../core/store/index.js'

export default class UserAdd extends BaseCommand {
  static override summary = 'Add a user (to the htpasswd file, or to the store with auth.store).'
  static override description = `Asks for the password twice, without echo, on a terminal; --password-stdin reads it from the \
first line of standard input instead. max_users does not apply here (it limits self-registration with npm adduser). \
A running server sees the new user at once.`

  static override examples = ['<%= config.bin %> user add alice', 'printf "%s\\n" "$PASSWORD" | <%= config.bin %> user add ci-bot --password-stdin']

  static override args = { name: Args.string({ required: true, description: 'User name: letters, digits, ".", "_" or "-".' }) }

  static override flags = passwordFlags

  async run(): Promise<void> {
    const { args, flags } = await this.parse(UserAdd)
    const config = await this.loadConfig(flags.config, false)
    const name = assertUserName(args.name)
    // The store is opened only when the users live there: an htpasswd user add leaves the storage untouched.
    // Not closed: close() waits on sessions that do not hold the process open, so the process could
    // end (status 0) inside it and lose an error; idle sessions let it exit anyway (allowExitOnIdle).
    const store = config.auth.store ? await openStore(config.storage) : null
    const users = Users.of(config, store)
    if (await users.exists(name)) {
      throw new SinopiaError('EUSEREXISTS', `user ${name} already exists`, { hint: `change the password with \`${this.config.bin} user passwd ${name}\`` })
    }
    await users.add(name, await readNewPassword({ fromStdin: flags['password-stdin'] }))
    this.log(`added user ${name} to ${users.where()}`)
  }
}

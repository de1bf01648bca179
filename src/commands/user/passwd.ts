import { Args } from '@oclif/core'
import { BaseCommand } from '../../cli/base-command.js'
import { passwordFlags } from '../../cli/flags.js'
import { readNewPassword } from '../../cli/prompt.js'
import { Users } from '../../core/auth/index.js'
import { SinopiaError } from '../../core/errors.js'
import { openStore } from '../../core/store/index.js'

export default class UserPasswd extends BaseCommand {
  static override summary = "Change a user's password."
  static override description = `Asks for the new password twice, without echo, on a terminal; --password-stdin reads it from \
the first line of standard input instead. Tokens the user already has stay valid (\`user remove\` revokes them).`

  static override examples = ['<%= config.bin %> user passwd alice', 'printf "%s\\n" "$PASSWORD" | <%= config.bin %> user passwd alice --password-stdin']

  static override args = { name: Args.string({ required: true, description: 'User name.' }) }

  static override flags = passwordFlags

  async run(): Promise<void> {
    const { args, flags } = await this.parse(UserPasswd)
    const config = await this.loadConfig(flags.config, false)
    // Not closed: close() waits on sessions that do not hold the process open, so the process could
    // end (status 0) inside it and lose an error; idle sessions let it exit anyway (allowExitOnIdle).
    const store = config.auth.store ? await openStore(config.storage) : null
    const users = Users.of(config, store)
    if (!(await users.exists(args.name))) {
      throw new SinopiaError('ENOUSER', `no user named ${args.name}`, { hint: `add it with \`${this.config.bin} user add ${args.name}\`` })
    }
    await users.setPassword(args.name, await readNewPassword({ fromStdin: flags['password-stdin'] }))
    this.log(`changed the password of ${args.name}`)
  }
}

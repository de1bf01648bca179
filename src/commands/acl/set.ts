import { Args, Flags } from '@oclif/core'
import { BaseCommand } from '../../cli/base-command.js'
import { configPath } from '../../core/config/index.js'
import { setRuleInFile, type RuleChange } from '../../core/config/edit.js'

const who = (summary: string) => Flags.string({ summary, helpValue: 'WHO', multiple: true })

export default class AclSet extends BaseCommand {
  static override summary = 'Create or change the package rule for a pattern.'
  static override description = `Who may install (access), publish and unpublish the packages whose names match PATTERN, \
and which uplinks they come from (proxy). WHO is $all, $anonymous, $authenticated or user names, separated by spaces. \
An existing rule keeps the keys not given; a new rule needs --access and --publish and goes before the first rule \
that would otherwise match its names (or before --before). Comments in the config file are kept; a running server \
applies the change within a few seconds.`

  static override examples = [
    "<%= config.bin %> acl set 'secret-*' --access '$authenticated' --publish '$authenticated'",
    "<%= config.bin %> acl set '@acme/*' --access '$all' --publish 'alice bob' --no-proxy",
    "<%= config.bin %> acl set 'left-pad' --proxy npmjs --before '**'",
  ]

  static override args = {
    pattern: Args.string({ required: true, description: "Package name glob, like 'secret-*', '@acme/*' or '**'." }),
  }

  static override flags = {
    access: who('Who may install.'),
    publish: who('Who may publish.'),
    unpublish: who('Who may unpublish (default: the same as publish).'),
    proxy: Flags.string({ summary: 'Uplink to fetch these packages from (repeat for a fallback order).', helpValue: 'UPLINK', multiple: true, exclusive: ['no-proxy'] }),
    'no-proxy': Flags.boolean({ summary: 'Never fetch these packages from an uplink (a full fork).', exclusive: ['proxy'] }),
    before: Flags.string({ summary: 'Place the rule just before the rule with this pattern.', helpValue: 'PATTERN' }),
  }

  async run(): Promise<void> {
    const { args, flags } = await this.parse(AclSet)
    const change: RuleChange = {}
    if (flags.access) change.access = flags.access
    if (flags.publish) change.publish = flags.publish
    if (flags.unpublish) change.unpublish = flags.unpublish
    if (flags.proxy) change.proxy = flags.proxy
    if (flags['no-proxy']) change.proxy = null
    const place = await setRuleInFile(configPath({ flag: flags.config, env: process.env }), args.pattern, change, flags.before)
    const where = place.next === null ? 'last' : `before '${place.next}'`
    this.log(`${place.created ? 'Added' : 'Updated'} the rule for '${args.pattern}' (${where}) in ${place.file}.`)
    if (place.shadowedBy !== null) {
      this.warn(`'${place.shadowedBy}' comes first and matches the names '${args.pattern}' is for, so this rule will likely never apply; move it with --before '${place.shadowedBy}'`)
    }
  }
}

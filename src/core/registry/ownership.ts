import { SinopiaError } from '../errors.js'
import type { PackageRule } from '../config/types.js'
import type { LocalDoc } from '../store/index.js'
import { printable } from './names.js'
import { allows } from './rules.js'

/** Who asks for a change, and the `packages` rule of the name (null: anonymous user). */
export interface Actor {
  user: { name: string; groups: string[] } | null
  rule: PackageRule
}

/** Whether `list` names the user by name or by one of their groups (not through `$all` and the like). */
function namesUser(list: string[], user: Actor['user']): boolean {
  return user !== null && list.some((entry) => entry === user.name || user.groups.includes(entry))
}

/**
 * Whether the rule lets `actor` change a package that maintainers own. `$authenticated` (and
 * `$all`) let anyone create a new name; a name published here belongs to its maintainers
 * (`npm owner add/rm`), and to the users the rule names one by one (`publish: alice ci-bot`).
 * Documents without maintainers (written before they were recorded) follow the rule alone. A
 * package published anonymously (a rule may allow that) has the maintainer `anonymous`.
 */
export function assertMayChange(name: string, actor: Actor, local: LocalDoc | null, action: 'publish' | 'unpublish'): void {
  const maintainers = local?.maintainers ?? []
  if (maintainers.length === 0) return
  const user = actor.user
  const self = user?.name ?? 'anonymous'
  if (maintainers.some((m) => m.name === self)) return
  if (namesUser(actor.rule[action], user)) return
  const who = user ? `user ${user.name}` : 'an anonymous user'
  throw new SinopiaError('EFORBIDDEN', `${who} is not a maintainer of ${printable(name)} and may not ${action} it`, {
    hint: `a maintainer can run: npm owner add ${user?.name ?? '<user>'} ${printable(name)}`,
  })
}

/**
 * Publishing a name the uplink serves (an override), or moving the `latest` tag of one,
 * changes what everybody installs under a public name: only users the rule's `override`
 * names may (nobody when it is not set).
 */
export function assertMayOverride(name: string, actor: Actor, what: string): void {
  if (allows(actor.rule.override ?? [], actor.user)) return
  throw new SinopiaError('EFORBIDDEN', `${printable(name)} comes from the uplink: ${what} needs the override right in its packages rule`, {
    hint: 'add `override: <users>` to the packages rule of this name, or publish under a name of your own (a scope)',
  })
}

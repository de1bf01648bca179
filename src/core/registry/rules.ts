import picomatch from 'picomatch'
import type { PackageRule } from '../config/types.js'

/** Who may do what with a package, from the first `packages` rule whose glob matches its name. */
export class PackageRules {
  private readonly compiled: Array<{ rule: PackageRule; test: (name: string) => boolean }>

  constructor(rules: PackageRule[]) {
    this.compiled = rules.map((rule) => ({ rule, test: picomatch(rule.pattern) }))
  }

  /** The rule for `name`; null when none matches (nobody may do anything with it). */
  match(name: string): PackageRule | null {
    return this.compiled.find((c) => c.test(name))?.rule ?? null
  }
}

/**
 * Whether `user` (null: anonymous) is named by a rule's list: `$all`, `$anonymous`,
 * `$authenticated` (also Verdaccio's `@all`, `@anonymous`, `@authenticated`), a user name
 * or one of the user's groups.
 */
export function allows(list: string[], user: { name: string; groups: string[] } | null): boolean {
  return list.some((entry) => {
    const who = entry.replace(/^@/, '$')
    if (who === '$all') return true
    if (who === '$anonymous') return user === null
    if (user === null) return false
    if (who === '$authenticated') return true
    return entry === user.name || user.groups.includes(entry)
  })
}

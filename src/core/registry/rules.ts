import picomatch from 'picomatch'
import type { PackageRule } from '../config/types.js'

/** Who may do what with a package, from the first `packages` rule whose glob matches its name. */
export class PackageRules {
  private compiled: Array<{ rule: PackageRule; test: (name: string) => boolean }>

  constructor(rules: PackageRule[]) {
    this.compiled = compile(rules)
  }

  /**
   * Swaps in a new rule list (config reload). Everyone holding this object (Registry, Packuments)
   * sees the change on their next `match`; compiled first, so a request never sees half a list.
   */
  replace(rules: PackageRule[]): void {
    this.compiled = compile(rules)
  }

  /** The rule for `name`; null when none matches (nobody may do anything with it). */
  match(name: string): PackageRule | null {
    return this.compiled.find((c) => c.test(name))?.rule ?? null
  }
}

function compile(rules: PackageRule[]): Array<{ rule: PackageRule; test: (name: string) => boolean }> {
  return rules.map((rule) => ({ rule, test: picomatch(rule.pattern) }))
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

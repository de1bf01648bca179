import type { Field, Source } from './source.js'
import type { PackageRule } from './types.js'

type RuleKey = 'access' | 'publish' | 'unpublish' | 'proxy'

/** Sinopia's names for the same keys, which Verdaccio still reads. */
const LEGACY: Record<RuleKey, string> = {
  access: 'allow_access',
  publish: 'allow_publish',
  unpublish: 'allow_unpublish',
  proxy: 'proxy_access',
}

const KEYS = [...(Object.keys(LEGACY) as RuleKey[]), ...Object.values(LEGACY), 'override']

const IGNORED: Record<string, string> = {
  storage: 'per-package storage folders are not supported; every package is kept under the top-level storage',
}

/**
 * When `packages` is missing: every package, scoped or not, readable by all, publishable by logged-in
 * users, and fetched from the uplinks in config order (the default file's single `npmjs` uplink).
 */
export function defaultPackageRules(uplinks: string[]): PackageRule[] {
  return ['@*/*', '**'].map((pattern) => ({
    pattern,
    access: ['$all'],
    publish: ['$authenticated'],
    unpublish: ['$authenticated'],
    proxy: [...uplinks],
  }))
}

/** Rules in file order, because the first pattern that matches a package name decides. */
export function parsePackages(src: Source, at: Field, uplinks: string[]): PackageRule[] {
  return src.entries(at).map(([pattern, field]) => {
    if (pattern.trim() === '') src.fail(field, 'empty package pattern', "write a glob like '@scope/*' or '**'")
    const f = src.fields(field, KEYS, IGNORED)
    const list = (key: RuleKey): string[] | undefined => {
      const modern = f[key]
      const legacy = f[LEGACY[key]]
      if (modern && legacy) {
        src.fail(legacy, `both ${key} and ${LEGACY[key]} are set`, `keep only ${key}; ${LEGACY[key]} is its old name`)
      }
      const chosen = modern ?? legacy
      return chosen ? src.words(chosen).map(({ word }) => word) : undefined
    }
    const publish = list('publish') ?? []
    const proxyField = f.proxy ?? f.proxy_access
    for (const { word, at: item } of proxyField ? src.words(proxyField) : []) {
      if (!uplinks.includes(word)) {
        const known = uplinks.length === 0 ? 'no uplinks are defined' : `the uplinks are: ${uplinks.join(', ')}`
        src.fail(item, `proxy names uplink "${word}", which does not exist`, `add it under uplinks, or fix the name (${known})`)
      }
    }
    return {
      pattern,
      access: list('access') ?? [],
      publish,
      unpublish: list('unpublish') ?? publish,
      proxy: list('proxy') ?? [],
      ...(f.override ? { override: src.words(f.override).map(({ word }) => word) } : {}),
    }
  })
}

/**
 * The `text` of a search, parsed the way npm's registry reads it: words, and qualifiers
 * `keywords:a,b,-c` (any of a and b, not c), `author:` and `maintainer:` (a user name),
 * `scope:` (with or without the @), `is:`/`not:` (deprecated, unstable, and here also
 * local and cached). Anything else with a colon is an ordinary word.
 *
 *   'http keywords:server,-legacy scope:acme' ->
 *   { terms: ['http'], keywords: { any: ['server'], none: ['legacy'] }, scopes: ['acme'], ... }
 */
export interface Query {
  /** Lowercased words; every one must match. */
  terms: string[]
  keywords: { any: string[]; none: string[] }
  authors: string[]
  maintainers: string[]
  scopes: string[]
  is: Flag[]
  not: Flag[]
}

export type Flag = 'deprecated' | 'unstable' | 'local' | 'cached'

const FLAGS = new Set<string>(['deprecated', 'unstable', 'local', 'cached'])
/** Longer texts are cut: nobody types more, and matching cost grows with the words. */
const MAX_TEXT = 256
const MAX_TERMS = 16

export function parseQuery(text: string): Query {
  const query: Query = { terms: [], keywords: { any: [], none: [] }, authors: [], maintainers: [], scopes: [], is: [], not: [] }
  for (const word of text.slice(0, MAX_TEXT).toLowerCase().split(/\s+/)) {
    if (!word) continue
    const colon = word.indexOf(':')
    const key = colon > 0 ? word.slice(0, colon) : ''
    const value = colon > 0 ? word.slice(colon + 1) : ''
    if (value && (key === 'keywords' || key === 'keyword')) {
      for (const k of value.split(',')) {
        if (k.startsWith('-') && k.length > 1) query.keywords.none.push(k.slice(1))
        else if (k) query.keywords.any.push(k.replace(/^\+/, ''))
      }
    } else if (value && key === 'author') query.authors.push(value)
    else if (value && key === 'maintainer') query.maintainers.push(value)
    else if (value && key === 'scope') query.scopes.push(value.replace(/^@/, '').replace(/\/$/, ''))
    else if ((key === 'is' || key === 'not') && FLAGS.has(value)) query[key].push(value as Flag)
    else if (query.terms.length < MAX_TERMS) query.terms.push(word)
  }
  return query
}

/** True when the query has no words: every package that passes the qualifiers matches, in list order. */
export function hasTerms(query: Query): boolean {
  return query.terms.length > 0
}

import type { SearchAnswer } from './search-index.js'
import type { PackageSummary, Person } from './summary.js'

/** npm's `size` default, and the most one page may hold (the public registry's limit too). */
export const DEFAULT_SIZE = 20
export const MAX_SIZE = 250

/** `size` and `from` from a query string: bad values fall back to the defaults, big ones are clamped. */
export function pageOf(size: unknown, from: unknown): { size: number; from: number } {
  const s = Number.parseInt(typeof size === 'string' ? size : '', 10)
  const f = Number.parseInt(typeof from === 'string' ? from : '', 10)
  return {
    size: Number.isFinite(s) && s > 0 ? Math.min(s, MAX_SIZE) : DEFAULT_SIZE,
    from: Number.isFinite(f) && f > 0 ? Math.min(f, 1_000_000) : 0,
  }
}

/**
 * The body of `GET /-/v1/search` as npm reads it:
 *
 *   {objects: [{package: {name, scope, version, description, keywords, date, links, author,
 *     publisher, maintainers}, flags, score: {final, detail}, searchScore, origin}], total, time}
 *
 * `origin` ('local' | 'cached') says whether the package was published here. This registry
 * keeps no quality, popularity or maintenance figures: the detail scores are all 1, and
 * `final` is the relevance relative to the best match of the query.
 */
export function searchResponse(answer: SearchAnswer, packagePage: (name: string) => string, now: Date = new Date()) {
  const best = answer.results.reduce((max, r) => Math.max(max, r.score), 0) || 1
  return {
    objects: answer.results.map(({ summary, score }) => ({
      package: packageOf(summary, packagePage(summary.name)),
      flags: flagsOf(summary),
      score: { final: round(score / best), detail: { quality: 1, popularity: 1, maintenance: 1 } },
      searchScore: score,
      origin: summary.origin,
    })),
    total: answer.total,
    time: now.toUTCString(),
  }
}

function packageOf(summary: PackageSummary, page: string) {
  const slash = summary.name.indexOf('/')
  return {
    name: summary.name,
    scope: summary.name.startsWith('@') && slash > 0 ? summary.name.slice(1, slash) : 'unscoped',
    version: summary.version,
    description: summary.description,
    keywords: summary.keywords,
    ...(summary.date ? { date: summary.date } : {}),
    links: { npm: page, ...summary.links },
    ...(summary.author ? { author: summary.author } : {}),
    ...(summary.publisher ? { publisher: user(summary.publisher) } : {}),
    maintainers: summary.maintainers.map(user),
  }
}

function user(person: Person) {
  return person.email ? { username: person.name, email: person.email } : { username: person.name }
}

function flagsOf(summary: PackageSummary) {
  return summary.deprecated ? { deprecated: true } : {}
}

function round(value: number): number {
  return Math.round(value * 1e4) / 1e4
}

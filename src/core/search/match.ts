import semver from 'semver'
import type { Flag, Query } from './query.js'
import type { PackageSummary } from './summary.js'

/** Whether the query has any qualifier at all (most have none: the check is skipped). */
export function hasQualifiers(query: Query): boolean {
  const { keywords, authors, maintainers, scopes, is, not } = query
  return keywords.any.length + keywords.none.length + authors.length + maintainers.length + scopes.length + is.length + not.length > 0
}

/** Whether a summary passes the query's qualifiers (everything but the words). */
export function passesQualifiers(summary: PackageSummary, query: Query): boolean {
  const { text } = summary
  if (query.keywords.any.length > 0 && !query.keywords.any.some((k) => text.keywords.includes(k))) return false
  if (query.keywords.none.some((k) => text.keywords.includes(k))) return false
  if (query.scopes.length > 0 && !query.scopes.some((s) => text.name.startsWith(`@${s}/`))) return false
  if (query.authors.length > 0) {
    const names = [summary.author?.name, summary.publisher?.name].filter((n): n is string => n !== undefined).map((n) => n.toLowerCase())
    if (!query.authors.some((a) => names.includes(a))) return false
  }
  if (query.maintainers.length > 0) {
    const names = summary.maintainers.map((m) => m.name.toLowerCase())
    if (!query.maintainers.some((m) => names.includes(m))) return false
  }
  if (!query.is.every((flag) => hasFlag(summary, flag))) return false
  if (query.not.some((flag) => hasFlag(summary, flag))) return false
  return true
}

function hasFlag(summary: PackageSummary, flag: Flag): boolean {
  switch (flag) {
    case 'deprecated':
      return summary.deprecated
    case 'unstable':
      return semver.valid(summary.version) !== null && (semver.major(summary.version) === 0 || semver.prerelease(summary.version) !== null)
    case 'local':
      return summary.origin === 'local'
    case 'cached':
      return summary.origin === 'cached'
  }
}

/**
 * Relevance of a summary to the query's words: the sum over words of the best place each
 * word matches, 0 when some word matches nowhere (every word must match). A word of one
 * letter (the first keystroke of a live search) counts only where it starts the name or a
 * part of it: everywhere else it would match nearly every package.
 *
 *   name equals the word      1000    name starts with it       300 (+ up to 100 the closer the lengths)
 *   a name part starts with   150     name contains it          80
 *   a keyword equals it       60      a keyword starts with it  30
 *   a description word starts 20      description contains it   10
 *   a person's name equals    15
 *
 * It reads only `text.all` and its offsets (see summary.ts); words hold no whitespace, so an
 * occurrence never spans two parts.
 */
export function relevance(summary: PackageSummary, query: Query): number {
  const { all, nameEnd, descStart, descEnd } = summary.text
  let total = 0
  for (const term of query.terms) {
    const length = term.length
    let at = all.indexOf(term)
    if (at < 0) return 0
    let best = 0
    if (at === 0) best = length === nameEnd ? 1000 : 300 + Math.round((100 * length) / nameEnd)
    // Occurrences come in order: name, keywords, description, people.
    for (; at >= 0 && at < nameEnd && best < 150; at = all.indexOf(term, at + 1)) {
      if (at + length > nameEnd) continue
      best = Math.max(best, isNameSeparator(all.charCodeAt(at - 1)) ? 150 : length > 1 ? 80 : 0)
    }
    if (best === 0 && length === 1) return 0
    for (; at >= 0 && at < descStart && best < 60; at = all.indexOf(term, at + 1)) {
      if (at <= nameEnd || all.charCodeAt(at - 1) !== NEWLINE) continue
      const end = at + length
      best = Math.max(best, end === descStart - 1 || all.charCodeAt(end) === NEWLINE ? 60 : 30)
    }
    if (at >= 0 && at < descStart) at = all.indexOf(term, descStart)
    for (; at >= 0 && at < descEnd && best < 20; at = all.indexOf(term, at + 1)) {
      if (at + length > descEnd) break
      best = Math.max(best, at === descStart || !isWordChar(all.charCodeAt(at - 1)) ? 20 : 10)
    }
    if (best < 15) {
      if (at >= 0 && at <= descEnd) at = all.indexOf(term, descEnd + 1)
      for (; at >= 0; at = all.indexOf(term, at + 1)) {
        const end = at + length
        if (all.charCodeAt(at - 1) === NEWLINE && (end === all.length || all.charCodeAt(end) === NEWLINE)) {
          best = 15
          break
        }
      }
    }
    if (best === 0) return 0
    total += best
  }
  return total
}

const NEWLINE = 10

/** `@ / . _ -`: a name part starts after one of them. */
function isNameSeparator(code: number): boolean {
  return code === 64 || code === 47 || code === 46 || code === 95 || code === 45
}

/** [0-9a-z]: a description word starts after anything else. */
function isWordChar(code: number): boolean {
  return (code >= 48 && code <= 57) || (code >= 97 && code <= 122)
}

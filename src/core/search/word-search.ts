import { hasQualifiers, passesQualifiers } from './match.js'
import type { Query } from './query.js'
import type { SearchAnswer, Scored } from './search-index.js'
import type { PackageSummary } from './summary.js'
import { TopK } from './top-k.js'
import { byListOrder, type WordIndex } from './word-index.js'

/**
 * Matches, most relevant first (then local before cached, then by name), and the one page
 * asked for: the same answer as scoring every summary with match.ts `relevance` and
 * `passesQualifiers`, read from the index's posting lists. A match's score is integer sums
 * over posting lists; names are compared only among the matches that tie at the page's
 * lowest score.
 */
export function searchWords(index: WordIndex, query: Query, page: { from: number; size: number }, visible: (id: number) => boolean): SearchAnswer {
  const qualified = hasQualifiers(query)
  if (query.terms.length === 0) return qualified ? qualifiersOnly(index, query, page, visible) : everything(index, page, visible)
  const { ids, count, scores } = termMatches(index, query.terms)
  const kept: number[] = []
  const keptScores: number[] = []
  for (let i = 0; i < count; i++) {
    const id = ids[i] as number
    if (qualified && !passesQualifiers(index.at(id) as PackageSummary, query)) continue
    if (!visible(id)) continue
    kept.push(id)
    keptScores.push(scores[id] as number)
  }
  return { total: kept.length, results: best(index, kept, keptScores, page.from + page.size).slice(page.from) }
}

/** The ids matching every word (the first `count` of `ids`), with the sum of each word's best score (indexed by id). */
function termMatches(index: WordIndex, terms: string[]): { ids: Int32Array; count: number; scores: Uint32Array } {
  const scores = new Uint32Array(index.capacity)
  /** How many words each id matched so far: a word counts only for ids that matched all before it. */
  const matched = new Uint8Array(index.capacity)
  const wordBest = new Uint16Array(index.capacity)
  const hits = new Int32Array(index.capacity)
  let count = 0
  for (let word = 0; word < terms.length; word++) {
    count = 0
    index.match(terms[word] as string, (id, score) => {
      if (matched[id] !== word) return
      const before = wordBest[id] as number
      if (before === 0) hits[count++] = id
      if (score > before) wordBest[id] = score
    })
    for (let i = 0; i < count; i++) {
      const id = hits[i] as number
      scores[id] = (scores[id] as number) + (wordBest[id] as number)
      matched[id] = word + 1
      wordBest[id] = 0
    }
    if (count === 0) break
  }
  return { ids: hits, count, scores }
}

/**
 * The best `k` of `ids` by score, then list order: the scores above the k-th best's are taken
 * whole, and only those tying with it are compared by name.
 */
function best(index: WordIndex, ids: number[], scores: number[], k: number): Scored[] {
  const scored = (i: number): Scored => ({ summary: index.at(ids[i] as number) as PackageSummary, score: scores[i] as number })
  if (ids.length <= k) return ids.map((_, i) => scored(i)).sort(byRank)
  const counts = new Map<number, number>()
  for (const score of scores) counts.set(score, (counts.get(score) ?? 0) + 1)
  let cutoff = 0
  let above = 0
  for (const score of [...counts.keys()].sort((a, b) => b - a)) {
    cutoff = score
    if (above + (counts.get(score) as number) >= k) break
    above += counts.get(score) as number
  }
  const out: Scored[] = []
  const tied = new TopK<Scored>(k - above, byRank)
  for (let i = 0; i < ids.length; i++) {
    const score = scores[i] as number
    if (score > cutoff) out.push(scored(i))
    else if (score === cutoff) tied.offer(scored(i))
  }
  return out.sort(byRank).concat(tied.sorted())
}

/** No words, no qualifiers: everything the caller may see, in list order. */
function everything(index: WordIndex, { from, size }: { from: number; size: number }, visible: (id: number) => boolean): SearchAnswer {
  let total = 0
  const results: Scored[] = []
  for (const id of index.listOrder()) {
    if (!visible(id)) continue
    if (total >= from && results.length < size) results.push({ summary: index.at(id) as PackageSummary, score: 1 })
    total++
  }
  return { total, results }
}

/**
 * Qualifiers only: in list order, each match scoring 1. A keyword, person or scope qualifier
 * narrows the summaries checked to those holding it; others check every summary.
 */
function qualifiersOnly(index: WordIndex, query: Query, page: { from: number; size: number }, visible: (id: number) => boolean): SearchAnswer {
  const narrowed = narrow(index, query)
  if (!narrowed) {
    let total = 0
    const results: Scored[] = []
    for (const id of index.listOrder()) {
      const summary = index.at(id) as PackageSummary
      if (!passesQualifiers(summary, query) || !visible(id)) continue
      if (total >= page.from && results.length < page.size) results.push({ summary, score: 1 })
      total++
    }
    return { total, results }
  }
  let total = 0
  const top = new TopK<Scored>(page.from + page.size, byRank)
  for (const id of narrowed) {
    const summary = index.at(id) as PackageSummary
    if (!passesQualifiers(summary, query) || !visible(id)) continue
    total++
    top.offer({ summary, score: 1 })
  }
  return { total, results: top.sorted().slice(page.from) }
}

/** Ids that may pass the qualifiers (a superset), each once; null when no qualifier narrows. */
function narrow(index: WordIndex, query: Query): Set<number> | null {
  const out = new Set<number>()
  const add = (id: number) => void out.add(id)
  if (query.keywords.any.length > 0) for (const keyword of query.keywords.any) index.withKeyword(keyword, add)
  else if (query.authors.length > 0) for (const author of query.authors) index.withPerson(author, add)
  else if (query.maintainers.length > 0) for (const maintainer of query.maintainers) index.withPerson(maintainer, add)
  else if (query.scopes.length > 0) for (const scope of query.scopes) index.withNamePrefix(`@${scope}/`, add)
  else return null
  return out
}

/** Most relevant first; equal scores in list order. */
export function byRank(a: Scored, b: Scored): number {
  return b.score - a.score || byListOrder(a.summary, b.summary)
}

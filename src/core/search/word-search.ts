import { hasQualifiers, passesQualifiers } from './match.js'
import type { Query } from './query.js'
import { Ranked } from './ranked.js'
import { KEPT, type MatchScratch } from './scratch.js'
import type { PackageSummary } from './summary.js'
import type { WordIndex } from './word-index.js'

/** Past this share of the index (1 / SORT_BELOW), walking the list order once beats sorting the matches. */
const SORT_BELOW = 16
/** Scores fit below this (16 words of at most 1000 each): a sort key is (SCORE_SPAN - score) * 2^32 + rank. */
const SCORE_SPAN = 1 << 20
const RANK_SPAN = 2 ** 32

/**
 * Every match of `query` that `visible` lets through, most relevant first (then local before
 * cached, then by name): the same answer as scoring every summary with match.ts `relevance`
 * and `passesQualifiers`, read from the index's posting lists into `scratch`. A match's score
 * is integer sums over posting lists; no two names are ever compared: the matches are put in
 * order by a counting sort over the index's list order (many matches) or by sorting numeric
 * keys of score and list position (few).
 */
export function rankWords(index: WordIndex, query: Query, visible: (id: number) => boolean, scratch: MatchScratch): Ranked {
  scratch.fit(index.capacity)
  try {
    if (query.terms.length === 0 && !hasQualifiers(query)) return everything(index, visible)
    const kept = query.terms.length > 0 ? scoreTerms(index, query, visible, scratch) : scoreQualifiers(index, query, visible, scratch)
    return kept === 0 ? new Ranked(new Int32Array(0), [], []) : rank(index, scratch, kept)
  } finally {
    scratch.clear()
  }
}

/**
 * Scores the ids matching every word (the sum of each word's best score), marks KEPT those
 * passing the qualifiers and `visible`, lists them in `scratch.kept`; returns how many.
 */
function scoreTerms(index: WordIndex, query: Query, visible: (id: number) => boolean, scratch: MatchScratch): number {
  const { scores, matched, wordBest, touched, hits, kept } = scratch
  const { terms } = query
  let list = touched
  let count = 0
  // A word counts only for ids that matched all before it (matched[id] === word).
  let word = 0
  const visit = (id: number, score: number) => {
    if (matched[id] !== word || score === 0) return
    const before = wordBest[id] as number
    if (before === 0) list[count++] = id
    if (score > before) wordBest[id] = score
  }
  for (; word < terms.length; word++) {
    list = word === 0 ? touched : hits
    count = 0
    index.match(terms[word] as string, visit)
    if (word === 0) scratch.touchedCount = count
    for (let i = 0; i < count; i++) {
      const id = list[i] as number
      scores[id] = (scores[id] as number) + (wordBest[id] as number)
      matched[id] = word + 1
      wordBest[id] = 0
    }
    if (count === 0) return 0
  }
  const qualified = hasQualifiers(query)
  let out = 0
  for (let i = 0; i < count; i++) {
    const id = list[i] as number
    if (qualified && !passesQualifiers(index.at(id) as PackageSummary, query)) continue
    if (!visible(id)) continue
    matched[id] = KEPT
    kept[out++] = id
  }
  return out
}

/**
 * Qualifiers only: each match scores 1. A keyword or scope qualifier narrows the summaries
 * checked to exactly those passing it (the index holds single-word keywords and whole names
 * as tokens), so only the other qualifiers are checked; an author or maintainer one narrows
 * to a superset (any person of that name); others check every summary.
 */
function scoreQualifiers(index: WordIndex, query: Query, visible: (id: number) => boolean, scratch: MatchScratch): number {
  const { scores, matched, touched, kept } = scratch
  let out = 0
  let rest = query
  if (query.keywords.any.length > 0) rest = { ...query, keywords: { any: [], none: query.keywords.none } }
  else if (query.authors.length === 0 && query.maintainers.length === 0 && query.scopes.length > 0) rest = { ...query, scopes: [] }
  const qualified = hasQualifiers(rest)
  const check = (id: number) => {
    // Narrowing may name an id twice (two keywords of one package).
    if (matched[id] === KEPT) return
    if ((qualified && !passesQualifiers(index.at(id) as PackageSummary, rest)) || !visible(id)) return
    matched[id] = KEPT
    scores[id] = 1
    touched[scratch.touchedCount++] = id
    kept[out++] = id
  }
  if (query.keywords.any.length > 0) for (const keyword of query.keywords.any) index.withKeyword(keyword, check)
  else if (query.authors.length > 0) for (const author of query.authors) index.withPerson(author, check)
  else if (query.maintainers.length > 0) for (const maintainer of query.maintainers) index.withPerson(maintainer, check)
  else if (query.scopes.length > 0) for (const scope of query.scopes) index.withNamePrefix(`@${scope}/`, check)
  else for (const id of index.listOrder()) check(id)
  return out
}

/** No words, no qualifiers: everything the caller may see, in list order. */
function everything(index: WordIndex, visible: (id: number) => boolean): Ranked {
  const order = index.listOrder()
  const ids = new Int32Array(order.length)
  let count = 0
  for (const id of order) if (visible(id)) ids[count++] = id
  return new Ranked(ids.slice(0, count), [count], [1])
}

/** The `count` KEPT ids of `scratch.kept` in answer order: score down, then list order. */
function rank(index: WordIndex, scratch: MatchScratch, count: number): Ranked {
  const { scores, matched, kept } = scratch
  // The distinct scores, best first, and how many ids have each.
  let offsets = scratch.offsets
  const distinct: number[] = []
  for (let i = 0; i < count; i++) {
    const score = scores[kept[i] as number] as number
    if (score >= offsets.length) offsets = scratch.fitScore(score)
    if (offsets[score] === 0) distinct.push(score)
    offsets[score] = (offsets[score] as number) + 1
  }
  distinct.sort((a, b) => b - a)
  const runEnds: number[] = []
  let end = 0
  for (const score of distinct) {
    const n = offsets[score] as number
    offsets[score] = end
    end += n
    runEnds.push(end)
  }
  const ids = new Int32Array(count)
  if (count * SORT_BELOW < index.size) {
    const ranks = index.ranks()
    const keys = new Float64Array(count)
    for (let i = 0; i < count; i++) {
      const id = kept[i] as number
      keys[i] = (SCORE_SPAN - (scores[id] as number)) * RANK_SPAN + (ranks[id] as number)
    }
    keys.sort()
    const order = index.listOrder()
    for (let i = 0; i < count; i++) ids[i] = order[(keys[i] as number) % RANK_SPAN] as number
  } else {
    // Counting sort: walking the list order puts each score's ids in list order.
    let placed = 0
    for (const id of index.listOrder()) {
      if (matched[id] !== KEPT) continue
      const score = scores[id] as number
      ids[offsets[score] as number] = id
      offsets[score] = (offsets[score] as number) + 1
      if (++placed === count) break
    }
  }
  for (const score of distinct) offsets[score] = 0
  return new Ranked(ids, runEnds, distinct)
}

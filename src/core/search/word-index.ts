import { IdList, ScoredIdList } from './id-list.js'
import type { PackageSummary } from './summary.js'
import { descriptionScore, isNameSeparator, keywordScore, nameScore, personScore } from './token-scores.js'
import { Vocabulary } from './vocabulary.js'

/** Where a token sits in a package's text (see token-scores.ts); one posting list per place. */
interface Places {
  name?: IdList
  /** First token of a keyword that is this token alone. */
  keyword?: IdList
  /** First token of a keyword with more after it. */
  keywordStart?: IdList
  description?: IdList
  person?: IdList
}

/** Ids one word matches in, with its score in each (a package may appear more than once: take the best). */
export type Visit = (id: number, score: number) => void

/** Past this many replaced or removed ids (and more of them than live ones) the lists are rebuilt without them. */
const COMPACT_AFTER = 4096

/**
 * The summaries with an inverted index of their tokens, kept on every put and remove:
 *
 *   summaries[id] -> PackageSummary (undefined once replaced or removed)
 *   vocabulary: token -> tid;  places[tid] -> {name, keyword, keywordStart, description, person}: IdList
 *   initials:   a letter -> ids of names with a part starting with it, and its score there (one-letter words)
 *
 * A put gives the package a new id and leaves the old one dead in the lists (skipped when
 * read), so no list is ever searched for a removal; once dead ids outnumber live ones the
 * lists are built again from the live summaries, a cost spread over as many changes.
 */
export class WordIndex {
  private summaries: Array<PackageSummary | undefined> = []
  private readonly ids = new Map<string, number>()
  private vocabulary = new Vocabulary()
  private places: Array<Places | undefined> = []
  private initials = new Map<string, ScoredIdList>()
  private dead = 0
  /** Live ids, local packages first, then by name; built on first use, then kept in place. */
  private ordered: number[] | null = null
  /** Bumped when ids are renumbered: answers remembered per id are void. */
  generation = 0
  /** Bumped by every put and remove: answers remembered per query are void. */
  revision = 0
  /** Each live id's position in the list order (see ranks), and whether a change made it stale. */
  private rankOf = new Int32Array(0)
  private ranksStale = true

  get size(): number {
    return this.ids.size
  }

  /** One past the largest id: the length of per-id arrays. */
  get capacity(): number {
    return this.summaries.length
  }

  get(name: string): PackageSummary | undefined {
    const id = this.ids.get(name)
    return id === undefined ? undefined : this.summaries[id]
  }

  has(name: string): boolean {
    return this.ids.has(name)
  }

  keys(): IterableIterator<string> {
    return this.ids.keys()
  }

  *values(): IterableIterator<PackageSummary> {
    for (const id of this.ids.values()) yield this.summaries[id] as PackageSummary
  }

  /** The live summary of `id`, else undefined. */
  at(id: number): PackageSummary | undefined {
    return this.summaries[id]
  }

  put(summary: PackageSummary): void {
    this.revision++
    this.ranksStale = true
    this.retire(summary.name)
    const id = this.add(summary)
    this.ordered?.splice(this.position(summary), 0, id)
    this.compactIfWasteful()
  }

  remove(name: string): boolean {
    if (!this.retire(name)) return false
    this.revision++
    this.ranksStale = true
    this.compactIfWasteful()
    return true
  }

  /** Every live id, local packages first, each group by name. */
  listOrder(): readonly number[] {
    this.ordered ??= [...this.ids.values()].sort((a, b) => byListOrder(this.summaries[a] as PackageSummary, this.summaries[b] as PackageSummary))
    return this.ordered
  }

  /**
   * Each live id's position in the list order, indexed by id (other entries are stale): ranking
   * a few matches compares two numbers instead of two names. Rebuilt on first use after a change.
   */
  ranks(): Int32Array {
    if (this.ranksStale) {
      const order = this.listOrder()
      if (this.rankOf.length < this.capacity) this.rankOf = new Int32Array(this.capacity + (this.capacity >>> 2) + 1024)
      const ranks = this.rankOf
      for (let i = 0; i < order.length; i++) ranks[order[i] as number] = i
      this.ranksStale = false
    }
    return this.rankOf
  }

  /** Where `summary` sits (or would) in the list order. */
  private position(summary: PackageSummary): number {
    const list = this.ordered as number[]
    let lo = 0
    let hi = list.length
    while (lo < hi) {
      const mid = (lo + hi) >>> 1
      if (byListOrder(this.summaries[list[mid] as number] as PackageSummary, summary) < 0) lo = mid + 1
      else hi = mid
    }
    return lo
  }

  /** Every live id whose text matches `word` (lowercased, no whitespace), with the word's score there. */
  match(word: string, visit: Visit): void {
    const { summaries } = this
    const each = (list: IdList | undefined, score: number) => {
      if (!list || score === 0) return
      const { ids, length } = list
      for (let i = 0; i < length; i++) {
        const id = ids[i] as number
        // `!== undefined`, not truthiness: that compares the slot, without reading the summary (a cache miss per posting).
        if (summaries[id] !== undefined) visit(id, score)
      }
    }
    if (word.length === 1) {
      // One letter counts only where it starts the name or a part of it.
      const list = this.initials.get(word)
      if (!list) return
      const { ids, scores, length } = list
      for (let i = 0; i < length; i++) if (summaries[ids[i] as number] !== undefined) visit(ids[i] as number, scores[i] as number)
      return
    }
    this.vocabulary.containing(word, (tid) => {
      const at = this.places[tid]
      if (!at) return
      const token = this.vocabulary.token(tid)
      if (at.name) each(at.name, nameScore(token, word))
      each(at.keyword, keywordScore(token, word, true))
      each(at.keywordStart, keywordScore(token, word, false))
      if (at.description) each(at.description, descriptionScore(token, word))
      each(at.person, personScore(token, word))
    })
  }

  /** Live ids with a keyword exactly `keyword` (one without whitespace: a qualifier's). */
  withKeyword(keyword: string, visit: (id: number) => void): void {
    this.exact(keyword, 'keyword', visit)
  }

  /** Live ids with an author, publisher or maintainer named exactly `name`, and possibly others (the caller checks which). */
  withPerson(name: string, visit: (id: number) => void): void {
    this.exact(name, 'person', visit)
  }

  /** Live ids whose name starts with `prefix`. */
  withNamePrefix(prefix: string, visit: (id: number) => void): void {
    this.vocabulary.containing(prefix, (tid) => {
      const list = this.places[tid]?.name
      if (!list || !this.vocabulary.token(tid).startsWith(prefix)) return
      for (let i = 0; i < list.length; i++) if (this.summaries[list.ids[i] as number] !== undefined) visit(list.ids[i] as number)
    })
  }

  private exact(token: string, place: 'keyword' | 'person', visit: (id: number) => void): void {
    const tid = this.vocabulary.find(token)
    const list = tid === undefined ? undefined : this.places[tid]?.[place]
    if (!list) return
    for (let i = 0; i < list.length; i++) if (this.summaries[list.ids[i] as number] !== undefined) visit(list.ids[i] as number)
  }

  /** Marks the live summary of `name` dead (out of the list order too); returns it. */
  private retire(name: string): PackageSummary | undefined {
    const id = this.ids.get(name)
    if (id === undefined) return undefined
    const old = this.summaries[id] as PackageSummary
    this.ordered?.splice(this.position(old), 1)
    this.summaries[id] = undefined
    this.ids.delete(name)
    this.dead++
    return old
  }

  private add(summary: PackageSummary): number {
    const id = this.summaries.length
    this.summaries.push(summary)
    this.ids.set(summary.name, id)
    const { name, keywords, description, people } = summary.text
    this.post(name, 'name', id)
    for (const initial of initialsOf(name)) {
      let list = this.initials.get(initial)
      if (!list) this.initials.set(initial, (list = new ScoredIdList()))
      list.pushScored(id, nameScore(name, initial))
    }
    const seen = new Set<string>()
    const once = (token: string, place: keyof Places) => {
      const key = `${place}\n${token}`
      if (!seen.has(key)) {
        seen.add(key)
        this.post(token, place, id)
      }
    }
    for (const keyword of keywords) {
      const tokens = tokensOf(keyword)
      if (tokens[0]) once(tokens[0], tokens.length === 1 ? 'keyword' : 'keywordStart')
    }
    for (const token of tokensOf(description)) once(token, 'description')
    for (const person of people) if (!/\s/.test(person) && person) once(person, 'person')
    return id
  }

  private post(token: string, place: keyof Places, id: number): void {
    const tid = this.vocabulary.add(token)
    let at = this.places[tid]
    if (!at) this.places[tid] = at = {}
    ;(at[place] ??= new IdList(1)).push(id)
  }

  private compactIfWasteful(): void {
    if (this.dead < COMPACT_AFTER || this.dead < this.ids.size) return
    const live = [...this.values()]
    const order = this.ordered?.map((id) => (this.summaries[id] as PackageSummary).name)
    this.summaries = []
    this.ids.clear()
    this.vocabulary = new Vocabulary()
    this.places = []
    this.initials = new Map()
    this.dead = 0
    this.generation++
    for (const summary of live) this.add(summary)
    this.ordered = order ? order.map((name) => this.ids.get(name) as number) : null
  }
}

/** Whitespace-free runs of a lowercased text, as a query's words are split. */
function tokensOf(text: string): string[] {
  return text.split(/\s+/).filter((token) => token !== '')
}

/** The letters that start the name or one of its parts (`@acme/left-pad`: @, a, l, p). */
function initialsOf(name: string): Set<string> {
  const out = new Set<string>()
  if (name) out.add(name[0] as string)
  for (let i = 1; i < name.length; i++) if (isNameSeparator(name.charCodeAt(i - 1))) out.add(name[i] as string)
  return out
}

/** Local first, then by name. */
export function byListOrder(a: PackageSummary, b: PackageSummary): number {
  if (a.origin !== b.origin) return a.origin === 'local' ? -1 : 1
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0
}

import { LRUCache } from 'lru-cache'
import type { Query } from './query.js'
import type { Ranked } from './ranked.js'

type Visible = (name: string) => boolean

/**
 * The ranked matches of recent queries, per query and reader, so the same search again (the
 * next page, or another user's identical one) costs a slice instead of a pass over the posting
 * lists. Valid for one revision of the index: the first lookup after any put or remove drops
 * them all, so a publish, an unpublish or a new version is in the very next answer.
 *
 * Readers are told apart by their `visible` function: the route hands every reader with the
 * same access under the same rules the same function (anonymous readers share one), and a new
 * rule list brings new functions, so a reader never sees an answer made for other rights.
 * Bounded in bytes (4 per match): the least recently used answers go first.
 */
export class RankedCache {
  private readonly readers = new WeakMap<Visible, number>()
  private nextReader = 0
  private revision = -1
  private readonly answers: LRUCache<string, Ranked>

  constructor(maxBytes: number) {
    this.answers = new LRUCache<string, Ranked>({ maxSize: Math.max(1, maxBytes), sizeCalculation: (ranked) => ranked.bytes })
  }

  get(revision: number, visible: Visible, query: Query): Ranked | undefined {
    if (revision !== this.revision) {
      this.answers.clear()
      this.revision = revision
      return undefined
    }
    return this.answers.get(this.key(visible, query))
  }

  set(revision: number, visible: Visible, query: Query, ranked: Ranked): void {
    if (revision === this.revision) this.answers.set(this.key(visible, query), ranked)
  }

  /** Drops every answer (benchmarks time the work they save). */
  clear(): void {
    this.answers.clear()
  }

  private key(visible: Visible, query: Query): string {
    let reader = this.readers.get(visible)
    if (reader === undefined) {
      reader = this.nextReader++
      this.readers.set(visible, reader)
    }
    return `${reader}\n${queryKey(query)}`
  }
}

/**
 * The query as a key: words in any order match and score the same (every word must match,
 * scores add up), so they are sorted; repeated words are kept (each one adds its score).
 */
export function queryKey(query: Query): string {
  return JSON.stringify([[...query.terms].sort(), query.keywords.any, query.keywords.none, query.authors, query.maintainers, query.scopes, query.is, query.not])
}

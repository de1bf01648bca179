import type { Scored } from './search-index.js'
import type { PackageSummary } from './summary.js'
import type { WordIndex } from './word-index.js'

/**
 * Every match of one query for one reader, in answer order, as ids: any page of it is a slice,
 * and `total` is its length. Scores only fall along the list, so they are kept as runs (the
 * last position + 1 of each score, and that score): 4 bytes a match in all.
 *
 *   ids       [7, 3, 9, 4, 1]
 *   runEnds   [2, 5]     runScores [60, 20]   -> 7 and 3 score 60, the others 20
 */
export class Ranked {
  constructor(
    readonly ids: Int32Array,
    private readonly runEnds: number[],
    private readonly runScores: number[],
  ) {}

  get total(): number {
    return this.ids.length
  }

  /** What remembering it costs, roughly (the cache's budget is in these). */
  get bytes(): number {
    return this.ids.byteLength + 16 * this.runEnds.length + 64
  }

  /** `size` matches from position `from`, read from `index` (the one these ids were ranked in, unchanged since). */
  page(index: WordIndex, from: number, size: number): Scored[] {
    const out: Scored[] = []
    const end = Math.min(this.ids.length, from + size)
    let run = 0
    for (let at = from; at < end; at++) {
      while ((this.runEnds[run] as number) <= at) run++
      out.push({ summary: index.at(this.ids[at] as number) as PackageSummary, score: this.runScores[run] as number })
    }
    return out
  }
}

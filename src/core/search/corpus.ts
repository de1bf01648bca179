import type { PackageSummary } from './summary.js'

/** Separators of name parts (`@acme/left-pad` has the parts acme, left, pad). */
const NAME_SEPARATORS = /[@/._-]/g
const MARK = '\u0001'

/**
 * The searchable text of every summary in one string, so finding the packages that contain
 * a word is a run of `indexOf` over a few MB (fast native string search) instead of one
 * `includes` per package; and the names alone, each part after a mark, for words that must
 * start a name part:
 *
 *   text:   "left-pad\npad\n...\u0001express\nweb\n...\u0001..."    starts: [0, 41, ...]
 *   names:  "\u0001left\u0001pad\u0001express..."                      nameStarts: [0, 9, ...]
 *
 * It gives candidates only (a hit may straddle two packages): callers check each one.
 */
export class Corpus {
  private readonly text: string
  private readonly starts: number[] = []
  private readonly names: string
  private readonly nameStarts: number[] = []

  constructor(private readonly summaries: readonly PackageSummary[]) {
    const parts: string[] = []
    const names: string[] = []
    let offset = 0
    let nameOffset = 0
    for (const summary of summaries) {
      this.starts.push(offset)
      parts.push(summary.text.all)
      offset += summary.text.all.length + 1
      const name = MARK + summary.text.name.replace(NAME_SEPARATORS, MARK)
      this.nameStarts.push(nameOffset)
      names.push(name)
      nameOffset += name.length
    }
    this.text = parts.join(MARK)
    this.names = names.join('')
  }

  /** Every summary whose text contains `word`, each once, in corpus order (and some that do not). */
  candidates(word: string): readonly PackageSummary[] {
    if (!word) return this.summaries
    return this.scan(this.text, this.starts, word)
  }

  /** Every summary with a name part that starts with `word` (and some without). */
  nameStartCandidates(word: string): readonly PackageSummary[] {
    return this.scan(this.names, this.nameStarts, MARK + word)
  }

  private scan(text: string, starts: number[], word: string): PackageSummary[] {
    const out: PackageSummary[] = []
    let at = text.indexOf(word)
    while (at >= 0) {
      const index = owner(starts, at)
      out.push(this.summaries[index] as PackageSummary)
      const next = starts[index + 1]
      if (next === undefined) break
      at = text.indexOf(word, next)
    }
    return out
  }
}

/** The entry whose text holds position `at`: the last start at or before it. */
function owner(starts: number[], at: number): number {
  let lo = 0
  let hi = starts.length - 1
  while (lo < hi) {
    const mid = (lo + hi + 1) >>> 1
    if ((starts[mid] as number) <= at) lo = mid
    else hi = mid - 1
  }
  return lo
}

/** `matched` of an id that matched every word and passed the filters: it goes into the answer. */
export const KEPT = 255

/**
 * The per-id working arrays of a search, allocated once per index and reused by every search
 * (a search runs start to end without yielding, so one set serves them all): allocating them
 * per search cost ~1 MB of zeroed memory at 100,000 packages each time, and the collections
 * that followed. Between searches every entry is zero; a search records each id it writes in
 * `touched` and `clear` zeroes exactly those, so the cost follows the matches, not the index.
 *
 *   scores[id]    sum of the words' best scores so far
 *   matched[id]   words matched so far, or KEPT
 *   wordBest[id]  the current word's best score (zeroed after each word)
 */
export class MatchScratch {
  scores = new Uint32Array(0)
  matched = new Uint8Array(0)
  wordBest = new Uint16Array(0)
  /** The ids the first word (or the candidate pass) matched: every id any array holds a value for. */
  touched = new Int32Array(0)
  touchedCount = 0
  /** A later word's matches. */
  hits = new Int32Array(0)
  /** The matches that go into the answer, in the order found. */
  kept = new Int32Array(0)
  /** Counting sort by score: where each score's run of ids starts (indexed by score). */
  offsets: Int32Array = new Int32Array(0)

  /** Grows the arrays (by a quarter more, so a growing index reallocates rarely) to hold `capacity` ids. */
  fit(capacity: number): void {
    if (this.scores.length >= capacity) return
    const size = capacity + (capacity >>> 2) + 1024
    this.scores = new Uint32Array(size)
    this.matched = new Uint8Array(size)
    this.wordBest = new Uint16Array(size)
    this.touched = new Int32Array(size)
    this.hits = new Int32Array(size)
    this.kept = new Int32Array(size)
  }

  /** `offsets` long enough to index `score`, with what it held. */
  fitScore(score: number): Int32Array {
    if (this.offsets.length <= score) {
      const grown = new Int32Array(Math.max(score + 1, 2 * this.offsets.length))
      grown.set(this.offsets)
      this.offsets = grown
    }
    return this.offsets
  }

  /** Zeroes what the last search wrote. */
  clear(): void {
    const { touched, scores, matched, wordBest } = this
    // Many ids: one memset of each array beats a scattered write per id.
    if (this.touchedCount * 8 > scores.length) {
      scores.fill(0)
      matched.fill(0)
      wordBest.fill(0)
      this.touchedCount = 0
      return
    }
    for (let i = 0; i < this.touchedCount; i++) {
      const id = touched[i] as number
      scores[id] = 0
      matched[id] = 0
      wordBest[id] = 0
    }
    this.touchedCount = 0
  }
}

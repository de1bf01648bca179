import { LRUCache } from 'lru-cache'

/** Tokens per chunk: a change rebuilds one chunk's text, never the whole vocabulary's. */
const CHUNK = 4096
const MARK = '\u0001'
/** Token numbers remembered for recent words (4 to 8 bytes each): at most this many in all. */
const REMEMBERED_TIDS = 1_000_000

/**
 * Every distinct token (a whitespace-free run of a package's lowercased searchable text) with
 * a number, and a substring search over all of them: the tokens of a chunk in one string, so
 * finding the tokens that contain a word is a run of native `indexOf` over a few MB rather
 * than one `includes` per token:
 *
 *   chunk 0: "left-pad\u0001pads\u0001express\u0001..."   starts: [0, 9, 14, ...]
 *
 * Tokens are only ever added; the chunk that gets one is joined again on its next search.
 * The tokens found for recent words are remembered with how many tokens there were then: the
 * same word again (in another query, or after a change made the answers void) reads only the
 * tokens added since, one by one, instead of the few MB of text.
 */
export class Vocabulary {
  private readonly tokens: string[] = []
  private readonly numbers = new Map<string, number>()
  private readonly texts: Array<string | null> = []
  private readonly starts: Int32Array[] = []
  private readonly remembered = new LRUCache<string, { tids: number[]; upTo: number }>({ maxSize: REMEMBERED_TIDS, sizeCalculation: (entry) => entry.tids.length + 1 })

  get size(): number {
    return this.tokens.length
  }

  token(tid: number): string {
    return this.tokens[tid] as string
  }

  find(token: string): number | undefined {
    return this.numbers.get(token)
  }

  /** The number of `token`, added if new. */
  add(token: string): number {
    let tid = this.numbers.get(token)
    if (tid === undefined) {
      tid = this.tokens.length
      this.tokens.push(token)
      this.numbers.set(token, tid)
      this.texts[Math.floor(tid / CHUNK)] = null
    }
    return tid
  }

  /** Calls `found` with the number of every token that contains `word`, each once. */
  containing(word: string, found: (tid: number) => void): void {
    let known = this.remembered.get(word)
    if (!known) {
      const tids: number[] = []
      this.scan(word, (tid) => tids.push(tid))
      known = { tids, upTo: this.tokens.length }
      this.remembered.set(word, known)
    } else if (known.upTo < this.tokens.length) {
      for (let tid = known.upTo; tid < this.tokens.length; tid++) if ((this.tokens[tid] as string).includes(word)) known.tids.push(tid)
      known.upTo = this.tokens.length
      // Set again: its size grew.
      this.remembered.set(word, known)
    }
    for (const tid of known.tids) found(tid)
  }

  /** Every token containing `word`, from the chunks' texts. */
  private scan(word: string, found: (tid: number) => void): void {
    for (let chunk = 0; chunk * CHUNK < this.tokens.length; chunk++) {
      const text = this.chunkText(chunk)
      const starts = this.starts[chunk] as Int32Array
      const base = chunk * CHUNK
      let at = text.indexOf(word)
      while (at >= 0) {
        const index = owner(starts, at)
        // A hit may straddle two tokens (a token holding the mark itself): check it.
        if ((this.tokens[base + index] as string).includes(word)) found(base + index)
        if (index + 1 >= starts.length) break
        at = text.indexOf(word, starts[index + 1])
      }
    }
  }

  private chunkText(chunk: number): string {
    const cached = this.texts[chunk]
    if (cached) return cached
    const tokens = this.tokens.slice(chunk * CHUNK, (chunk + 1) * CHUNK)
    const starts = new Int32Array(tokens.length)
    let offset = 0
    tokens.forEach((token, i) => {
      starts[i] = offset
      offset += token.length + 1
    })
    const text = tokens.join(MARK)
    this.texts[chunk] = text
    this.starts[chunk] = starts
    return text
  }
}

/** The token whose text holds position `at`: the last start at or before it. */
function owner(starts: Int32Array, at: number): number {
  let lo = 0
  let hi = starts.length - 1
  while (lo < hi) {
    const mid = (lo + hi + 1) >>> 1
    if ((starts[mid] as number) <= at) lo = mid
    else hi = mid - 1
  }
  return lo
}

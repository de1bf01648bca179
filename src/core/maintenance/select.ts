import { ContentTable } from './content-table.js'

/** Why an entry is never pruned, whatever the flags say. */
export type KeepReason = 'local' | 'lockfile' | 'recent'
export type PruneReason = 'older-than' | 'max-size'

export interface Candidate {
  key: string
  /** Names its content: entries with the same bytes share one file (its integrity; any string that tells contents apart). */
  integrity: string
  size: number
  lastUse: number
  keep: KeepReason | null
}

export interface Selection {
  chosen: Map<string, PruneReason>
  /** Bytes of cached (not published here) content before and after, each file counted once. */
  cachedBefore: number
  cachedAfter: number
  /** Whether the cached content fits `maxBytes` afterwards; null without `maxBytes`. */
  fits: boolean | null
}

export interface SelectOptions {
  olderThan?: number
  maxBytes?: number
}

/** Least recently used first; ties by key, so the same candidates always give the same order. */
export function byRecency(a: Candidate, b: Candidate): number {
  return recencyOrder(a.lastUse, a.key, b)
}

/** byRecency of a candidate not made yet (its use and key alone) against `b`. */
function recencyOrder(lastUse: number, key: string, b: Candidate): number {
  return lastUse - b.lastUse || (key < b.key ? -1 : key > b.key ? 1 : 0)
}

/**
 * Picks what to prune. `olderThan` (a time): every entry last used before it. `maxBytes`:
 * then least recently used first until the cached content fits. An entry with a keep reason
 * is never picked; content that is also published here does not count as cached.
 * Pure: the same candidates always give the same answer (ties go by key).
 */
export function selectForPrune(candidates: readonly Candidate[], options: SelectOptions): Selection {
  const selector = new PruneSelector(options)
  for (const c of candidates) selector.count(c)
  while (selector.needsPass()) for (const c of candidates) selector.offer(c)
  return selector.selection()
}

/**
 * selectForPrune over candidates streamed past it, holding only what it may pick: for
 * `maxBytes`, a max-heap of the least recently used candidates whose sizes add up to
 * `holdBytes` (the newest one is let go while the others still add up to it), never one object
 * per candidate. What a store holds is known only at the end of a walk, so `holdBytes` is a
 * guess (the store's total bytes less the limit); when the held candidates do not free enough
 * (the guess was low, or they share content with entries that stay), needsPass() asks for
 * another walk, which offers only candidates after the last one held. The answer is the same
 * as selectForPrune's whatever `holdBytes` is; only the number of walks changes.
 *
 * Use: count() every candidate of one walk, then while needsPass(), offer() every candidate of
 * another walk; then selection(). What is held per content is one count, keyed by `integrity`.
 */
export class PruneSelector<C extends Candidate = Candidate> {
  /** Cached (not published here) references per content. */
  private readonly refs: ContentTable
  private total = 0
  private before = 0
  private readonly chosen = new Map<string, PruneReason>()
  private readonly picked: Array<{ candidate: C; reason: PruneReason }> = []
  private heap: C[] = []
  private heldBytes = 0
  private hold: number
  /** Whether a candidate was let go from the heap (then a further walk may be needed). */
  private dropped = false
  /** The last candidate considered by a finished round: later walks offer only what comes after it. */
  private after: C | null = null
  private counting = true

  /** `contents`: how many contents the store holds, if known (sizes the table of counts). */
  constructor(
    private readonly options: SelectOptions,
    holdBytes = Infinity,
    contents = 0,
  ) {
    this.hold = holdBytes
    this.refs = new ContentTable(contents)
  }

  /** First walk: every candidate, once (or, for one passed over, countPassed: see there). */
  count(c: C): void {
    this.countContent(c.integrity, c.size, c.keep)
    if (c.keep !== null) return
    if (this.olderThanPicks(c)) this.picked.push({ candidate: c, reason: 'older-than' })
    else this.offer(c)
  }

  /**
   * count() of a candidate with no keep reason that the age limit does not pick, when
   * passedOver(lastUse, key) said true: only its content is counted, so a walk that asks first
   * makes no candidate object for the many entries that could never be held.
   */
  countPassed(integrity: string, size: number): void {
    this.countContent(integrity, size, null)
  }

  /**
   * Whether offer() would let a candidate of this recency go at once (the heap already holds
   * enough, all of it used before): then it counts as let go (a further walk may be needed),
   * and count() of it is countPassed().
   */
  passedOver(lastUse: number, key: string): boolean {
    // Without a size limit nothing is held.
    if (this.options.maxBytes === undefined) return true
    if (this.heap.length === 0 || this.heldBytes < this.hold) return false
    const top = this.heap[0] as C
    if (recencyOrder(lastUse, key, top) <= 0) return false
    this.dropped = true
    return true
  }

  private countContent(integrity: string, size: number, keep: KeepReason | null): void {
    if (keep === 'local') return
    if (this.refs.add(integrity, 1) === 1) this.total += size
  }

  /** Whether another walk must offer() its candidates; ends the round of the walk before. */
  needsPass(): boolean {
    if (this.counting) {
      this.counting = false
      this.before = this.total
      for (const { candidate } of this.picked) this.choose(candidate, 'older-than')
    }
    if (this.options.maxBytes === undefined) return false
    const held = this.heap.sort(byRecency)
    this.heap = []
    this.heldBytes = 0
    for (const c of held) {
      if (this.total <= this.options.maxBytes) return false
      this.choose(c, 'max-size')
      this.after = c
    }
    if (this.total <= this.options.maxBytes || !this.dropped) return false
    // Another walk: what it offers need only free what is still missing.
    this.dropped = false
    this.hold = this.total - this.options.maxBytes
    return true
  }

  /** A candidate for the size limit (the first walk's count() offers them itself). */
  offer(c: C): void {
    if (this.options.maxBytes === undefined || c.keep !== null || this.olderThanPicks(c)) return
    if (this.after !== null && byRecency(c, this.after) <= 0) return
    heapPush(this.heap, c)
    this.heldBytes += c.size
    // Let the newest go while the older ones alone still hold enough.
    while (this.heap.length > 1 && this.heldBytes - (this.heap[0] as C).size >= this.hold) {
      this.heldBytes -= heapPop(this.heap).size
      this.dropped = true
    }
  }

  selection(): Selection {
    const maxBytes = this.options.maxBytes
    return { chosen: this.chosen, cachedBefore: this.before, cachedAfter: this.total, fits: maxBytes === undefined ? null : this.total <= maxBytes }
  }

  /** Cached references to a content not chosen (so left after the prune). */
  references(integrity: string): number {
    return this.refs.get(integrity)
  }

  /** What was chosen, in the order it was: the age limit's first, then by recency. */
  choices(): ReadonlyArray<{ candidate: C; reason: PruneReason }> {
    return this.picked
  }

  private olderThanPicks(c: C): boolean {
    return this.options.olderThan !== undefined && c.lastUse < this.options.olderThan
  }

  private choose(c: C, reason: PruneReason): void {
    this.chosen.set(c.key, reason)
    if (reason === 'max-size') this.picked.push({ candidate: c, reason })
    if (this.refs.get(c.integrity) === 0) return
    if (this.refs.add(c.integrity, -1) === 0) this.total -= c.size
  }
}

/** Max-heap by recency (the most recently used on top), in an array. */
function heapPush<C extends Candidate>(heap: C[], c: C): void {
  heap.push(c)
  let at = heap.length - 1
  while (at > 0) {
    const parent = (at - 1) >> 1
    if (byRecency(heap[parent] as C, c) >= 0) break
    heap[at] = heap[parent] as C
    at = parent
  }
  heap[at] = c
}

function heapPop<C extends Candidate>(heap: C[]): C {
  const top = heap[0] as C
  const last = heap.pop() as C
  if (heap.length === 0) return top
  let at = 0
  for (;;) {
    const left = 2 * at + 1
    if (left >= heap.length) break
    const right = left + 1
    const bigger = right < heap.length && byRecency(heap[right] as C, heap[left] as C) > 0 ? right : left
    if (byRecency(heap[bigger] as C, last) <= 0) break
    heap[at] = heap[bigger] as C
    at = bigger
  }
  heap[at] = last
  return top
}

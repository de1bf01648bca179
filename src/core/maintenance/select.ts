/** Why an entry is never pruned, whatever the flags say. */
export type KeepReason = 'local' | 'lockfile' | 'recent'
export type PruneReason = 'older-than' | 'max-size'

export interface Candidate {
  key: string
  /** sha512 of its content: entries with the same bytes share one file. */
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

/**
 * Picks what to prune. `olderThan` (a time): every entry last used before it. `maxBytes`:
 * then least recently used first until the cached content fits. An entry with a keep reason
 * is never picked; content that is also published here does not count as cached.
 * Pure: the same candidates always give the same answer (ties go by key).
 */
export function selectForPrune(candidates: readonly Candidate[], options: { olderThan?: number; maxBytes?: number }): Selection {
  const refs = new Map<string, { count: number; size: number }>()
  let total = 0
  for (const c of candidates) {
    if (c.keep === 'local') continue
    const ref = refs.get(c.integrity)
    if (ref) ref.count++
    else {
      refs.set(c.integrity, { count: 1, size: c.size })
      total += c.size
    }
  }
  const cachedBefore = total
  const chosen = new Map<string, PruneReason>()
  const choose = (c: Candidate, reason: PruneReason) => {
    chosen.set(c.key, reason)
    const ref = refs.get(c.integrity)
    if (ref && --ref.count === 0) total -= ref.size
  }
  if (options.olderThan !== undefined) {
    for (const c of candidates) if (c.keep === null && c.lastUse < options.olderThan) choose(c, 'older-than')
  }
  if (options.maxBytes !== undefined) {
    const order = candidates
      .filter((c) => c.keep === null && !chosen.has(c.key))
      .sort((a, b) => a.lastUse - b.lastUse || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))
    for (const c of order) {
      if (total <= options.maxBytes) break
      choose(c, 'max-size')
    }
  }
  return { chosen, cachedBefore, cachedAfter: total, fits: options.maxBytes === undefined ? null : total <= options.maxBytes }
}

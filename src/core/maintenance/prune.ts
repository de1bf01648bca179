import { eachLimited } from '../each-limited.js'
import { SinopiaError } from '../errors.js'
import { parseTarballKey, sha512Of, type BlobEntry, type Store } from '../store/index.js'
import { lastUseOf, scanStore, type Inventory } from './inventory.js'
import { ContentTable } from './content-table.js'
import { emptyKeepList, type KeepList } from './keep.js'
import { PruneSelector, type Candidate, type KeepReason, type PruneReason } from './select.js'

/**
 * A blob stored less than this long before the prune started is never pruned: between a
 * publish's blob write and its local.json write, the blob looks like cached data.
 */
export const PRUNE_GRACE_MS = 2 * 60_000
/**
 * Unreferenced content younger than this stays: a download moves its content into place
 * just before it writes the index entry, and the rename keeps the temp file's fresh mtime.
 */
const ORPHAN_GRACE_MS = 2 * 60_000
/**
 * Packages pruned at once. Each package's removal waits for its merge of the blob totals (a
 * locked, fsynced rewrite of one small file): one package at a time, with a merge per tarball
 * as it was then, 10,400 removals left a loaded 2-core machine idle ~230 s of a 400 s prune.
 * Side by side, their changes share a merge.
 */
const APPLY_CONCURRENCY = 8

/** A tarball entry as the selection weighs it. */
interface PruneCandidate extends Candidate {
  name: string
  version: string
  time: number
}

export interface PruneOptions {
  /** Prune blobs last used more than this many ms ago. */
  olderThanMs?: number
  /** Then least recently used first until the cached blobs fit in this many bytes. */
  maxBytes?: number
  keep?: KeepList
  /** Default: Date.now(). */
  now?: number
  /** Default PRUNE_GRACE_MS (tests that prune what they just fetched pass 0). */
  graceMs?: number
}

export interface PruneItem {
  key: string
  name: string
  version: string
  integrity: string
  size: number
  lastUse: number
  reason: PruneReason
  /** The index time the plan saw: an entry written again since is left alone. */
  time: number
}

/** A cached uplink packument with nothing left to serve it for. */
export interface StalePackument {
  name: string
  /** Bytes of its upstream.json, the file that goes (fetched.json stays). */
  bytes: number
  /** The last 200/304 from the uplink the plan saw (0: unknown); a fetch since leaves it. */
  fetchedAt: number
}

export interface OrphanBlob {
  integrity: string
  path: string
  size: number
}

export interface PrunePlan {
  startedAt: number
  remove: PruneItem[]
  /** Content that no index entry and no published version refers to. */
  orphans: OrphanBlob[]
  /**
   * With an age limit: cached packuments of packages that keep no tarball after this prune,
   * have nothing published here and were not fetched from the uplink within the limit.
   */
  packuments: StalePackument[]
  /** Bytes the plan frees: every content file it deletes, once. */
  freedBytes: number
  /** How many entries each keep reason saved. */
  kept: Record<KeepReason, number>
  cachedBytesBefore: number
  cachedBytesAfter: number
  fits: boolean | null
  warnings: string[]
  /** Index references when planned of each content the plan removes (by its digest), for deciding when it may go. */
  refs: Map<string, number>
  localIntegrities: Set<string>
  /** Usage records of keys no longer in the index (unpublished, dropped by verify): key -> time. */
  staleUsage: Map<string, number>
}

export interface PruneResult {
  removed: PruneItem[]
  orphansRemoved: OrphanBlob[]
  packumentsRemoved: StalePackument[]
  freedBytes: number
  /** Bytes of cached content left afterwards (the plan's figure plus whatever was skipped). */
  cachedBytesAfter: number
  skipped: Array<{ key: string; why: string }>
}

/** Works out what a prune would remove. Reads only; nothing changes. */
export async function planPrune(store: Store, options: PruneOptions): Promise<PrunePlan> {
  if (options.olderThanMs === undefined && options.maxBytes === undefined) {
    throw new SinopiaError('EUSAGE', 'nothing to prune by', { hint: 'pass --older-than DURATION and/or --max-size SIZE' })
  }
  const startedAt = options.now ?? Date.now()
  const grace = options.graceMs ?? PRUNE_GRACE_MS
  const keep = options.keep ?? emptyKeepList()
  // What was published here and when each packument was fetched: the cached packuments are
  // only sized (a broken one is verify's to report; removing it as stale loses nothing the
  // uplink cannot give again). Of a package with nothing published here, nothing is needed
  // but a broken document's warning, or, with an age limit, what says its packument is stale:
  // at 100,000 packages, the scans of the others were ~20 MB held through the whole walk.
  const ageLimit = options.olderThanMs !== undefined
  const inventory = await scanStore(store, { depth: 'records', keep: (scan) => scan.broken.length > 0 || (ageLimit && scan.upstream) })
  const warnings: string[] = []
  if (inventory.usageProblem) warnings.push(`${inventory.usageProblem}: only fetch times count as uses`)
  for (const scan of inventory.packages.values()) {
    for (const broken of scan.broken) {
      warnings.push(`${broken.message}; ${broken.document === 'local' ? 'its tarballs are kept' : 'run `sinopia-cli verify --fix`'}`)
    }
  }
  const kept: Record<KeepReason, number> = { local: 0, lockfile: 0, recent: 0 }
  const olderThan = options.olderThanMs === undefined ? undefined : startedAt - options.olderThanMs
  // Held while the index streams past: per content, how many entries refer to it (in a
  // ContentTable: the selector counts the cached ones, `otherRefs` the rest, mostly published
  // tarballs); per package, how many tarballs it has. The selection holds only what it may pick
  // (see PruneSelector): nothing here is one object per tarball.
  const otherRefs = new ContentTable()
  const tarballsOf = new Map<string, number>()
  // The heap of size candidates is bounded by the bytes to free, guessed from the maintained totals
  // (read only for a size limit: an age-only prune takes the count hint, which never writes).
  const totals = options.maxBytes === undefined ? null : await store.blobs.totals()
  const holdBytes = options.maxBytes === undefined || !totals ? 0 : Math.max(0, totals.bytes - options.maxBytes)
  const limits = { ...(olderThan === undefined ? {} : { olderThan }), ...(options.maxBytes === undefined ? {} : { maxBytes: options.maxBytes }) }
  const selector = new PruneSelector<PruneCandidate>(limits, holdBytes, totals?.blobs ?? (await store.blobs.countHint()))
  // Usage records whose key the index lacks: bounded by the usage records already in memory.
  const unindexedUsage = new Set(inventory.usage.keys())
  const keepReason = (entry: BlobEntry, parsed: { name: string; version: string }): KeepReason | null => {
    const scan = inventory.packages.get(parsed.name)
    // A package whose local.json does not parse may have published anything: keep it all.
    const localUnknown = scan?.broken.some((b) => b.document === 'local') ?? false
    if (localUnknown || scan?.local?.has(parsed.version) || inventory.localIntegrities.has(entry.integrity)) return 'local'
    if (keep.specs.has(`${parsed.name}@${parsed.version}`) || keep.integrities.has(entry.integrity)) return 'lockfile'
    if (entry.time > startedAt - grace) return 'recent'
    return null
  }
  const candidateOf = (entry: BlobEntry, parsed: { name: string; version: string }, reason = keepReason(entry, parsed), lastUse = lastUseOf(entry, inventory.usage)): PruneCandidate => {
    return { key: entry.key, integrity: entry.integrity, size: entry.size, lastUse, keep: reason, time: entry.time, ...parsed }
  }
  for await (const entry of store.blobs.eachEntry()) {
    unindexedUsage.delete(entry.key)
    const parsed = parseTarballKey(entry.key)
    const reason = parsed && keepReason(entry, parsed)
    // Keys of another shape are not ours to judge; like published ones, they only hold content.
    if (!parsed || reason === 'local') otherRefs.add(entry.integrity, 1)
    if (!parsed) continue
    tarballsOf.set(parsed.name, (tarballsOf.get(parsed.name) ?? 0) + 1)
    if (reason) kept[reason]++
    const lastUse = lastUseOf(entry, inventory.usage)
    // Most entries of a big store are newer than everything the selection already holds: no
    // candidate object is made for those (at 1M tarballs, a million of them were garbage).
    if (reason === null && (olderThan === undefined || lastUse >= olderThan) && selector.passedOver(lastUse, entry.key)) {
      selector.countPassed(entry.integrity, entry.size)
      continue
    }
    selector.count(candidateOf(entry, parsed, reason, lastUse))
  }
  // Rarely: the held candidates did not free enough (see PruneSelector); the index is walked again.
  while (selector.needsPass()) {
    for await (const entry of store.blobs.eachEntry()) {
      const parsed = parseTarballKey(entry.key)
      if (parsed) selector.offer(candidateOf(entry, parsed))
    }
  }
  const selection = selector.selection()
  const remove: PruneItem[] = selector
    .choices()
    .map(({ candidate: c, reason }) => ({ key: c.key, name: c.name, version: c.version, integrity: c.integrity, size: c.size, lastUse: c.lastUse, reason, time: c.time }))
  remove.sort((a, b) => a.lastUse - b.lastUse || (a.key < b.key ? -1 : 1))
  const removedOf = new ContentTable(remove.length)
  for (const item of remove) removedOf.add(item.integrity, 1)
  const references = (integrity: string) => selector.references(integrity) + otherRefs.get(integrity) + removedOf.get(integrity)
  const orphans: OrphanBlob[] = []
  const unreferenced = (integrity: string) => references(integrity) === 0 && !inventory.localIntegrities.has(integrity)
  for await (const content of store.blobs.content(unreferenced)) {
    if (content.mtimeMs > startedAt - ORPHAN_GRACE_MS) continue
    orphans.push({ integrity: content.integrity, path: content.location, size: content.size })
  }
  const packuments = olderThan === undefined ? [] : stalePackuments(inventory, tarballsOf, remove, keep, olderThan, startedAt - grace)
  const staleUsage = new Map([...unindexedUsage].map((key) => [key, inventory.usage.get(key) as number] as const).filter(([, at]) => at < startedAt - ORPHAN_GRACE_MS))
  // What applyPrune needs of the counts: those of the contents it removes, by their integrity.
  const removedRefs = new Map(remove.map((item) => [item.integrity, references(item.integrity)]))
  const remaining = new Map(removedRefs)
  let freedBytes = orphans.reduce((sum, o) => sum + o.size, 0) + packuments.reduce((sum, p) => sum + p.bytes, 0)
  for (const item of remove) {
    const left = (remaining.get(item.integrity) ?? 1) - 1
    remaining.set(item.integrity, left)
    if (left === 0 && !inventory.localIntegrities.has(item.integrity)) freedBytes += item.size
  }
  return {
    startedAt,
    remove,
    orphans,
    packuments,
    freedBytes,
    kept,
    cachedBytesBefore: selection.cachedBefore,
    cachedBytesAfter: selection.cachedAfter,
    fits: selection.fits,
    warnings,
    refs: removedRefs,
    localIntegrities: inventory.localIntegrities,
    staleUsage,
  }
}

/**
 * Carries out a plan, safe while servers run on the same store:
 * - each package is handled under its lock, and local.json is read again there: a version
 *   published since the plan stays, and so do bytes it shares;
 * - an entry written again since the plan (a re-fetch) stays;
 * - blobs go through Blobs.remove, entry before content (why: see the implementation), so a
 *   prune killed in between leaves at worst unindexed content, collected by the next prune; a
 *   download racing it that re-stores the same bytes can lose them again, and the next request
 *   fetches them once more (a blob store never serves an entry whose content is missing);
 * - a tarball being streamed is not cut off: on Linux (and any POSIX system) removing a file
 *   only unlinks its name, and the server's open descriptor reads the bytes to the end.
 */
export async function applyPrune(store: Store, plan: PrunePlan, onRemoved?: (item: PruneItem) => void): Promise<PruneResult> {
  const result: PruneResult = { removed: [], orphansRemoved: [], packumentsRemoved: [], freedBytes: 0, cachedBytesAfter: plan.cachedBytesBefore, skipped: [] }
  const refs = new Map(plan.refs)
  const byName = new Map<string, PruneItem[]>()
  for (const item of plan.remove) {
    const list = byName.get(item.name)
    if (list) list.push(item)
    else byName.set(item.name, [item])
  }
  // Packages a few at once, each under its lock; what each did is joined in the plan's order.
  const outcomes = new Map<string, { removed: PruneItem[]; skipped: PruneResult['skipped']; freedBytes: number }>()
  await eachLimited([...byName], APPLY_CONCURRENCY, async ([name, items]) => {
    const outcome = { removed: [] as PruneItem[], skipped: [] as PruneResult['skipped'], freedBytes: 0 }
    outcomes.set(name, outcome)
    await store.packages.withLock(name, async () => {
      let local: Set<string>
      let localIntegrities: Set<string>
      try {
        const doc = (await store.packages.readLocal(name))?.doc
        local = new Set(Object.keys(doc?.versions ?? {}))
        localIntegrities = new Set(Object.values(doc?.versions ?? {}).map((m) => sha512Of(m?.dist?.integrity) ?? ''))
      } catch (error) {
        if (!(error instanceof SinopiaError)) throw error
        for (const item of items) outcome.skipped.push({ key: item.key, why: error.message })
        return
      }
      const wanted = new Map<string, PruneItem>()
      for (const item of items) {
        if (local.has(item.version) || localIntegrities.has(item.integrity)) outcome.skipped.push({ key: item.key, why: 'published here since the plan' })
        else wanted.set(item.key, item)
      }
      // The package's tarballs in one removal: each only if its entry is still the plan's.
      const storedAgain = new Set<string>()
      const still = (entry: BlobEntry) => {
        const item = wanted.get(entry.key) as PruneItem
        const same = entry.integrity === item.integrity && entry.time === item.time
        if (!same) storedAgain.add(entry.key)
        return same
      }
      // Counted down once per removed entry, in turn, so packages removed side by side that share
      // the bytes agree on which removal is the last reference. Other keys the plan saw still
      // point at the bytes, or a published version does.
      const inUse = (integrity: string) => {
        const left = (refs.get(integrity) ?? 1) - 1
        refs.set(integrity, left)
        return left > 0 || plan.localIntegrities.has(integrity)
      }
      const removed = new Map((await store.blobs.remove([...wanted.keys()], { still, inUse })).map((r) => [r.entry.key, r] as const))
      for (const item of wanted.values()) {
        const gone = removed.get(item.key)
        if (!gone) {
          outcome.skipped.push({ key: item.key, why: storedAgain.has(item.key) ? 'stored again since the plan' : 'already gone' })
          continue
        }
        if (gone.contentRemoved) outcome.freedBytes += item.size
        outcome.removed.push(item)
        onRemoved?.(item)
      }
    })
  })
  for (const outcome of outcomes.values()) {
    result.removed.push(...outcome.removed)
    result.skipped.push(...outcome.skipped)
    result.freedBytes += outcome.freedBytes
    result.cachedBytesAfter -= outcome.freedBytes
  }
  if (plan.orphans.length > 0) {
    // Indexed meanwhile (a download that reused bytes already on disk): not an orphan any more.
    // Only the plan's orphans are looked for in the listing, so what is held is the plan.
    const indexed = new Set<string>()
    const orphaned = new Set(plan.orphans.map((o) => o.integrity))
    for await (const entry of store.blobs.eachEntry()) if (orphaned.has(entry.integrity)) indexed.add(entry.integrity)
    for (const orphan of plan.orphans) {
      if (indexed.has(orphan.integrity)) continue
      await store.blobs.removeContent(orphan.integrity)
      result.orphansRemoved.push(orphan)
      result.freedBytes += orphan.size
    }
  }
  if (plan.packuments.length > 0) await removePackuments(store, plan.packuments, result)
  if (result.removed.length > 0 || plan.staleUsage.size > 0) {
    await store.usage.update((usage) => {
      for (const item of result.removed) usage.delete(item.key)
      // Used again since the plan (a re-fetch and a serving): that record stays.
      for (const [key, at] of plan.staleUsage) if (usage.get(key) === at) usage.delete(key)
    })
  }
  return result
}

/** See PrunePlan.packuments. A name a lockfile lists keeps its packument (lock-sync reads it). */
function stalePackuments(
  inventory: Inventory,
  tarballsOf: ReadonlyMap<string, number>,
  remove: PruneItem[],
  keep: KeepList,
  cutoff: number,
  recent: number,
): StalePackument[] {
  const left = new Map(tarballsOf)
  for (const item of remove) left.set(item.name, (left.get(item.name) ?? 0) - 1)
  const locked = new Set([...keep.specs].map((spec) => spec.slice(0, spec.lastIndexOf('@'))))
  const out: StalePackument[] = []
  for (const scan of inventory.packages.values()) {
    if (!scan.upstream || scan.local !== null || scan.broken.length > 0) continue
    if ((left.get(scan.name) ?? 0) > 0 || locked.has(scan.name)) continue
    const fetchedAt = scan.fetchedAt ?? 0
    if (fetchedAt >= cutoff || fetchedAt > recent) continue
    out.push({ name: scan.name, bytes: scan.upstreamBytes, fetchedAt })
  }
  return out.sort((a, b) => (a.name < b.name ? -1 : 1))
}

/**
 * Removes the planned packuments, each under its package's lock, unless something changed
 * since the plan: a tarball stored, a version published, a fetch from the uplink. fetched.json
 * stays: it records that the name comes from the uplink, so a later publish of the name is an
 * override, as it would have been. A server that still holds one in memory fetches it again
 * in full when it next asks the uplink.
 */
async function removePackuments(store: Store, packuments: StalePackument[], result: PruneResult): Promise<void> {
  // Only the planned names are looked for in the listing: what is held is bounded by the plan.
  const planned = new Set(packuments.map((p) => p.name))
  const withTarballs = new Set<string>()
  for await (const entry of store.blobs.eachEntry()) {
    const name = parseTarballKey(entry.key)?.name
    if (name !== undefined && planned.has(name)) withTarballs.add(name)
  }
  for (const item of packuments) {
    const key = `packument:${item.name}`
    if (withTarballs.has(item.name)) {
      result.skipped.push({ key, why: 'a tarball was stored since the plan' })
      continue
    }
    const why = await store.packages.withLock(item.name, async () => {
      if ((await store.packages.localMtime(item.name)) !== null) return 'published here since the plan'
      const fetched = await store.packages.readFetched(item.name).catch(() => null)
      if ((fetched?.fetchedAt ?? 0) !== item.fetchedAt) return 'fetched again since the plan'
      await store.packages.dropUpstreamDocument(item.name)
      return null
    })
    if (why) {
      result.skipped.push({ key, why })
      continue
    }
    result.packumentsRemoved.push(item)
    result.freedBytes += item.bytes
  }
}

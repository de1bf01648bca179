import type { EventEmitter } from 'node:events'
import { SinopiaError } from '../errors.js'
import type { Changes, Packages } from '../store/index.js'
import { Corpus } from './corpus.js'
import { hasQualifiers, passesQualifiers, relevance } from './match.js'
import { hasTerms, type Query } from './query.js'
import { readSnapshotLines, snapshotLines } from './snapshot.js'
import type { PackageSummary } from './summary.js'
import { TopK } from './top-k.js'

/**
 * Where summaries come from: the store's package names, one package's summary now (null:
 * gone), and a cheap stamp of a package's stored documents (their modification times) that
 * changes whenever any process rewrites them.
 */
export interface SummarySource {
  names(): Promise<string[]>
  load(name: string): Promise<PackageSummary | null>
  stamp(name: string): Promise<string>
  /**
   * The store's change feed and snapshot slot (see Packages). With it the index starts from its
   * last snapshot and reads only what changed; without it, it reads every package at start and
   * compares every package's stamp on each sync.
   */
  feed?: SummaryFeed
}

export type SummaryFeed = Pick<Packages, 'changeCursor' | 'changesSince' | 'readSnapshot' | 'writeSnapshot'>

export interface SearchOptions {
  from: number
  size: number
  /** Names the caller may read; the others are never counted nor returned. */
  visible: (name: string) => boolean
}

export interface Scored {
  summary: PackageSummary
  /** Relevance (see match.ts); 1 for every package when the query has no words. */
  score: number
}

export interface SearchAnswer {
  total: number
  results: Scored[]
}

export type IndexState = 'idle' | 'building' | 'ready'

/** Packages read at once while the index is built: enough to keep the disk busy, few enough to bound memory. */
const BUILD_CONCURRENCY = 8
/** How often the store is compared with the index for changes made by other processes. */
export const SYNC_INTERVAL_MS = 30_000
/** A snapshot is written after a build, then at most this often while changes come in. */
export const SNAPSHOT_INTERVAL_MS = 10 * 60_000

/**
 * Summaries of every package in the store, in memory, searched by a scan (10,000 summaries
 * take well under a millisecond). Built once at start while the server already answers,
 * then kept current from the registry's 'changed' events: never a storage scan per request.
 * Other processes on the same storage (a second `serve`, `mirror`, `lock-sync`, `prune`)
 * emit no events here: `sync` reads the store's change feed for them (without a feed: compares
 * every package's stamp), and `watch` runs it every SYNC_INTERVAL_MS.
 *
 * With a feed, start-up reads the snapshot the store keeps (one streamed read of compact
 * summaries) and applies the feed since its cursor, instead of reading every document; a store
 * without a snapshot is read once in full, then one is written.
 *
 * Refreshes of one name run one at a time and a refresh asked for while another runs reads
 * the store again afterwards, so the last read always starts after the last change.
 */
export class SearchIndex {
  private readonly entries = new Map<string, PackageSummary>()
  /** Local first, then by name; rebuilt lazily after a change, like the corpus. */
  private ordered: PackageSummary[] | null = null
  private corpus: Corpus | null = null
  private readonly queued = new Map<string, Promise<void>>()
  private readonly active = new Map<string, Promise<void>>()
  /** Refreshes caused by changes: a search waits for them, so a publish is findable as soon as it is answered. */
  private readonly pending = new Set<Promise<void>>()
  /** Each stored package's stamp when it was last read (also when it had nothing to show, or failed). */
  private readonly stamps = new Map<string, string>()
  private syncing: Promise<void> | null = null
  /** Where the change feed was when the entries last caught up with it (with a feed only). */
  private cursor: string | null = null
  /** Changes applied since the snapshot was last written, and when that was. */
  private unsaved = 0
  private savedAt = 0
  private timer: NodeJS.Timeout | null = null
  private closed = false
  state: IndexState = 'idle'

  constructor(
    private readonly source: SummarySource,
    private readonly onError: (name: string | null, error: unknown) => void = () => undefined,
  ) {}

  get size(): number {
    return this.entries.size
  }

  get(name: string): PackageSummary | undefined {
    return this.entries.get(name)
  }

  /** The names `user` starred here (`npm stars`), sorted; `visible` filters out what the caller may not read. */
  starredBy(user: string, visible: (name: string) => boolean): string[] {
    const names: string[] = []
    for (const summary of this.entries.values()) {
      if (summary.starredBy.includes(user) && visible(summary.name)) names.push(summary.name)
    }
    return names.sort()
  }

  /** Adds or replaces one summary directly (tests, benchmarks). */
  put(summary: PackageSummary): void {
    this.entries.set(summary.name, summary)
    this.ordered = null
    this.corpus = null
  }

  remove(name: string): void {
    if (!this.entries.delete(name)) return
    this.ordered = null
    this.corpus = null
  }

  /** Reads every package of the store once, `concurrency` at a time. Resolves when done (or closed). */
  async build(concurrency = BUILD_CONCURRENCY): Promise<void> {
    this.state = 'building'
    const feed = this.source.feed
    if (feed) {
      if (await this.fromSnapshot(feed, concurrency)) {
        this.state = 'ready'
        // A long feed since the snapshot is read again at every start until the next one is written.
        if (this.unsaved > 0) await this.save(feed)
        return
      }
      // Taken before the first read: whatever changes during the build is fed afterwards.
      this.cursor = await feed.changeCursor().catch((error: unknown) => {
        this.onError(null, error)
        return null
      })
    }
    let names: string[]
    try {
      names = await this.source.names()
    } catch (error) {
      this.onError(null, error)
      this.state = 'ready'
      return
    }
    await this.each(names, concurrency, (name) => this.refresh(name))
    this.state = 'ready'
    if (feed && !this.closed) await this.save(feed)
  }

  /** Loads the snapshot and what the feed says changed since; false (and nothing loaded) when there is none to use. */
  private async fromSnapshot(feed: SummaryFeed, concurrency: number): Promise<boolean> {
    try {
      const chunks = await feed.readSnapshot()
      if (!chunks) return false
      const cursor = await readSnapshotLines(chunks, (summary) => this.put(summary))
      const changes = await feed.changesSince(cursor)
      if (changes.names === null) throw new SinopiaError('ESTALE', 'the search snapshot is older than the change feed keeps')
      this.cursor = changes.cursor
      this.unsaved = changes.names.length
      await this.each(changes.names, concurrency, (name) => this.refresh(name))
      return true
    } catch (error) {
      this.onError(null, error)
      for (const name of [...this.entries.keys()]) this.remove(name)
      return false
    }
  }

  /** Writes the entries as the snapshot of the feed's cursor; a failure is reported and the next save tries again. */
  private async save(feed: SummaryFeed): Promise<void> {
    const cursor = this.cursor
    if (cursor === null) return
    const unsaved = this.unsaved
    try {
      await feed.writeSnapshot(snapshotLines(cursor, this.entries.values()))
      this.unsaved -= unsaved
      this.savedAt = Date.now()
    } catch (error) {
      this.onError(null, error)
    }
  }

  /** Reads what the feed says changed since the last pass (everything, when it cannot tell). */
  private async feedPass(feed: SummaryFeed, concurrency: number): Promise<void> {
    // The build reads the feed itself once done.
    if (this.state !== 'ready') return
    let changes: Changes
    try {
      changes = this.cursor === null ? { names: null, cursor: await feed.changeCursor() } : await feed.changesSince(this.cursor)
    } catch (error) {
      this.onError(null, error)
      return
    }
    this.cursor = changes.cursor
    const names = changes.names ?? (await this.everyName())
    await this.each(names, concurrency, (name) => this.refresh(name))
    this.unsaved += names.length
    if (this.unsaved > 0 && Date.now() - this.savedAt >= SNAPSHOT_INTERVAL_MS && !this.closed) await this.save(feed)
  }

  /** Every listed name and every one held (a package gone from the listing is read to drop it). */
  private async everyName(): Promise<string[]> {
    try {
      return [...new Set([...(await this.source.names()), ...this.entries.keys()])]
    } catch (error) {
      this.onError(null, error)
      return []
    }
  }

  /**
   * Reads again the packages whose stored files changed since they were last read, adds new
   * ones and drops those gone from the store. Concurrent calls share one pass.
   */
  sync(concurrency = BUILD_CONCURRENCY): Promise<void> {
    this.syncing ??= this.syncPass(concurrency).finally(() => (this.syncing = null))
    return this.syncing
  }

  /** Runs `sync` every `intervalMs` until close (the timer never keeps the process alive). */
  watch(intervalMs = SYNC_INTERVAL_MS): void {
    if (this.timer || this.closed) return
    this.timer = setInterval(() => void this.sync(), intervalMs)
    this.timer.unref()
  }

  private async syncPass(concurrency: number): Promise<void> {
    if (this.source.feed) return this.feedPass(this.source.feed, concurrency)
    let names: string[]
    try {
      names = await this.source.names()
    } catch (error) {
      this.onError(null, error)
      return
    }
    const listed = new Set(names)
    // Not in the listing: gone, unless published here after the listing was taken, so read it
    // again rather than drop it.
    const vanished = [...new Set([...this.entries.keys(), ...this.stamps.keys()])].filter((name) => !listed.has(name))
    await this.each(vanished, concurrency, async (name) => {
      await this.refresh(name)
      if (!this.entries.has(name)) this.stamps.delete(name)
    })
    await this.each(names, concurrency, async (name) => {
      let stamp: string
      try {
        stamp = await this.source.stamp(name)
      } catch (error) {
        this.onError(name, error)
        return
      }
      if (this.stamps.get(name) !== stamp) await this.refresh(name)
    })
  }

  private async each(names: string[], concurrency: number, step: (name: string) => Promise<void>): Promise<void> {
    let next = 0
    const worker = async () => {
      while (!this.closed && next < names.length) await step(names[next++] as string)
    }
    await Promise.all(Array.from({ length: Math.min(concurrency, names.length) }, worker))
  }

  /** Refreshes a name on every `'changed'` event of `emitter`; returns the unsubscribe function. */
  follow(emitter: EventEmitter): () => void {
    const listener = (name: unknown) => {
      if (typeof name !== 'string' || this.closed) return
      const refreshed = this.refresh(name)
      this.pending.add(refreshed)
      void refreshed.then(() => this.pending.delete(refreshed))
    }
    emitter.on('changed', listener)
    return () => emitter.off('changed', listener)
  }

  /** Reads one package again. Never rejects: a package that cannot be read is reported and left as it was. */
  refresh(name: string): Promise<void> {
    const queued = this.queued.get(name)
    if (queued) return queued
    const before = this.active.get(name) ?? Promise.resolve()
    const run: Promise<void> = before.then(async () => {
      this.queued.delete(name)
      this.active.set(name, run)
      let stamp: string | undefined
      try {
        // The stamp first: a change landing during the read makes the next sync read again. The
        // feed, when there is one, tells of changes instead: no stamp to read for each package.
        if (!this.source.feed) stamp = await this.source.stamp(name)
        const summary = await this.source.load(name)
        if (summary) this.put(summary)
        else this.remove(name)
        if (stamp !== undefined) this.stamps.set(name, stamp)
      } catch (error) {
        // Reported once per change of the files, not on every sync.
        if (stamp !== undefined) this.stamps.set(name, stamp)
        this.onError(name, error)
      } finally {
        if (this.active.get(name) === run) this.active.delete(name)
      }
    })
    this.queued.set(name, run)
    return run
  }

  /** Resolves once the refreshes that changes have caused so far are done. */
  async settled(): Promise<void> {
    if (this.pending.size > 0) await Promise.all([...this.pending])
  }

  /** Stops the build and ignores further events. */
  close(): void {
    this.closed = true
    if (this.timer) clearInterval(this.timer)
    this.timer = null
  }

  /** Matches, most relevant first (then local before cached, then by name), and the one page asked for. */
  search(query: Query, options: SearchOptions): SearchAnswer {
    const { from, size, visible } = options
    const terms = hasTerms(query)
    const qualified = hasQualifiers(query)
    if (!terms && !qualified) {
      let total = 0
      const results: Scored[] = []
      for (const summary of this.list()) {
        if (!visible(summary.name)) continue
        if (total >= from && results.length < size) results.push({ summary, score: 1 })
        total++
      }
      return { total, results }
    }
    // Only packages whose text holds one of the query's words are looked at, in insertion
    // order (roughly how they sit in memory: scoring thousands in name order costs several
    // times more in cache misses), and only the best `from + size` are kept in order.
    this.corpus ??= new Corpus([...this.entries.values()])
    const top = new TopK<Scored>(from + size, byRank)
    let total = 0
    const word = filterWord(query)
    const candidates = terms && word.length === 1 ? this.corpus.nameStartCandidates(word) : this.corpus.candidates(word)
    for (const summary of candidates) {
      if (qualified && !passesQualifiers(summary, query)) continue
      const score = terms ? relevance(summary, query) : 1
      if (score > 0 && visible(summary.name)) {
        total++
        top.offer({ summary, score })
      }
    }
    return { total, results: top.sorted().slice(from) }
  }

  /** Every summary, local packages first, each group by name. */
  list(): PackageSummary[] {
    this.ordered ??= [...this.entries.values()].sort(byListOrder)
    return this.ordered
  }
}

/**
 * A word every match contains in its searchable text (summary.ts `text.all`), to narrow the
 * scan: the longest word, else a lone keyword, author, maintainer or scope; '' for none. A
 * one-letter longest word matches name parts it starts only (see match.ts).
 */
function filterWord(query: Query): string {
  if (query.terms.length > 0) return query.terms.reduce((a, b) => (b.length > a.length ? b : a))
  if (query.keywords.any.length === 1) return query.keywords.any[0] as string
  if (query.authors.length === 1) return query.authors[0] as string
  if (query.maintainers.length === 1) return query.maintainers[0] as string
  if (query.scopes.length === 1) return `@${query.scopes[0]}/`
  return ''
}

/** Most relevant first; equal scores in list order. */
function byRank(a: Scored, b: Scored): number {
  return b.score - a.score || byListOrder(a.summary, b.summary)
}

function byListOrder(a: PackageSummary, b: PackageSummary): number {
  if (a.origin !== b.origin) return a.origin === 'local' ? -1 : 1
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0
}

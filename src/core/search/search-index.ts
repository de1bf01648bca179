import type { EventEmitter } from 'node:events'
import { CACHE_BOUNDS } from '../cache-bounds.js'
import { SinopiaError } from '../errors.js'
import type { Changes, Packages } from '../store/index.js'
import type { Query } from './query.js'
import { RankedCache } from './ranked-cache.js'
import { MatchScratch } from './scratch.js'
import { readSnapshotLines, snapshotLines } from './snapshot.js'
import { withText, type PackageSummary } from './summary.js'
import { VisibleIds } from './visible-ids.js'
import { WordIndex } from './word-index.js'
import { rankWords } from './word-search.js'

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
  /**
   * Names the caller may read; the others are never counted nor returned. Asked once per name
   * and function: the index remembers the answers of a function it was given before, so pass
   * the same function again only while its answers hold (the route keeps one per user and rules).
   */
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
 * Summaries of every package in the store, in memory, searched through an inverted index of
 * their words (word-index.ts) kept on every change, never rebuilt per search. Built once at start while the server already answers,
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
  private readonly entries = new WordIndex()
  private readonly visibleIds = new VisibleIds()
  private readonly scratch = new MatchScratch()
  private readonly answers: RankedCache
  private readonly queued = new Map<string, Promise<void>>()
  /** The fields a queued refresh of a name takes instead of reading it (undefined: read it). */
  private readonly given = new Map<string, Omit<PackageSummary, 'text'> | null | undefined>()
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
    answerBytes: number = CACHE_BOUNDS.searchAnswerBytes,
  ) {
    this.answers = new RankedCache(answerBytes)
  }

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
    this.entries.put(summary)
  }

  remove(name: string): void {
    this.entries.remove(name)
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

  /**
   * Refreshes a name on every `'changed'` event of `emitter`, with the summary the event carries
   * when it has one (see Packuments); returns the unsubscribe function.
   */
  follow(emitter: EventEmitter): () => void {
    const listener = (name: unknown, fields?: Omit<PackageSummary, 'text'> | null) => {
      if (typeof name !== 'string' || this.closed) return
      const refreshed = this.refresh(name, fields)
      this.pending.add(refreshed)
      void refreshed.then(() => this.pending.delete(refreshed))
    }
    emitter.on('changed', listener)
    return () => emitter.off('changed', listener)
  }

  /**
   * Reads one package again, or takes `fields` (its summary as of a change just made; null: none
   * to list) instead when given. Never rejects: a package that cannot be read is reported and
   * left as it was.
   */
  refresh(name: string, fields?: Omit<PackageSummary, 'text'> | null): Promise<void> {
    // A refresh not started yet takes the latest word: these fields, or a read when none came.
    this.given.set(name, fields)
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
        const given = this.given.get(name)
        this.given.delete(name)
        if (!this.source.feed) stamp = await this.source.stamp(name)
        // Taken only beside a feed: without one, the stamp read just now may be of a later change.
        const summary = given === undefined || !this.source.feed ? await this.source.load(name) : given && withText(given)
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

  /**
   * Matches, most relevant first (then local before cached, then by name), and the one page
   * asked for. The whole ranked list is remembered per query and reader until the next change
   * (ranked-cache.ts): the same search again, or another page of it, is a slice.
   */
  search(query: Query, options: SearchOptions): SearchAnswer {
    const { from, size, visible } = options
    const revision = this.entries.revision
    let ranked = this.answers.get(revision, visible, query)
    if (!ranked) {
      ranked = rankWords(this.entries, query, this.visibleIds.of(this.entries, visible), this.scratch)
      this.answers.set(revision, visible, query, ranked)
    }
    return { total: ranked.total, results: ranked.page(this.entries, from, size) }
  }

  /** Forgets the remembered answers (benchmarks time the searches they save). */
  forget(): void {
    this.answers.clear()
  }

  /** Every summary, local packages first, each group by name. */
  list(): PackageSummary[] {
    return this.entries.listOrder().map((id) => this.entries.at(id) as PackageSummary)
  }
}

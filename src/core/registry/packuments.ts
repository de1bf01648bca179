import { EventEmitter } from 'node:events'
import { LRUCache } from 'lru-cache'
import { BUNDLE_UPLINK } from '../bundle/format.js'
import { CACHE_BOUNDS } from '../cache-bounds.js'
import { SinopiaError } from '../errors.js'
import { tarballKey, type LocalDoc, type Manifest, type Packument, type Store, type StoredBytes } from '../store/index.js'
import { withText, type PackageSummary } from '../search/summary.js'
import type { UpstreamClient } from '../upstream/client.js'
import { SingleFlight } from '../upstream/single-flight.js'
import { isTombstone, mergePackument } from './merge.js'
import { printable } from './names.js'
import type { PackageRules } from './rules.js'
import { ViewBuilder } from './view-builder.js'
import { settle, type UplinkAnswer } from './uplink-answers.js'
import { EMPTY, type PartValidators, type StoredInput, type SummaryFields, type UplinkUrls, type UpstreamData } from './view-tasks.js'
import { viewOf, type PackageView } from './view.js'

export interface CacheUse {
  entries: number
  bytes: number
}

/** How a packument answer came about; the request log prints it. */
export type CacheStatus = 'hit' | 'miss' | 'revalidated' | 'stale' | 'offline' | 'local'

export interface PackumentAnswer {
  view: PackageView
  cache: CacheStatus
  /** True when the uplink could not be asked: the view advertises only stored tarballs. */
  offline: boolean
}

interface CachedUpstream {
  view: PackageView
  uplink: string
  etag?: string
  lastModified?: string
  /** A record from several uplinks: each part's validators. */
  parts?: PartValidators[]
  mtimeMs: number
  fetchedAt: number
  /** With several uplinks: when each last answered (fetched.json's `uplinks`). */
  fetchedBy?: Record<string, number>
}

interface CachedLocal {
  doc: LocalDoc
  /** The file's stamp when `doc` was read from it (see PackageStore.localStamp). */
  stamp: string
}

interface UpstreamAnswer {
  entry: CachedUpstream | null
  cache: CacheStatus
  offline: boolean
  cause?: SinopiaError
  /** With several uplinks: those that could not be asked (when `offline`); the others' versions are served in full. */
  down?: string[]
}

/** Derived views (merged with local versions, or offline) are rebuilt at most this often. */
const DERIVED_TTL = 5_000

/**
 * The packuments served: what was published here merged with the uplink's copy, which is
 * kept in memory and the store, fresh for `maxage`, revalidated conditionally, and fetched
 * by one uplink request per package at a time.
 */
/**
 * Events: 'changed' (name, summary?) after a package's served document changed in this process: a
 * publish, unpublish or tag change here, or a new copy from the uplink. Indexes (search)
 * listen to it instead of scanning the store. `summary` (fields without search text; null: the
 * package has no version to list) is given when it is known already, for a new uplink copy of a
 * package with nothing published here; undefined means read it.
 */
export class Packuments extends EventEmitter {
  private readonly memory = new LRUCache<string, CachedUpstream>({ maxSize: CACHE_BOUNDS.upstreamViewBytes, sizeCalculation: (entry) => viewBytes(entry.view) })
  /** What was published here, by package: only packages that have a local.json. */
  private readonly locals = new LRUCache<string, CachedLocal>({ max: CACHE_BOUNDS.localDocs })
  private readonly localReads = new SingleFlight<Awaited<ReturnType<Store['packages']['readLocal']>>>()
  private readonly derived = new LRUCache<string, { key: string; view: PackageView; at: number }>({
    maxSize: CACHE_BOUNDS.derivedViewBytes,
    sizeCalculation: (memo) => viewBytes(memo.view),
  })
  private readonly revalidations = new SingleFlight<{ entry: CachedUpstream | null; cache: CacheStatus }>()
  private readonly severalRevalidations = new SingleFlight<UpstreamAnswer>()
  private readonly loads = new SingleFlight<CachedUpstream | null>()

  constructor(
    private readonly store: Store,
    private readonly upstream: UpstreamClient,
    private readonly rules: PackageRules,
    private readonly now: () => number = Date.now,
    /** Parses and serializes whole documents; big ones off the event loop (see view-builder.ts). */
    private readonly views = new ViewBuilder(),
  ) {
    super()
  }

  /** What the caches hold now (metrics, tests): entries and approximate bytes, see CACHE_BOUNDS. */
  cacheUse(): { upstream: CacheUse; derived: CacheUse; locals: CacheUse } {
    const use = (cache: { size: number; calculatedSize: number }) => ({ entries: cache.size, bytes: cache.calculatedSize })
    return { upstream: use(this.memory), derived: use(this.derived), locals: use(this.locals) }
  }

  /** The (first) uplink that serves `name`, or null when its rule proxies nowhere. */
  uplinkFor(name: string): string | null {
    return this.uplinksFor(name)[0] ?? null
  }

  /** Every uplink that serves `name`, in the rule's order (the first wins a version several have). */
  uplinksFor(name: string): string[] {
    return this.rules.match(name)?.proxy ?? []
  }

  /**
   * The packument to serve for `name`. `fresh` (npm's `?write=true`) skips `maxage` and asks
   * the uplink. Throws a 404 when neither this registry nor the uplink has the package.
   */
  async get(name: string, options: { fresh?: boolean } = {}): Promise<PackumentAnswer> {
    const local = await this.local(name)
    if (local && isTombstone(local.doc)) throw new SinopiaError('ENOTFOUND', `package ${printable(name)} not found (unpublished here)`)
    const uplinks = local?.doc.origin === 'local-only' ? [] : this.uplinksFor(name)
    const [uplink] = uplinks
    const fresh = options.fresh ?? false
    const up: UpstreamAnswer =
      uplinks.length > 1
        ? await this.fromUplinks(name, uplinks, fresh)
        : uplink
          ? await this.fromUplink(name, uplink, fresh)
          : local?.doc.origin === 'local-only'
            ? { entry: null, cache: 'local', offline: false }
            : await this.withoutUplink(name)
    if (!local) {
      // Over a size limit: that package's problem, not the uplink's health; say which limit.
      if (!up.entry && up.cause?.code === 'ETOOLARGE') throw up.cause
      if (!up.entry && up.offline && uplink) {
        const down = up.down ?? [uplink]
        const which = down.length === 1 ? `uplink ${down.join('')}` : `uplinks ${down.join(', ')}`
        // Not "not found": npm would report a package that exists as missing from the registry.
        throw new SinopiaError('EUPLINKDOWN', `package ${printable(name)} is not in the store, and ${which} ${down.length === 1 ? 'is' : 'are'} unavailable; try again later`, {
          retryAfter: Math.min(...down.map((u) => this.upstream.retryAfter(u))),
          ...(up.cause ? { cause: up.cause } : {}),
        })
      }
      if (!up.entry) throw new SinopiaError('ENOTFOUND', `package ${printable(name)} not found`)
      if (!up.offline) return { view: up.entry.view, cache: up.cache, offline: false }
    }
    const view = await this.derivedView(name, up.entry, local, up.offline, up.down)
    return { view, cache: local && !up.offline ? (up.entry ? up.cache : 'local') : up.cache, offline: up.offline }
  }

  /** The view held in memory or the store, without asking the uplink (tarball requests). */
  async current(name: string): Promise<PackageView | null> {
    const local = await this.local(name)
    if (local && isTombstone(local.doc)) return null
    const entry = local?.doc.origin === 'local-only' ? null : await this.cached(name)
    if (!local) return entry?.view ?? null
    return this.derivedView(name, entry, local, false)
  }

  /**
   * One version's manifest as served, by version, dist-tag or range (`GET /:name/:spec`); null
   * when none matches. Offline, only versions whose tarballs are stored (those of `view`).
   */
  async manifest(name: string, spec: string, view: PackageView, offline: boolean): Promise<Manifest | null> {
    const local = await this.local(name)
    if (local && isTombstone(local.doc)) return null
    const { upstream, size } = await this.storedInput(name, local?.doc.origin === 'local-only')
    const available = offline ? [...view.versions.keys()] : null
    return this.views.run('manifest', { name, spec, upstream, local: local?.doc ?? null, available }, size, [upstream?.raw])
  }

  /** The merged document as served (cold paths: writes, bundles, mirror). */
  async document(name: string): Promise<Packument | null> {
    const local = await this.local(name)
    if (local && isTombstone(local.doc)) return null
    const upstream = local?.doc.origin === 'local-only' ? null : ((await this.store.packages.readUpstream(name))?.record.doc ?? null)
    if (!local && !upstream) return null
    return mergePackument(name, upstream, local?.doc ?? null)
  }

  /**
   * The search index's summary of the package as served, from the files as they are now (a
   * local.json read afresh: another process may have just published). Null when there is none.
   */
  async summary(name: string): Promise<PackageSummary | null> {
    const local = await this.local(name, true)
    if (local && isTombstone(local.doc)) return null
    const { upstream, size } = await this.storedInput(name, local?.doc.origin === 'local-only')
    if (!local && !upstream) return null
    const fields = await this.views.run('summary', { name, upstream, local: local?.doc ?? null }, size, [upstream?.raw])
    return fields && withText(fields)
  }

  /**
   * What was published here, as of this call: every read checks local.json's stamp (one
   * synchronous stat, see PackageStore.localStamp), so a write another process acknowledged
   * is seen by the next read here. The file is parsed again only when the stamp changed.
   */
  async local(name: string, force = false): Promise<CachedLocal | null> {
    const stamp = this.store.packages.localStamp(name)
    // Only packages with something published here are kept: a cached package costs no memory.
    if (stamp === null) {
      this.locals.delete(name)
      return null
    }
    const known = this.locals.get(name)
    if (!force && known?.stamp === stamp) return known
    // Keyed by the stamp too: a read started before that file was in place is not joined.
    const loaded = await this.localReads.run(`${name}\u0000${stamp}`, () => this.store.packages.readLocal(name))
    if (!loaded) {
      this.locals.delete(name)
      return null
    }
    const entry = { doc: loaded.doc, stamp: loaded.stamp }
    this.locals.set(name, entry)
    return entry
  }

  /**
   * A new uplink copy was stored: 'changed' carries its search summary when nothing is published
   * here under the name (one stat), so the index does not read and parse the document again on
   * the fill's heels (its feed pass, up to 30 s later, still reads what the feed names). Called
   * under the package's lock, right after the write: another process's later write of the same
   * package is announced after this, so a summary of an older copy never has the last word.
   */
  private changedFromUplink(name: string, summary: SummaryFields | null): void {
    this.emit('changed', name, this.store.packages.localStamp(name) === null ? summary : undefined)
  }

  /** Called after this process changed a package's local file: the next read sees it. */
  forget(name: string): void {
    this.locals.delete(name)
    this.derived.delete(name)
    this.emit('changed', name)
  }

  /**
   * Another process or host changed what the store keeps of `name` (null: of any package, or
   * maybe): what this one holds of it is read again on the next request, and indexes hear of it.
   */
  changedElsewhere(name: string | null): void {
    if (name !== null) {
      this.dropMemory(name)
      this.forget(name)
      return
    }
    this.memory.clear()
    this.derived.clear()
    this.locals.clear()
  }

  /** Removes the cached uplink copy of a package (never what was published here). */
  async discardUpstream(name: string): Promise<void> {
    await this.store.packages.withLock(name, () => this.store.packages.removeUpstream(name))
    await this.store.packages.removeIfEmpty(name)
    this.dropMemory(name)
    this.forget(name)
  }

  private dropMemory(name: string): void {
    this.memory.delete(name)
  }

  /**
   * A view that is not the uplink's copy as it is: merged with local versions, or offline. With
   * several uplinks, `down` names those offline: the versions of the others are all served.
   */
  private async derivedView(name: string, entry: CachedUpstream | null, local: CachedLocal | null, offline: boolean, down?: string[]): Promise<PackageView> {
    const cut = offline ? (down ? `.offline:${down.join(',')}` : '.offline') : ''
    const key = `${entry?.view.rev ?? '-'}.${local ? `${local.doc.revision}:${local.stamp}` : '-'}${cut}`
    const at = this.now()
    const memo = this.derived.get(name)
    if (memo && memo.key === key && (!offline || at - memo.at < DERIVED_TTL)) return memo.view
    const { upstream, size } = await this.storedInput(name, !entry)
    let available: string[] | null = null
    if (offline) {
      // Every version either side has; merging only drops some, so none is missed.
      const versions = new Set([...(entry?.view.versions.keys() ?? []), ...Object.keys(local?.doc.versions ?? {})])
      const found = await Promise.all(
        [...versions].map(async (version) => {
          const upstream = entry?.view.versions.get(version)
          if (down && upstream?.uplink && !down.includes(upstream.uplink) && !local?.doc.versions[version]) return version
          const expected = upstream?.expected ?? undefined
          const integrity = local?.doc.versions[version]?.dist?.integrity ?? expected
          return (await this.store.blobs.has(integrity, tarballKey(name, version))) ? version : null
        }),
      )
      available = found.filter((v): v is string => v !== null)
    }
    const input = { name, key, upstream, local: local?.doc ?? null, available, uplinks: this.uplinkUrls() }
    const data = await this.views.run('derived', input, size, [upstream?.raw])
    const view = viewOf(name, data)
    this.derived.set(name, { key, view, at })
    return view
  }

  private async fromUplink(name: string, uplink: string, fresh: boolean): Promise<UpstreamAnswer> {
    const cached = await this.cached(name)
    if (cached && !fresh && this.freshFrom(uplink, cached.fetchedAt)) {
      return { entry: cached, cache: 'hit', offline: false }
    }
    if (!this.upstream.available(uplink)) return { entry: await this.reloadIfChanged(name, cached), cache: 'offline', offline: true }
    try {
      const answer = await this.revalidations.run(name, () => this.inTurn(name, [uplink], () => this.revalidate(name, uplink, cached, fresh)))
      return { ...answer, offline: false }
    } catch (error) {
      if (isUplinkFailure(error)) return { entry: cached, cache: 'offline', offline: true, cause: error }
      throw error
    }
  }

  /**
   * A rule with several uplinks: each is revalidated on its own (maxage, breaker, validators), and
   * one that is down leaves the others serving, its own versions from the store (see derivedView).
   */
  private async fromUplinks(name: string, uplinks: string[], fresh: boolean): Promise<UpstreamAnswer> {
    const cached = await this.cached(name)
    const due = this.due(cached, uplinks, fresh)
    if (cached && due.length === 0) return { entry: cached, cache: 'hit', offline: false }
    if (due.every((uplink) => !this.upstream.available(uplink))) {
      return { entry: await this.reloadIfChanged(name, cached), cache: 'offline', offline: true, down: due }
    }
    return this.severalRevalidations.run(name, () => this.inTurn(name, due, () => this.revalidateSeveral(name, uplinks, cached, fresh)))
  }

  /**
   * Runs a revalidation as the only one of `name` across processes where the store can arrange
   * it (Packages.withFetchTurn): another instance fetching the same package first stores its
   * copy, which the revalidation then finds fresh in the store. It waits at most the slowest
   * asked uplink's `timeout`, then asks the uplink itself.
   */
  private inTurn<T>(name: string, uplinks: string[], fn: () => Promise<T>): Promise<T> {
    const waitMs = Math.max(0, ...uplinks.map((uplink) => this.upstream.config(uplink).timeout))
    return this.store.packages.withFetchTurn(name, waitMs, fn)
  }

  /** The uplinks to ask: all of them when `fresh` or nothing is cached, else those past their maxage or whose breaker is open. */
  private due(cached: CachedUpstream | null, uplinks: string[], fresh: boolean): string[] {
    if (fresh || !cached) return uplinks
    return uplinks.filter((uplink) => !this.freshFrom(uplink, cached.fetchedBy?.[uplink] ?? 0))
  }

  /** A copy `uplink` gave at `at` is served as it is: within the uplink's maxage, and its breaker closed. */
  private freshFrom(uplink: string, at: number): boolean {
    return this.now() - at < this.upstream.config(uplink).maxage && this.upstream.available(uplink)
  }

  private async revalidateSeveral(name: string, uplinks: string[], cached: CachedUpstream | null, fresh: boolean): Promise<UpstreamAnswer> {
    const before = cached
    cached = await this.storedNow(name, cached)
    if (cached && !fresh) {
      const times = (await this.store.packages.readFetched(name))?.uplinks ?? {}
      for (const [uplink, at] of Object.entries(times)) {
        if (at > (cached.fetchedBy?.[uplink] ?? 0)) cached.fetchedBy = { ...cached.fetchedBy, [uplink]: at }
      }
    }
    const due = this.due(cached, uplinks, fresh)
    if (cached && due.length === 0) return { entry: cached, cache: 'hit', offline: false }
    const asked = due.filter((uplink) => this.upstream.available(uplink))
    const answers = await Promise.all(asked.map((uplink) => this.ask(name, uplink, cached)))
    const held = new Set(cached ? (cached.parts?.map((p) => p.uplink) ?? [cached.uplink]) : [])
    const now = this.now()
    const settled = settle(answers, due.filter((u) => !asked.includes(u)), { held, times: cached?.fetchedBy ?? {}, hadRecord: cached !== null }, now)
    const offline = settled.down.length > 0
    const down = uplinks.filter((uplink) => settled.down.includes(uplink))
    const failure = { offline, ...(offline ? { down } : {}), ...(settled.cause ? { cause: settled.cause } : {}) }
    if (settled.cache === 'offline') return { entry: cached ?? before, cache: 'offline', ...failure }
    const fetched = { uplink: uplinks[0] ?? '', fetchedAt: now, uplinks: settled.times }
    const fresher = Object.values(settled.parts)
    if (fresher.length === 0) {
      // Nothing new (304s, or 404s from uplinks that never had it): only the answer times move.
      if (!cached) return { entry: null, cache: settled.cache, ...failure }
      await this.store.packages.withLock(name, () => this.store.packages.writeFetched(name, fetched))
      cached.fetchedAt = now
      cached.fetchedBy = settled.times
      return { entry: cached, cache: settled.cache, ...failure }
    }
    // Read, merge and write under the package's lock: another process may be storing another
    // uplink's answer for the same package, and a merge with a copy read before it would drop it.
    const { written, data } = await this.store.packages.withLock(name, async () => {
      const { upstream: stored, size } = await this.storedInput(name, !cached)
      const input = { name, order: uplinks, answers: settled.parts, stored, uplinks: this.uplinkUrls() }
      const merged = await this.views.run('fromUplinks', input, size + fresher.reduce((sum, part) => sum + part.length, 0), [stored?.raw, ...fresher])
      const record = merged.record
      const done = await this.store.packages.writeUpstreamBytes(name, Buffer.from(record.buffer, record.byteOffset, record.byteLength))
      await this.store.packages.writeFetched(name, fetched)
      this.changedFromUplink(name, merged.summary)
      return { written: done, data: merged.data }
    })
    const entry = this.remember(name, data, written.mtimeMs, now, settled.times)
    return { entry, cache: settled.cache, ...failure }
  }

  /** One uplink's answer for `name`, conditional on its part of the cached record; its failures are an answer too. */
  private async ask(name: string, uplink: string, cached: CachedUpstream | null): Promise<UplinkAnswer> {
    const own = cached?.parts ? cached.parts.find((p) => p.uplink === uplink) : cached?.uplink === uplink ? cached : undefined
    const conditional = own ? { etag: own.etag, lastModified: own.lastModified } : {}
    try {
      const result = await this.upstream.packument(uplink, name, conditional, (body, headers) =>
        this.views.run('checkUplink', { body, name, uplink, upstreamUrl: this.upstream.config(uplink).url, ...headers }, body.length, [body]),
      )
      if (result.status === 'ok') return { uplink, status: 'ok', part: result.value }
      if (result.status === 'not-modified' && !own) {
        throw new SinopiaError('EUPLINK', `uplink ${uplink} answered 304 to an unconditional request for ${printable(name)}`)
      }
      return { uplink, status: result.status }
    } catch (error) {
      if (isUplinkFailure(error)) return { uplink, status: 'failed', error }
      throw error
    }
  }

  /**
   * A name whose rule proxies nowhere (a registry with no uplink): a copy `bundle import` put in the
   * store is served, as offline (only versions whose tarballs are stored). A copy fetched from a
   * real uplink is not: a rule without proxy means that uplink is not to be used for the name.
   */
  private async withoutUplink(name: string): Promise<UpstreamAnswer> {
    const entry = await this.reloadIfChanged(name, await this.cached(name))
    return entry?.uplink === BUNDLE_UPLINK ? { entry, cache: 'offline', offline: true } : { entry: null, cache: 'local', offline: false }
  }

  /**
   * The stored copy again when another process (`bundle import`) rewrote it: with no uplink to
   * revalidate against, nothing else would make this process notice. One stat, on offline paths only.
   */
  private async reloadIfChanged(name: string, cached: CachedUpstream | null): Promise<CachedUpstream | null> {
    if (!cached) return cached
    const mtime = await this.store.packages.upstreamMtime(name)
    if (mtime === null || mtime === cached.mtimeMs) return cached
    return (await this.load(name, cached.fetchedAt, cached.fetchedBy)) ?? cached
  }

  private async cached(name: string): Promise<CachedUpstream | null> {
    const inMemory = this.memory.get(name)
    if (inMemory) return inMemory
    return this.loads.run(name, async () => {
      const stored = await this.store.packages.readUpstreamBytes(name)
      if (!stored) return null
      const fetched = await this.store.packages.readFetched(name)
      return this.fromStored(name, stored, fetched?.fetchedAt ?? 0, fetched?.uplinks)
    })
  }

  private async revalidate(
    name: string,
    uplink: string,
    cached: CachedUpstream | null,
    fresh: boolean,
  ): Promise<{ entry: CachedUpstream | null; cache: CacheStatus }> {
    cached = await this.storedNow(name, cached)
    if (cached && !fresh) {
      const fetched = await this.store.packages.readFetched(name)
      if (fetched && fetched.fetchedAt > cached.fetchedAt) cached.fetchedAt = fetched.fetchedAt
      if (this.now() - cached.fetchedAt < this.upstream.config(uplink).maxage) return { entry: cached, cache: 'hit' }
    }
    const conditional = cached && cached.uplink === uplink ? { etag: cached.etag, lastModified: cached.lastModified } : {}
    const result = await this.upstream.packument(uplink, name, conditional, (body, headers) =>
      this.views.run('fromUplink', { body, name, uplink, upstreamUrl: this.upstream.config(uplink).url, ...headers, uplinks: this.uplinkUrls() }, body.length, [body]),
    )
    const fetchedAt = this.now()
    if (result.status === 'not-found') {
      // An uplink that forgot a package does not make us forget it; a 404 is not cached either.
      return { entry: cached, cache: 'stale' }
    }
    if (result.status === 'not-modified' && cached) {
      await this.store.packages.withLock(name, () => this.store.packages.writeFetched(name, { uplink, fetchedAt }))
      cached.fetchedAt = fetchedAt
      return { entry: cached, cache: 'revalidated' }
    }
    if (result.status !== 'ok') {
      throw new SinopiaError('EUPLINK', `uplink ${uplink} answered 304 to an unconditional request for ${printable(name)}`)
    }
    const { record, data, summary } = result.value
    // Let go of the record's bytes once written (`result` lives on while the view is made): a
    // 10 MB document's record would otherwise stay in memory beside its view until then.
    result.value.record = EMPTY
    const written = await this.store.packages.withLock(name, async () => {
      const done = await this.store.packages.writeUpstreamBytes(name, Buffer.from(record.buffer, record.byteOffset, record.byteLength))
      await this.store.packages.writeFetched(name, { uplink, fetchedAt })
      this.changedFromUplink(name, summary)
      return done
    })
    // The rev is the content hash of the bytes written, as a later read of them computes it.
    const entry = this.remember(name, data, written.mtimeMs, fetchedAt)
    return { entry, cache: cached ? 'revalidated' : 'miss' }
  }

  /**
   * The cached copy as the store has it now: another process (a second `serve`, a `mirror`) may
   * have refreshed it meanwhile, or `prune` removed it (then it is fetched whole: a 304 would
   * leave nothing on disk).
   */
  private async storedNow(name: string, cached: CachedUpstream | null): Promise<CachedUpstream | null> {
    const mtime = await this.store.packages.upstreamMtime(name)
    if (mtime !== null && mtime !== cached?.mtimeMs) return (await this.load(name, cached?.fetchedAt ?? 0, cached?.fetchedBy)) ?? cached
    if (mtime === null && cached) {
      this.dropMemory(name)
      return null
    }
    return cached
  }

  /** The stored copy read again (another process rewrote it), or null when there is none now. */
  private async load(name: string, fetchedAt: number, fetchedBy?: Record<string, number>): Promise<CachedUpstream | null> {
    const stored = await this.store.packages.readUpstreamBytes(name)
    return stored ? this.fromStored(name, stored, fetchedAt, fetchedBy) : null
  }

  private async fromStored(name: string, stored: StoredBytes, fetchedAt: number, fetchedBy?: Record<string, number>): Promise<CachedUpstream> {
    const input = { raw: stored.raw, where: stored.where, name, rev: stored.rev, uplinks: this.uplinkUrls() }
    return this.remember(name, await this.views.run('fromStored', input, stored.raw.length, [stored.raw]), stored.mtimeMs, fetchedAt, fetchedBy)
  }

  /**
   * The stored uplink copy as a view task's input (read undecoded: a big one is parsed in the
   * worker), and its size, which decides where the task runs. Nothing when `skip` (a local-only name).
   */
  private async storedInput(name: string, skip: boolean): Promise<{ upstream: StoredInput | null; size: number }> {
    const stored = skip ? null : await this.store.packages.readUpstreamBytes(name)
    return { upstream: stored ? { raw: stored.raw, where: stored.where } : null, size: stored?.raw.length ?? 0 }
  }

  /** Where each configured uplink's tarballs come from (the view tasks re-base recorded URLs onto it). */
  private uplinkUrls(): Record<string, UplinkUrls> {
    const urls: Record<string, UplinkUrls> = {}
    for (const config of this.upstream.configs()) urls[config.name] = { url: config.url, tarballOrigins: config.tarballOrigins }
    return urls
  }

  private remember(name: string, data: UpstreamData, mtimeMs: number, fetchedAt: number, fetchedBy?: Record<string, number>): CachedUpstream {
    const view = viewOf(name, data.view)
    const entry: CachedUpstream = {
      view,
      uplink: data.uplink,
      ...(data.etag ? { etag: data.etag } : {}),
      ...(data.lastModified ? { lastModified: data.lastModified } : {}),
      ...(data.parts ? { parts: data.parts } : {}),
      mtimeMs,
      fetchedAt,
      ...(fetchedBy ? { fetchedBy } : {}),
    }
    this.memory.set(name, entry)
    return entry
  }
}

/** An uplink that could not give an answer: the package is served from the store meanwhile. */
function isUplinkFailure(error: unknown): error is SinopiaError {
  return error instanceof SinopiaError && (error.code === 'EUPLINK' || error.code === 'EUPLINKDOWN' || error.code === 'ETOOLARGE')
}

/** What a view costs in memory, roughly: its two serialized documents and its version table. */
function viewBytes(view: PackageView): number {
  return view.full.length + view.abbreviated.length + view.versions.bytes
}

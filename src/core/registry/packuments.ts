import type { Config } from '../config/types.js'
import { SinopiaError, notFound } from '../errors.js'
import { tarballKey, type LoadedUpstream, type Packument, type Store, type UpstreamRecord } from '../store/index.js'
import type { UpstreamClient } from '../upstream/client.js'
import { SingleFlight } from '../upstream/single-flight.js'
import { printable, tarballPath } from './names.js'
import { checkUpstreamPackument, offlinePackument } from './packument.js'
import type { PackageRules } from './rules.js'
import { buildView, type PackageView } from './view.js'

/** How a packument answer came about; the request log prints it. */
export type CacheStatus = 'hit' | 'miss' | 'revalidated' | 'stale' | 'offline'

export interface PackumentAnswer {
  view: PackageView
  cache: CacheStatus
  /** True when the uplink could not be asked: the view advertises only stored tarballs. */
  offline: boolean
}

interface CachedPackage {
  view: PackageView
  uplink: string
  etag?: string
  lastModified?: string
  mtimeMs: number
  fetchedAt: number
  bytes: number
  /** The offline view of this revision, recomputed at most every OFFLINE_VIEW_TTL ms. */
  offline?: { view: PackageView; at: number }
}

/** Bound on the parsed-and-serialized packages kept in memory (approximate bytes of JSON). */
const MEMORY_BUDGET = 256 * 1024 * 1024
const OFFLINE_VIEW_TTL = 5_000

/**
 * The cached upstream packuments: memory first, then the store, then the uplink, with
 * `maxage` freshness, conditional revalidation and one uplink request per package at a time.
 */
export class Packuments {
  private readonly memory = new Map<string, CachedPackage>()
  private memoryBytes = 0
  private readonly revalidations = new SingleFlight<{ entry: CachedPackage | null; cache: CacheStatus }>()
  private readonly loads = new SingleFlight<CachedPackage | null>()

  constructor(
    private readonly config: Config,
    private readonly store: Store,
    private readonly upstream: UpstreamClient,
    private readonly rules: PackageRules,
    private readonly now: () => number = Date.now,
  ) {}

  /** The uplink that serves `name`, or null when its rule proxies nowhere. */
  uplinkFor(name: string): string | null {
    return this.rules.match(name)?.proxy[0] ?? null
  }

  /**
   * The packument to serve for `name`. `fresh` (npm's `?write=true`) skips `maxage` and asks
   * the uplink. Throws a 404 when neither the store nor the uplink has the package.
   */
  async get(name: string, options: { fresh?: boolean } = {}): Promise<PackumentAnswer> {
    const uplink = this.uplinkFor(name)
    if (!uplink) throw notFound(`package ${printable(name)} not found`)
    const cached = await this.cached(name)
    const maxage = this.upstream.config(uplink).maxage
    if (cached && !options.fresh && this.now() - cached.fetchedAt < maxage && this.upstream.available(uplink)) {
      return { view: cached.view, cache: 'hit', offline: false }
    }
    if (!this.upstream.available(uplink)) return this.offline(name, cached)
    let answer: { entry: CachedPackage | null; cache: CacheStatus }
    try {
      const before = cached
      answer = await this.revalidations.run(name, () => this.revalidate(name, uplink, before, options.fresh ?? false))
    } catch (error) {
      if (error instanceof SinopiaError && error.code === 'EUPLINK') return this.offline(name, cached, error)
      throw error
    }
    if (!answer.entry) throw notFound(`package ${printable(name)} not found`)
    return { view: answer.entry.view, cache: answer.cache, offline: false }
  }

  /** The view held in memory or the store, without asking the uplink (tarball requests). */
  async current(name: string): Promise<PackageView | null> {
    return (await this.cached(name))?.view ?? null
  }

  /** The parsed stored document (cold paths: single manifests, offline views). */
  async document(name: string): Promise<Packument | null> {
    return (await this.store.packages.readUpstream(name))?.record.doc ?? null
  }

  private async offline(name: string, cached: CachedPackage | null, cause?: SinopiaError): Promise<PackumentAnswer> {
    if (!cached) {
      throw new SinopiaError('ENOTFOUND', `package ${printable(name)} is not in the store and its uplink is unavailable`, {
        status: 404,
        cause,
      })
    }
    const at = this.now()
    if (!cached.offline || at - cached.offline.at > OFFLINE_VIEW_TTL) {
      const doc = await this.document(name)
      if (!doc) throw notFound(`package ${printable(name)} not found`)
      const available = new Set<string>()
      await Promise.all(
        [...cached.view.versions.values()].map(async (entry) => {
          if (await this.store.blobs.has(entry.expected ?? undefined, tarballKey(name, entry.version))) available.add(entry.version)
        }),
      )
      const view = buildView(name, `${cached.view.rev}-offline`, offlinePackument(doc, available), (_url, version) => {
        return cached.view.versions.get(version)?.upstreamUrl ?? ''
      })
      cached.offline = { view, at }
    }
    return { view: cached.offline.view, cache: 'offline', offline: true }
  }

  private async cached(name: string): Promise<CachedPackage | null> {
    const inMemory = this.memory.get(name)
    if (inMemory) {
      // Refresh recency for the LRU order.
      this.memory.delete(name)
      this.memory.set(name, inMemory)
      return inMemory
    }
    return this.loads.run(name, async () => {
      const loaded = await this.store.packages.readUpstream(name)
      if (!loaded) return null
      const fetched = await this.store.packages.readFetched(name)
      return this.remember(name, loaded, fetched?.fetchedAt ?? 0)
    })
  }

  private async revalidate(
    name: string,
    uplink: string,
    cached: CachedPackage | null,
    fresh: boolean,
  ): Promise<{ entry: CachedPackage | null; cache: CacheStatus }> {
    // Another process (a second `serve`, a `mirror`) may have refreshed the store meanwhile.
    const mtime = await this.store.packages.upstreamMtime(name)
    if (mtime !== null && mtime !== cached?.mtimeMs) {
      const loaded = await this.store.packages.readUpstream(name)
      if (loaded) cached = this.remember(name, loaded, cached?.fetchedAt ?? 0)
    }
    if (cached && !fresh) {
      const fetched = await this.store.packages.readFetched(name)
      if (fetched && fetched.fetchedAt > cached.fetchedAt) cached.fetchedAt = fetched.fetchedAt
      if (this.now() - cached.fetchedAt < this.upstream.config(uplink).maxage) return { entry: cached, cache: 'hit' }
    }
    const conditional = cached && cached.uplink === uplink ? { etag: cached.etag, lastModified: cached.lastModified } : {}
    const result = await this.upstream.packument(uplink, name, conditional)
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
      throw new SinopiaError('EUPLINK', `uplink ${uplink} answered 304 to an unconditional request for ${printable(name)}`, { status: 502 })
    }
    const record: UpstreamRecord = {
      uplink,
      upstreamUrl: this.upstream.config(uplink).url,
      ...(result.etag ? { etag: result.etag } : {}),
      ...(result.lastModified ? { lastModified: result.lastModified } : {}),
      doc: checkUpstreamPackument(result.doc, name, uplink),
    }
    const loaded = await this.store.packages.withLock(name, async () => {
      await this.store.packages.writeUpstream(name, record)
      await this.store.packages.writeFetched(name, { uplink, fetchedAt })
      return this.store.packages.readUpstream(name)
    })
    if (!loaded) throw new SinopiaError('ESTORAGE', `packument of ${printable(name)} vanished while being written`)
    return { entry: this.remember(name, loaded, fetchedAt), cache: cached ? 'revalidated' : 'miss' }
  }

  private remember(name: string, loaded: LoadedUpstream, fetchedAt: number): CachedPackage {
    const { record } = loaded
    const current = this.upstream.has(record.uplink) ? this.upstream.config(record.uplink).url : record.upstreamUrl
    const view = buildView(name, loaded.rev, record.doc, (url, version) => {
      // Tarballs the uplink served from its own URL are fetched from the uplink's current URL.
      if (url && url.startsWith(record.upstreamUrl)) return current + url.slice(record.upstreamUrl.length)
      if (url && /^https?:\/\//.test(url)) return url
      return current + tarballPath(name, version)
    })
    const entry: CachedPackage = {
      view,
      uplink: record.uplink,
      ...(record.etag ? { etag: record.etag } : {}),
      ...(record.lastModified ? { lastModified: record.lastModified } : {}),
      mtimeMs: loaded.mtimeMs,
      fetchedAt,
      bytes: view.full.length + view.abbreviated.length,
    }
    const previous = this.memory.get(name)
    if (previous) this.memoryBytes -= previous.bytes
    this.memory.delete(name)
    this.memory.set(name, entry)
    this.memoryBytes += entry.bytes
    for (const [key, old] of this.memory) {
      if (this.memoryBytes <= MEMORY_BUDGET || key === name) break
      this.memory.delete(key)
      this.memoryBytes -= old.bytes
    }
    return entry
  }
}

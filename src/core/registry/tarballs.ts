import { SinopiaError, notFound } from '../errors.js'
import { tarballKey, tarballSpec, type OpenBlob, type Store } from '../store/index.js'
import type { UpstreamClient } from '../upstream/client.js'
import { Download, pump } from './download.js'
import ssri from 'ssri'
import { HotBlobs } from './hot-blobs.js'
import { printable, tarballFile } from './names.js'
import type { Packuments } from './packuments.js'

export type TarballAnswer =
  | { kind: 'bytes'; bytes: Buffer; etag: string; version: string; cache: 'hit' }
  | { kind: 'blob'; blob: OpenBlob; version: string; cache: 'hit' }
  | { kind: 'download'; download: Download; version: string; cache: 'miss' }

/**
 * Tarballs: from the store when it has them, else one shared download from the uplink
 * (however many clients ask at once) that is verified while it streams.
 */
export class Tarballs {
  private readonly downloads = new Map<string, Promise<Download>>()
  private readonly hot = new HotBlobs()
  /** Called with the blob key each time a stored tarball is opened (usage tracking; must be cheap). */
  onUse: ((key: string) => void) | null = null

  constructor(
    private readonly store: Store,
    private readonly upstream: UpstreamClient,
    private readonly packuments: Packuments,
  ) {}

  /**
   * Makes sure the store holds name@version's tarball (lock-sync, mirror), through the same
   * shared, verified download path that serving uses. `required` (a lockfile's integrity)
   * must agree with the packument's and with the bytes; a mismatch is an EINTEGRITY error
   * that names both digests, and nothing is stored for it.
   */
  async ensure(name: string, version: string, required?: string): Promise<{ status: 'present' | 'fetched'; size: number }> {
    let view = await this.packuments.current(name)
    const cachedBefore = view !== null
    if (!view?.versions.has(version)) view = (await this.packuments.get(name, { fresh: view !== null })).view
    const entry = view.versions.get(version)
    if (!entry) throw notFound(`${printable(name)}@${printable(version)} not found`, 'ETARGET')
    // Whether the lockfile's digest shares an algorithm with the packument's, and agrees in it.
    const agrees = required && entry.expected ? Boolean(ssri.parse(required).match(entry.expected)) : false
    if (required && entry.expected && !agrees && ssri.parse(entry.expected)[ssri.parse(required).pickAlgorithm()]) {
      // A lockfile that disagrees with the registry leaves no trace of the package it asked for.
      if (!cachedBefore) await this.packuments.discardUpstream(name)
      throw mismatch(name, version, required, entry.expected)
    }
    const answer = await this.open(name, tarballFile(name, version))
    let status: 'present' | 'fetched' = 'present'
    if (answer.kind === 'blob') await answer.blob.handle.close()
    else if (answer.kind === 'download') {
      status = 'fetched'
      await finished(answer.download)
    }
    const blob = await this.store.blobs.open(entry.expected ?? undefined, tarballKey(name, version))
    if (!blob) throw notFound(`${printable(name)}@${printable(version)} was not stored`, 'ENOTCACHED')
    await blob.handle.close()
    // Bytes just downloaded were hashed against the packument's digest as they streamed; when the
    // lockfile's agrees with it there is nothing left to check. Otherwise (a stored blob, or a
    // lockfile digest in an algorithm the packument does not carry) the bytes are hashed again.
    if (required && !(status === 'fetched' && agrees) && (await this.store.blobs.verify(blob.integrity, required)) !== 'ok') {
      throw mismatch(name, version, required, blob.integrity)
    }
    return { status, size: blob.size }
  }

  /** `joinLate`: may wait for a running download too big to replay (once; see Download). */
  async open(name: string, file: string, joinLate = true): Promise<TarballAnswer> {
    let view = await this.packuments.current(name)
    let version = view?.versions.byFile(file)
    if (!version) {
      // Not seen yet (a lockfile install asks for tarballs before any packument): ask the uplink.
      view = (await this.packuments.get(name, { fresh: view !== null })).view
      version = view.versions.byFile(file)
    }
    const entry = version ? view?.versions.get(version) : undefined
    if (!version || !entry) throw notFound(`tarball ${printable(file)} of ${printable(name)} not found`)
    const key = tarballKey(name, version)
    const expected = entry.expected
    // Keyed by name@version too: bytes are served only under the name they were stored for.
    const hotKey = expected ? `${key} ${expected}` : ''
    const hot = expected ? this.hot.get(hotKey) : undefined
    if (hot && expected) {
      this.onUse?.(key)
      return { kind: 'bytes', bytes: hot, etag: etagOf(expected), version, cache: 'hit' }
    }
    const blob = await this.store.blobs.open(expected ?? undefined, key)
    if (blob) {
      if (!expected || blob.size > this.hot.maxEntryBytes) {
        this.onUse?.(key)
        return { kind: 'blob', blob, version, cache: 'hit' }
      }
      const bytes = Buffer.allocUnsafe(blob.size)
      try {
        await blob.handle.read(bytes, 0, blob.size, 0)
      } finally {
        await blob.handle.close()
      }
      // Checked again on the way into memory: bytes that rotted on disk are never served from here.
      if (ssri.checkData(bytes, expected)) {
        this.onUse?.(key)
        this.hot.set(hotKey, bytes)
        return { kind: 'bytes', bytes, etag: etagOf(expected), version, cache: 'hit' }
      }
      // Moved aside; from here on the tarball is missing: fetched again, or a 404 when published here.
      await this.store.blobs.quarantine(blob.integrity)
    }

    if (entry.upstreamUrl === null) {
      // Published here: its bytes exist only in this store, and no uplink is ever asked for them.
      throw new SinopiaError('ENOTCACHED', `tarball ${printable(file)} is missing from the store`, {
        hint: 'run `sinopia-cli verify`: a damaged tarball is kept in the quarantine folder',
      })
    }
    const running = this.downloads.get(key)
    if (running) {
      const download = await running
      if (download.replayable) return { kind: 'download', download, version, cache: 'miss' }
      // Too big to have been kept for late joiners: this client gets the stored copy once it is there.
      if (!joinLate) throw new SinopiaError('EBUSY', `tarball ${printable(file)} is being downloaded; try again shortly`, { retryAfter: 1 })
      await finished(download)
      return this.open(name, file, false)
    }
    // With several uplinks, the one whose packument listed the version (while the rule still lists it).
    const uplink = entry.uplink && this.packuments.uplinksFor(name).includes(entry.uplink) ? entry.uplink : this.packuments.uplinkFor(name)
    if (!uplink || !this.upstream.available(uplink)) {
      throw notFound(`tarball ${printable(file)} is not in the store and the uplink is unavailable`, 'ENOTCACHED')
    }
    if (!entry.expected) {
      throw new SinopiaError('EINTEGRITY', `${printable(name)}@${version} has no integrity or shasum to verify its tarball against`, {
      })
    }
    return { kind: 'download', download: await this.startDownload(name, key, uplink, entry.upstreamUrl, entry.expected), version, cache: 'miss' }
  }

  /**
   * A tarball just stored needs its packument in the store too (offline installs, lock-sync
   * read it there). If `prune` in another process dropped it during the download, it is
   * fetched again. Never fails: this is a repair after a response that already went out.
   */
  private async keepPackument(name: string): Promise<void> {
    try {
      if ((await this.store.packages.upstreamMtime(name)) !== null) return
      await this.packuments.get(name, { fresh: true })
    } catch {
      // The next request for the packument fetches it.
    }
  }

  /** Registers the download synchronously, so that requests arriving meanwhile join it. */
  private startDownload(name: string, key: string, uplink: string, url: string, expected: string): Promise<Download> {
    const started = (async () => {
      const { body, size } = await this.upstream.tarball(uplink, url).catch((error: unknown) => {
        // Unreachable uplink: fail at once rather than have clients retry for a minute.
        if (error instanceof SinopiaError && error.code === 'EUPLINKDOWN') {
          throw notFound(`tarball ${printable(tarballSpec(key))} is not in the store and the uplink is unavailable`, 'ENOTCACHED')
        }
        throw error
      })
      const download = new Download(size)
      const store = this.upstream.config(uplink).cache
      void pump(body, download, { blobs: this.store.blobs, key, expected, store })
        .then(() => (store && download.state === 'done' ? this.keepPackument(name) : undefined))
        .finally(() => {
          if (this.downloads.get(key) === started) this.downloads.delete(key)
        })
      return download
    })()
    this.downloads.set(key, started)
    started.catch(() => {
      if (this.downloads.get(key) === started) this.downloads.delete(key)
    })
    return started
  }
}

function mismatch(name: string, version: string, wanted: string, found: string): SinopiaError {
  return new SinopiaError('EINTEGRITY', `${printable(name)}@${printable(version)}: the lockfile wants ${wanted} but the registry has ${found}`, {
  })
}

/** Resolves when a shared download has been verified and stored; rejects when it failed. */
export function finished(download: Download): Promise<void> {
  if (download.state === 'done') return Promise.resolve()
  if (download.failed()) return Promise.reject(download.error)
  return new Promise((resolve, reject) => {
    download.once('end', () => resolve())
    download.once('error', (error: Error) => reject(error))
  })
}

/** A strong ETag for a tarball: its digest, shortened. */
export function etagOf(integrity: string): string {
  return `"${integrity.slice(integrity.indexOf('-') + 1, integrity.indexOf('-') + 28)}"`
}

import { parseTarballKey, type Store } from '../store/index.js'
import { lastUseOf, scanStore } from './inventory.js'

export interface StorageInfo {
  storage: string
  /** Blob content plus package metadata, in bytes. */
  totalBytes: number
  blobs: { count: number; bytes: number }
  metadataBytes: number
  /** local: with versions published here; cached: with an uplink copy. One package can be both. */
  packages: { total: number; local: number; cached: number }
  /** local: published here; cached: uplink versions whose tarball is stored. */
  versions: { local: number; cached: number }
  /** Of stored tarballs, by last serving or fetch (ISO times); null when there are none. */
  use: { oldest: string | null; newest: string | null }
  largest: Array<{ name: string; bytes: number; versions: number }>
}

/** Sizes and counts of a storage folder; `top` is how many of the largest packages to list. */
export async function storageInfo(store: Store, options: { top?: number } = {}): Promise<StorageInfo> {
  // The documents' scan and the totals (one small read) side by side; the index is streamed after.
  const [inventory, { blobs: blobCount, bytes: blobBytes }] = await Promise.all([scanStore(store), store.blobs.totals()])
  let metadataBytes = 0
  let total = 0
  let local = 0
  let cached = 0
  let localVersions = 0
  for (const scan of inventory.packages.values()) {
    metadataBytes += scan.metadataBytes
    // A folder holding only a lock directory is not a package, nor is an unpublished name's tombstone.
    if ((scan.local?.size ?? 0) > 0 || scan.upstream !== null) total++
    if (scan.local && scan.local.size > 0) local++
    if (scan.upstream !== null) cached++
    localVersions += scan.local?.size ?? 0
  }
  let cachedVersions = 0
  let oldest = Infinity
  let newest = -Infinity
  const perPackage = new Map<string, { bytes: number; versions: number; seen: Set<string> }>()
  for await (const entry of store.blobs.eachEntry()) {
    const parsed = parseTarballKey(entry.key)
    if (!parsed) continue
    if (!inventory.packages.get(parsed.name)?.local?.has(parsed.version)) cachedVersions++
    const used = lastUseOf(entry, inventory.usage)
    oldest = Math.min(oldest, used)
    newest = Math.max(newest, used)
    const row = perPackage.get(parsed.name) ?? { bytes: 0, versions: 0, seen: new Set<string>() }
    row.versions++
    // Versions with identical bytes share one file. Told apart by 12 base64 characters of the
    // digest (72 bits): V8 copies a slice that short instead of pointing into the entry's string,
    // so the sets cost ~40 bytes per tarball rather than the whole digest; two tarballs of one
    // package sharing those 72 bits is a chance below 1e-14 even at 5,000 versions.
    const short = entry.integrity.slice('sha512-'.length, 'sha512-'.length + 12)
    if (!row.seen.has(short)) row.bytes += entry.size
    row.seen.add(short)
    perPackage.set(parsed.name, row)
  }
  const largest = [...perPackage]
    .map(([name, row]) => ({ name, bytes: row.bytes, versions: row.versions }))
    .sort((a, b) => b.bytes - a.bytes || (a.name < b.name ? -1 : 1))
    .slice(0, options.top ?? 10)
  return {
    storage: store.root,
    totalBytes: blobBytes + metadataBytes,
    blobs: { count: blobCount, bytes: blobBytes },
    metadataBytes,
    packages: { total, local, cached },
    versions: { local: localVersions, cached: cachedVersions },
    use: {
      oldest: Number.isFinite(oldest) ? new Date(oldest).toISOString() : null,
      newest: Number.isFinite(newest) ? new Date(newest).toISOString() : null,
    },
    largest,
  }
}

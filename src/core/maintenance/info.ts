import { parseTarballKey, tarballKey, type Store } from '../store/index.js'
import { contentId } from './content-id.js'
import { eachScan, lastUseOf, readUsage } from './inventory.js'

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

/** Content ids a package's row keeps joined in one string before it takes a Set. */
const SEEN_JOINED = 32
const ID_LENGTH = contentId(`sha512-${'A'.repeat(86)}==`).length

/** Whether `joined` (ids of ID_LENGTH, end to end) holds `id`: looked for at id boundaries only. */
function hasId(joined: string, id: string): boolean {
  for (let at = joined.indexOf(id); at >= 0; at = joined.indexOf(id, at + 1)) if (at % ID_LENGTH === 0) return true
  return false
}

function idsOf(joined: string): string[] {
  const ids: string[] = []
  for (let at = 0; at < joined.length; at += ID_LENGTH) ids.push(joined.slice(at, at + ID_LENGTH))
  return ids
}

/** Sizes and counts of a storage folder; `top` is how many of the largest packages to list. */
export async function storageInfo(store: Store, options: { top?: number } = {}): Promise<StorageInfo> {
  // The documents' scan, the totals (one small read) and the walk of the index side by side: the
  // walk needs only the usage records, read first. What it counts per package is settled against
  // what was published here once both are done.
  const records = await readUsage(store)
  let tarballs = 0
  let oldest = Infinity
  let newest = -Infinity
  // `seen`: the contents counted for the package, their ids joined in one string until there are
  // SEEN_JOINED of them (a Set of ten 12-character ids costs ~1 KB, the joined string ~150 bytes:
  // 100k packages of ten tarballs held 218 MiB), then a Set.
  const perPackage = new Map<string, { bytes: number; versions: number; seen: string | Set<string> }>()
  const walk = async () => {
    for await (const entry of store.blobs.eachEntry()) {
      const parsed = parseTarballKey(entry.key)
      if (!parsed) continue
      tarballs++
      const used = lastUseOf(entry, records.usage)
      oldest = Math.min(oldest, used)
      newest = Math.max(newest, used)
      // Versions with identical bytes share one file, told apart by contentId: its short slice
      // costs ~40 bytes per tarball in these sets rather than the whole digest.
      const short = contentId(entry.integrity)
      const row = perPackage.get(parsed.name)
      if (!row) {
        perPackage.set(parsed.name, { bytes: entry.size, versions: 1, seen: short })
        continue
      }
      row.versions++
      if (typeof row.seen === 'string') {
        if (hasId(row.seen, short)) continue
        row.bytes += entry.size
        row.seen = row.seen.length < SEEN_JOINED * ID_LENGTH ? row.seen + short : new Set([...idsOf(row.seen), short])
        continue
      }
      if (!row.seen.has(short)) row.bytes += entry.size
      row.seen.add(short)
    }
  }
  // Totals only, package by package: no scan is kept but the versions of those published here.
  let metadataBytes = 0
  let total = 0
  let local = 0
  let cached = 0
  let localVersions = 0
  const published: Array<{ name: string; versions: string[] }> = []
  // Sizes of the uplink documents only: nothing here needs what they say.
  const scan = () =>
    eachScan(store, 'size', (scan) => {
      metadataBytes += scan.metadataBytes
      // A folder holding only a lock directory is not a package, nor is an unpublished name's tombstone.
      if ((scan.local?.size ?? 0) > 0 || scan.upstream) total++
      if (scan.local && scan.local.size > 0) local++
      if (scan.upstream) cached++
      localVersions += scan.local?.size ?? 0
      if (scan.local) published.push({ name: scan.name, versions: [...scan.local.keys()] })
    })
  const [, { blobs: blobCount, bytes: blobBytes }] = await Promise.all([scan(), store.blobs.totals(), walk()])
  // Tarballs of versions published here are not cached ones: those with an entry are looked up,
  // one read each (a store publishes few versions beside the many it caches).
  let localTarballs = 0
  for (const { name, versions } of published) {
    if (!perPackage.has(name)) continue
    for (const version of versions) if (await store.blobs.entry(tarballKey(name, version))) localTarballs++
  }
  const cachedVersions = tarballs - localTarballs
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

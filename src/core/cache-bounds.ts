const MB = 1024 * 1024

/**
 * The bound of every in-memory cache whose entries come from the packages, names or clients a
 * server sees, in one place so the process's worst case can be read off here: the byte budgets
 * add up to 240 MB of cached documents, bodies and tarballs (sizes are approximate: string
 * lengths of JSON, Buffer lengths), plus the counted caches of small entries, plus the replay
 * buffer of each running tarball download (downloadReplayBytes each). A cache past its
 * bound drops its least recently used entries (npm's `lru-cache`), never all of them: a full
 * cache emptied at once would let anyone who fills it on purpose empty it for everybody.
 *
 * Whatever is dropped is built again from the store on the next request; nothing here is the
 * only copy of anything.
 */
export const CACHE_BOUNDS = {
  /** Packuments: the uplinks' copies as served (full and abbreviated JSON, one per package). */
  upstreamViewBytes: 96 * MB,
  /** Packuments: views merged with versions published here, or cut down offline (an outage sends every package through here). */
  derivedViewBytes: 32 * MB,
  /** Packuments: parsed local.json of packages published here (a count: each is one package a publisher made). */
  localDocs: 2_000,
  /** Prepared response bodies: uncompressed and compressed forms together. */
  responseBodyBytes: 64 * MB,
  /** Bytes of each running tarball download kept for clients that join it late (past it they get the stored copy). */
  downloadReplayBytes: 16 * MB,
  /** Small tarballs served from memory (the whole budget) and the largest one kept there. */
  hotTarballBytes: 32 * MB,
  hotTarballMaxEntryBytes: 1 * MB,
  /** Package pages of the web UI: parsed model and rendered README, per package revision. */
  packagePages: 100,
  /** Package names already found valid (at most 214 characters each). */
  validNames: 50_000,
  /** Access rules already matched to a name (uplink search hits bring names from anywhere). */
  ruleMatches: 100_000,
  /** Ranked matches of recent searches, per query and reader (4 bytes a match: ~300 kB for a word in 3 of 4 of 100,000 packages). */
  searchAnswerBytes: 16 * MB,
  /** Name filters, one per set of read rights, the search index remembers answers for (one byte per package each). */
  searchReaders: 64,
  /** People and maintainer lists shared between search summaries (a person is a few dozen bytes). */
  sharedPeople: 20_000,
  /** Blob index entries remembered by the store (a tarball hit then costs no index read; ~200 bytes each). */
  knownBlobEntries: 50_000,
  /** Passwords already checked against their hash (only right ones are kept: one or a few per user). */
  verifiedPasswords: 10_000,
} as const

/**
 * Disk, not memory (no part of rssBound): what a PostgreSQL store's local copy of tarballs
 * (store/pg/blob-cache.ts, `$TMPDIR/sinopia-blob-cache-*`) keeps per instance before it removes the least
 * recently used copies. Sized for the hot set of many projects' installs, and small enough for a
 * /tmp that is a tmpfs (memory). PgStoreOptions.blobCacheBytes sets another.
 */
export const BLOB_DISK_CACHE_BYTES = 1024 * MB

/** What the byte-budgeted caches above may hold together: the part of the process that grows with the packages served. */
export const CACHED_BYTES_BOUND =
  CACHE_BOUNDS.upstreamViewBytes + CACHE_BOUNDS.derivedViewBytes + CACHE_BOUNDS.responseBodyBytes + CACHE_BOUNDS.hotTarballBytes + CACHE_BOUNDS.searchAnswerBytes

/**
 * Over the caches' bytes: the JS heap's garbage not yet collected and the allocator's free lists
 * (the caches' Buffers churn as entries are replaced). Measured: 5,000 packages (227 MB of
 * packuments) served offline grew RSS by 0.99 x the budgets, from 126 MB once started to a
 * 349 MB peak (the bench's --outage mode, which checks this bound).
 */
const RSS_HEADROOM = 1.25

/**
 * The resident memory a server stays under whatever it serves: what it took once started
 * (`startedRss`: code, config, the first requests' work) plus its full caches plus the replay
 * buffer of each running tarball download, with RSS_HEADROOM for garbage and the allocator.
 * Nothing else grows with the number of packages, names or clients.
 */
export function rssBound(startedRss: number, runningDownloads = 0): number {
  return startedRss + RSS_HEADROOM * (CACHED_BYTES_BOUND + runningDownloads * CACHE_BOUNDS.downloadReplayBytes)
}

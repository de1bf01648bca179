/**
 * The store: the only code that knows where and how anything is kept (types.ts draws the
 * boundary). Everything outside src/core/store/ imports from here, never from an implementation.
 */
import { openFsStore } from './fs/open.js'
import { isDatabaseUrl } from './location.js'
import type { PgStoreOptions } from './pg/open.js'
import type { Store } from './types.js'

export type { PackageScan, ScanDepth } from './scan.js'
export type { BlobContent, BlobEntry, RemoveOptions, RemovedEntry, ContentCheck, BlobStage, BlobWrite, Blobs, StagedBlob, Changes, OpenBlob, Packages, Quarantine, Store, StoredText, TokenRecords, UsageRecords, UserRecords } from './types.js'
export type { DocumentKind, FetchedRecord, LoadedUpstream, LocalDoc, Manifest, Packument, StoredBytes, TokenRecord, UplinkPart, UpstreamRecord, Usage, UserRecord } from './documents.js'
export { base64Value, expectedIntegrity, sha512Of } from './integrity.js'
export { attestationsKey, parseTarballKey, tarballKey, tarballSpec } from './keys.js'
export { checkUpstream, decodeFetched, decodeUpstream, encodeUpstream, encodeUpstreamAround, parseJson, revOf } from './records.js'
export { isDatabaseUrl, redactLocation } from './location.js'
export { STORE_FORMAT } from './fs/layout.js'
// A file of users outside any store (an htpasswd file): kept the way the folder store keeps its own.
export { FileUserRecords, type UserFileFormat } from './fs/users.js'
export type { PgStoreOptions } from './pg/open.js'

/** What openStore passes on to the implementation it picks (each takes what applies to it). */
export type StoreOptions = PgStoreOptions

/**
 * Opens (creating on first use) the store at `location`: a `postgres://` or `postgresql://`
 * URL is a PostgreSQL database (pg/), anything else a storage folder (fs/). Typed as the
 * interface, so no caller can come to rely on where things are kept.
 */
export async function openStore(location: string, options: StoreOptions = {}): Promise<Store> {
  if (!isDatabaseUrl(location)) return openFsStore(location)
  // Loaded only for a database: the pg driver costs a folder store's start-up ~100 ms otherwise.
  const { openPgStore } = await import('./pg/open.js')
  return openPgStore(location, options)
}

/**
 * The store: the only code that knows where and how anything is kept (types.ts draws the
 * boundary). Everything outside src/core/store/ imports from here, never from an implementation.
 */
import { openFsStore } from './fs/open.js'
import type { Store } from './types.js'

export type { BlobContent, BlobEntry, BlobWrite, Blobs, OpenBlob, Packages, Quarantine, Store, TokenRecords, UsageRecords } from './types.js'
export type { DocumentKind, FetchedRecord, LoadedUpstream, LocalDoc, Manifest, Packument, StoredBytes, TokenRecord, UpstreamRecord, Usage } from './documents.js'
export { expectedIntegrity, sha512Of } from './integrity.js'
export { attestationsKey, parseTarballKey, tarballKey, tarballSpec } from './keys.js'
export { decodeUpstream, encodeUpstream, revOf } from './records.js'
export { STORE_FORMAT } from './fs/layout.js'

/**
 * Opens (creating on first use) the store kept in the storage folder `root`: the only
 * implementation so far. A second one (a database) is chosen here by the config. Typed as the
 * interface, so no caller can come to rely on where things are kept.
 */
export function openStore(root: string): Promise<Store> {
  return openFsStore(root)
}

/**
 * The store: the only code that knows where and how anything is kept (types.ts draws the
 * boundary). Everything outside src/core/store/ imports from here, never from an implementation.
 */
export type { BlobContent, BlobEntry, BlobWrite, Blobs, OpenBlob, Packages, Quarantine, Store, TokenRecords, UsageRecords } from './types.js'
export type { DocumentKind, FetchedRecord, LoadedUpstream, LocalDoc, Manifest, Packument, TokenRecord, UpstreamRecord, Usage } from './documents.js'
export { expectedIntegrity, sha512Of } from './integrity.js'
export { parseTarballKey, tarballKey, tarballSpec } from './keys.js'
export { KeyedLock } from '../fs/lock.js'
/**
 * Opens (creating on first use) the store kept in the storage folder `root`: the only
 * implementation so far. A second one (a database) is chosen here by the config.
 */
export { openFsStore as openStore } from './fs/open.js'
export { STORE_FORMAT } from './fs/layout.js'

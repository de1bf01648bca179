/**
 * The on-disk layout of a storage folder, format 2. This comment is the one place it is described.
 *
 *   <storage>/
 *     format.json                       {"format": 2}: written on first use, checked on every open. A format 1 folder
 *                                       (cacache's index-v5, a file per key) is upgraded on open (upgrade.ts), with
 *                                       {"format": 2, "upgrading": 1} here until it is done (format 1 readers refuse it)
 *     format.lock                       cross-process lock (proper-lockfile) held while a format 1 folder is upgraded
 *     blobs/                            tarballs, content-addressed (content laid out as cacache lays it)
 *       content-v2/sha512/ab/cd/<rest>  the bytes of a tarball whose sha512 hex digest is "abcd<rest>"
 *       entries/<file>                  the blob index, one file per package: its name percent-encoded, as under
 *                                       packages/, with a leading "." as %2E (a key of no package: the key itself,
 *                                       encoded so). Lines "\n<sha1 of the JSON>\t<JSON>", appended, the last line of a
 *                                       key winning. The JSON is {key, integrity, time, size, metadata}: key
 *                                       "tarball:<name>@<version>" (or "attestations:..."), integrity null for a removal,
 *                                       time when the tarball was fetched or published, metadata {"verified": 1}. A
 *                                       tarball is served only through its own key, and only when its content file has
 *                                       the entry's size. A line is appended only after the content was fsynced, read
 *                                       back, hashed and renamed into place; one without `verified` (format 1's, written
 *                                       by older versions) is hashed on its first open, then appended again with it
 *                                       (same time). A line whose sha1 does not match is a torn append and is skipped.
 *                                       When a removal leaves more dead lines than live ones, the file is written again
 *                                       with the live ones (a temp ".<file>.<pid>.<hex>.tmp" beside it, renamed over
 *                                       it); when it leaves none, the file goes (entries.ts)
 *       entries.locks/<file>            cross-process lock (proper-lockfile) held across every change of that file
 *       tmp/<pid>-<uuid>                blob writes in progress (downloads, publishes); never read as content
 *       totals.json                     {"blobs": n, "bytes": n}: the content's running count, merged in by each
 *                                       process after its writes and removals (see totals.ts); counted again by
 *                                       `verify --fix`, or at the first read when it is missing
 *       totals.lock                     cross-process lock (proper-lockfile) held while totals.json is merged
 *     packages/<encodeURIComponent(name)>/
 *       upstream.json                   cached upstream packument: {etag, lastModified, uplink, upstreamUrl, doc}
 *       fetched.json                    {fetchedAt, uplink}: rewritten on every revalidation (a 304 included),
 *                                       so the large upstream.json is written only when it changes
 *       local.json                      what was published here: versions, dist-tags, overlays on uplink versions
 *       .lock                           cross-process lock (a directory, proper-lockfile) held across every
 *                                       read-modify-write of this package's files
 *     changes.log                       the change feed: "#<id>" then one encodeURIComponent'd package name a line,
 *                                       appended (O_APPEND) after every write or removal of an upstream.json or
 *                                       local.json by any process; rotated to changes.1 past 4 MiB (journal.ts)
 *     changes.log.lock                  cross-process lock (proper-lockfile) held while the journal is rotated
 *     search-snapshot.ndjson            the search index's summaries and the changes.log cursor they reflect
 *                                       (search/snapshot.ts): derived, rewritten now and then, rebuilt when lost
 *     auth/tokens.json                  login and API tokens, as sha512 hashes (never the tokens themselves)
 *     auth/users.json                   {"users": [{name, hash}]}: users and their password hashes, when the config
 *                                       keeps them in the store (auth.store) rather than an htpasswd file
 *     usage.json                        {"format": 1, "lastUse": {"tarball:<name>@<version>": ms}}: when a server last
 *                                       served each tarball. Servers batch this in memory and merge it in (newest
 *                                       time wins) every ~30 s and at shutdown; a fetch counts through its entry's
 *                                       time instead. Only a recency hint for `prune`: losing it loses nothing.
 *     usage.lock                        cross-process lock (proper-lockfile) held while usage.json is merged
 *     quarantine/                       what was moved aside, kept for inspection, never read again, never
 *                                       deleted by sinopia-cli:
 *       blobs/<sha512 hex>.<ms>           a blob whose bytes did not hash to its name or whose size was not its
 *                                         entry's: by `verify --fix`, `lock-sync --verify`, or the server on open
 *       packages/<folder>/<file>.<ms>     a metadata file that did not parse
 *
 * A package folder name is the package name percent-encoded, so `@scope/name` is `%40scope%2Fname`:
 * one flat level, and a validated npm name can never encode to `.`, `..` or a path separator.
 * Every JSON file is written to a temp file in the same folder and renamed into place.
 */
import path from 'node:path'
import type { DocumentKind } from '../documents.js'

export const STORE_FORMAT = 2

export const formatFile = (root: string) => path.join(root, 'format.json')
export const formatLock = (root: string) => path.join(root, 'format.lock')
export const blobsDir = (root: string) => path.join(root, 'blobs')
/** Under the blobs folder (see entries.ts): the per-package entries files and their locks. */
export const entriesDir = (blobs: string) => path.join(blobs, 'entries')
export const entriesLock = (blobs: string, fileName: string) => path.join(blobs, 'entries.locks', fileName)
/** Format 1's blob index (cacache index-v5, one bucket file per key): read once, by the upgrade. */
export const formatOneIndexDir = (blobs: string) => path.join(blobs, 'index-v5')
export const packagesDir = (root: string) => path.join(root, 'packages')
export const packageDir = (root: string, name: string) => path.join(packagesDir(root), encodeURIComponent(name))
export const upstreamFile = (root: string, name: string) => path.join(packageDir(root, name), 'upstream.json')
export const fetchedFile = (root: string, name: string) => path.join(packageDir(root, name), 'fetched.json')
export const localFile = (root: string, name: string) => path.join(packageDir(root, name), 'local.json')
/** The file a package document is kept in: `upstream.json`, `fetched.json` or `local.json`. */
export const documentFile = (root: string, name: string, kind: DocumentKind) => path.join(packageDir(root, name), `${kind}.json`)
export const tokensFile = (root: string) => path.join(root, 'auth', 'tokens.json')
export const usersFile = (root: string) => path.join(root, 'auth', 'users.json')
export const lockFile = (root: string, name: string) => path.join(packageDir(root, name), '.lock')
export const usageFile = (root: string) => path.join(root, 'usage.json')
export const usageLock = (root: string) => path.join(root, 'usage.lock')
export const journalFile = (root: string) => path.join(root, 'changes.log')
export const snapshotFile = (root: string) => path.join(root, 'search-snapshot.ndjson')
export const quarantineDir = (root: string) => path.join(root, 'quarantine')

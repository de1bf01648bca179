/** A packument as the registry API shapes it; only the parts the core reads are typed. */
export interface Packument {
  name: string
  'dist-tags'?: Record<string, string>
  versions: Record<string, Manifest>
  time?: Record<string, string>
  [key: string]: unknown
}

export interface Manifest {
  name: string
  version: string
  dist?: { tarball?: string; integrity?: string; shasum?: string; [key: string]: unknown }
  deprecated?: string
  [key: string]: unknown
}

/**
 * The cached upstream packument and what is needed to revalidate it. A package whose rule lists
 * several uplinks keeps each one's answer in `parts` (rule order); `doc` is then their merge
 * (registry/merge-uplinks.ts), so readers that only want the versions read `doc` either way, and
 * `uplink`/`upstreamUrl` are the first part's (no `etag`: it would revalidate one part only).
 */
export interface UpstreamRecord {
  uplink: string
  /** The uplink's URL when the document was fetched: tarball URLs under it are re-based onto the current URL. */
  upstreamUrl: string
  etag?: string
  lastModified?: string
  doc: Packument
  parts?: UplinkPart[]
}

/** One uplink's answer for a package, as kept in a record from several uplinks. */
export interface UplinkPart {
  uplink: string
  upstreamUrl: string
  etag?: string
  lastModified?: string
  doc: Packument
}

export interface FetchedRecord {
  uplink: string
  /** ms since the epoch of the last 200 or 304 from the uplink (with several: the latest of theirs). */
  fetchedAt: number
  /** With several uplinks: when each last answered (200, 304, or 404), ms since the epoch. */
  uplinks?: Record<string, number>
}

/**
 * What was published here for one package. Versions published here live in `versions`;
 * the rest are overlays on the uplink's versions (dist-tags, deprecations) for packages
 * that are cached from an uplink.
 */
export interface LocalDoc {
  /** `local-only`: the uplink is never asked for this name again; `override`: merged with the uplink's. */
  origin: 'local-only' | 'override'
  versions: Record<string, Manifest>
  /** Tags set here; they win over the uplink's. */
  'dist-tags': Record<string, string>
  /** Uplink tags removed here. */
  removedTags: string[]
  /** Deprecation messages set here on uplink versions ('' undoes the uplink's). */
  deprecated: Record<string, string>
  time: Record<string, string>
  /** Increments on every change: the number in `_rev`. */
  revision: number
  readme?: string
  description?: string
  maintainers?: Array<{ name: string; email?: string }>
  users?: Record<string, boolean>
}

/** A stored document's bytes, as read, with what identifies that version of it. */
export interface StoredBytes {
  raw: Buffer
  /** Content hash (see records.ts revOf). */
  rev: string
  mtimeMs: number
  /** Where it is kept, for error messages. */
  where: string
}

export interface LoadedUpstream {
  record: UpstreamRecord
  /** Content hash of the file: changes exactly when the stored document does. */
  rev: string
  mtimeMs: number
  bytes: number
}

/** The documents kept per package: `upstream` (the cached uplink packument), `fetched` (when it was last revalidated), `local` (what was published here). */
export type DocumentKind = 'upstream' | 'fetched' | 'local'

/** What is kept of a login or API token: never the token itself, only its hash. */
export interface TokenRecord {
  /** sha512 (hex) of the token: the id npm shows as `key` and revokes by. */
  key: string
  user: string
  /** The first characters of the token, so a person can tell their tokens apart. */
  prefix: string
  readonly: boolean
  cidr: string[]
  created: string
  /** Tokens made by `npm login` are revoked by `npm logout`; those from `npm token create` are not. */
  kind: 'login' | 'api'
}

/** A user kept in the store (`auth.store`): a name and its password hash (auth/ hashes and checks it; the store only keeps it). */
export interface UserRecord {
  name: string
  hash: string
}

/** Last use (ms since the epoch) of each blob key. */
export type Usage = Map<string, number>

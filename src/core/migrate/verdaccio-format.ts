import path from 'node:path'
import type { LocalDoc, Manifest, Packument, UpstreamRecord } from '../store/index.js'

/**
 * Verdaccio's (and Sinopia's) storage folder, as this store needs it. Pure: the reader
 * (verdaccio.ts) does the I/O. Facts of the format relied on:
 * - one folder per package (`@scope/name/` for a scoped one) holding `package.json`, the
 *   packument with Verdaccio's own fields (`_uplinks`: uplink name -> {etag, fetched};
 *   `_distfiles`: tarball file -> {url, sha, registry}; `_attachments`; `_rev`), and beside it
 *   the tarballs, named as the last segment of each version's `dist.tarball` URL;
 * - `.verdaccio-db.json` (`.sinopia-db.json` for Sinopia) at the root: `{list: [names published
 *   here], secret}`.
 */

/** A Verdaccio packument as stored: a packument plus its bookkeeping fields. */
export interface VerdaccioPackument extends Packument {
  _uplinks?: Record<string, { etag?: string; fetched?: number }>
  _distfiles?: Record<string, { url?: string; sha?: string; registry?: string }>
  _attachments?: Record<string, unknown>
  _rev?: string
}

export const VERDACCIO_DB_FILES = ['.verdaccio-db.json', '.sinopia-db.json']

/** The names `.verdaccio-db.json` says were published here; anything else in its `list` is ignored. */
export function publishedNames(db: unknown): string[] {
  const list = (db as { list?: unknown } | null)?.list
  return Array.isArray(list) ? list.filter((n): n is string => typeof n === 'string') : []
}

/** The file beside package.json that holds a version's tarball. */
export function tarballFile(name: string, manifest: Manifest): string {
  const url = manifest.dist?.tarball
  if (typeof url === 'string') {
    const last = path.posix.basename(url.split(/[?#]/)[0] ?? '')
    if (last.endsWith('.tgz')) return decodeURIComponent(last)
  }
  return `${name.split('/').pop() ?? name}-${manifest.version}.tgz`
}

/** The packument without Verdaccio's bookkeeping: what a registry serves. */
export function withoutBookkeeping(doc: VerdaccioPackument): Packument {
  const { _uplinks: _u, _distfiles: _d, _attachments: _a, _rev: _r, ...rest } = doc
  return rest
}

/** `_rev` is `<n>-<hash>`: the number a local document counts its revisions with. */
export function revisionOf(rev: unknown): number {
  const n = typeof rev === 'string' ? Number.parseInt(rev, 10) : NaN
  return Number.isSafeInteger(n) && n > 0 ? n : 1
}

/**
 * What was published on the Verdaccio as a local document of this store, with `versions` (the
 * ones whose tarball was stored and verified). Published names were Verdaccio's own (it has no
 * override of an uplink package), so the document is local-only; tags pointing at a version left
 * out go too.
 */
export function localDocOf(doc: VerdaccioPackument, versions: Record<string, Manifest>): LocalDoc {
  const tags: Record<string, string> = {}
  for (const [tag, version] of Object.entries(doc['dist-tags'] ?? {})) if (typeof version === 'string' && versions[version]) tags[tag] = version
  const time: Record<string, string> = {}
  for (const [key, at] of Object.entries(doc.time ?? {})) {
    if (typeof at === 'string' && (key === 'created' || key === 'modified' || versions[key])) time[key] = at
  }
  const local: LocalDoc = { origin: 'local-only', versions, 'dist-tags': tags, removedTags: [], deprecated: {}, time, revision: revisionOf(doc._rev) }
  if (typeof doc.readme === 'string' && doc.readme) local.readme = doc.readme
  if (typeof doc.description === 'string') local.description = doc.description
  if (Array.isArray(doc.maintainers)) {
    local.maintainers = (doc.maintainers as unknown[])
      .filter((m): m is { name: string; email?: unknown } => typeof (m as { name?: unknown } | null)?.name === 'string')
      .map((m) => (typeof m.email === 'string' ? { name: m.name, email: m.email } : { name: m.name }))
  }
  if (doc.users && typeof doc.users === 'object' && !Array.isArray(doc.users)) local.users = doc.users as Record<string, boolean>
  return local
}

/** Which uplink a cached package came from: the first of its `_uplinks` the config knows, else the config's first uplink. */
export function uplinkOf(doc: VerdaccioPackument, configured: Record<string, { url: string }>): { uplink: string; upstreamUrl: string } {
  const names = Object.keys(doc._uplinks ?? {})
  const uplink = names.find((n) => configured[n]) ?? Object.keys(configured)[0] ?? names[0] ?? 'verdaccio'
  const url = configured[uplink]?.url ?? originOfTarballs(doc)
  return { uplink, upstreamUrl: url }
}

/** The uplink's URL as the cached tarball URLs show it (`<url><name>/-/<file>`), for a name the config lacks. */
function originOfTarballs(doc: VerdaccioPackument): string {
  const urls = [...Object.values(doc._distfiles ?? {}).map((f) => f.url), ...Object.values(doc.versions ?? {}).map((m) => m.dist?.tarball)]
  for (const url of urls) {
    if (typeof url !== 'string') continue
    const at = url.indexOf(`/${doc.name}/-/`)
    if (at > 0) return url.slice(0, at + 1)
  }
  return 'verdaccio:'
}

/** A cached package as this store's upstream record; the uplink's ETag comes along so the next fetch may be a 304. */
export function upstreamRecordOf(doc: VerdaccioPackument, uplink: { uplink: string; upstreamUrl: string }): UpstreamRecord {
  const etag = doc._uplinks?.[uplink.uplink]?.etag
  return { uplink: uplink.uplink, upstreamUrl: uplink.upstreamUrl, ...(typeof etag === 'string' && etag ? { etag } : {}), doc: withoutBookkeeping(doc) }
}

/** When the uplink last answered for it (ms), per `_uplinks`; 0 when Verdaccio kept no time (revalidated on the first request). */
export function fetchedAtOf(doc: VerdaccioPackument, uplink: string): number {
  const fetched = doc._uplinks?.[uplink]?.fetched
  return typeof fetched === 'number' && Number.isFinite(fetched) ? fetched : 0
}

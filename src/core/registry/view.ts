import { randomBytes } from 'node:crypto'
import { isMainThread, workerData } from 'node:worker_threads'
import { expectedIntegrity, type Manifest, type Packument } from '../store/index.js'
import { tarballFile, tarballPath } from './names.js'
import { abbreviate } from './packument.js'

/**
 * Served documents carry absolute tarball URLs of this server, which depend on the request
 * (`url_prefix`, Host, X-Forwarded-*). So the documents are serialized once per revision
 * with this token where the base URL goes, and a request only substitutes it. The token is
 * random per process and plain ASCII, so JSON escaping leaves it intact and no package
 * text can contain it by accident. The view worker (view-builder.ts) is given the main thread's.
 */
export const BASE_TOKEN: string = isMainThread ? `@@sinopia-base-${randomBytes(12).toString('hex')}@@` : (workerData as { baseToken: string }).baseToken

export interface TarballEntry {
  version: string
  /** What the bytes must hash to (SRI); null when the uplink published no digest. */
  expected: string | null
  /** Where the uplink serves it; null for versions published here (never fetched from an uplink). */
  upstreamUrl: string | null
}

/** Everything the hot paths need about one revision of a package, without the parsed document. */
export interface PackageView {
  name: string
  rev: string
  versions: Map<string, TarballEntry>
  /** Tarball file name (conventional and, when it differs, the uplink's own) -> version. */
  files: Map<string, string>
  /** The document's dist-tags (`npm dist-tag ls`), kept apart so they are read without parsing it. */
  distTags: Record<string, string>
  /** The full document, serialized with BASE_TOKEN in place of this server's base URL. */
  full: string
  /** The abbreviated document, likewise. */
  abbreviated: string
}

/**
 * A PackageView as plain data (arrays instead of maps): what the view worker sends back, since
 * a structured clone of two strings and flat arrays costs the receiving thread a copy only.
 */
export interface ViewData {
  rev: string
  versions: Array<[version: string, expected: string | null, upstreamUrl: string | null]>
  files: Array<[file: string, version: string]>
  distTags: Record<string, string>
  full: string
  abbreviated: string
}

/**
 * Builds the view of a packument. `rebase` maps a tarball URL recorded from the uplink to the
 * URL to fetch it from now (the uplink's URL may have changed in the config since).
 */
export function buildView(
  name: string,
  rev: string,
  doc: Packument,
  rebase: (url: string | undefined, version: string) => string | null,
): ViewData {
  const versions: ViewData['versions'] = []
  const files = new Map<string, string>()
  const served: Record<string, Manifest> = {}
  for (const [version, manifest] of Object.entries(doc.versions)) {
    const upstreamUrl = rebase(manifest.dist?.tarball, version)
    versions.push([version, expectedIntegrity(manifest.dist), upstreamUrl])
    files.set(tarballFile(name, version), version)
    const own = upstreamUrl ? fileOf(upstreamUrl) : null
    if (own && !files.has(own)) files.set(own, version)
    served[version] = servedManifest(manifest, name, version)
  }
  const fullDoc = { ...doc, versions: served }
  return {
    rev,
    versions,
    files: [...files],
    distTags: doc['dist-tags'] ?? {},
    full: JSON.stringify(fullDoc),
    abbreviated: JSON.stringify(abbreviate(fullDoc)),
  }
}

/** Entries added to a view's maps between two turns of the event loop (see viewOf). */
const ENTRIES_PER_TURN = 4096

/**
 * The view the hot paths use, from its data (built here or in the view worker). A package with
 * 100,000 versions has as many entries: they are added in slices, with the event loop free in
 * between, so a big package never holds up the requests for others.
 */
export async function viewOf(name: string, data: ViewData): Promise<PackageView> {
  const versions = new Map<string, TarballEntry>()
  const files = new Map<string, string>()
  for (let i = 0; i < data.versions.length; i++) {
    const [version, expected, upstreamUrl] = data.versions[i] as ViewData['versions'][number]
    versions.set(version, { version, expected, upstreamUrl })
    if (i % ENTRIES_PER_TURN === ENTRIES_PER_TURN - 1) await nextTurn()
  }
  for (let i = 0; i < data.files.length; i++) {
    const [file, version] = data.files[i] as ViewData['files'][number]
    files.set(file, version)
    if (i % ENTRIES_PER_TURN === ENTRIES_PER_TURN - 1) await nextTurn()
  }
  return { name, rev: data.rev, versions, files, distTags: data.distTags, full: data.full, abbreviated: data.abbreviated }
}

const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve))

/** A manifest as this server serves it: its tarball URL points here. */
export function servedManifest(manifest: Manifest, name: string, version: string): Manifest {
  return { ...manifest, dist: { ...manifest.dist, tarball: BASE_TOKEN + tarballPath(name, version) } }
}

/** Substitutes the base URL (ending with '/') into a serialized template. */
export function instantiate(template: string, baseUrl: string): string {
  // The base goes inside JSON strings: escape it as JSON would.
  return template.replaceAll(BASE_TOKEN, JSON.stringify(baseUrl).slice(1, -1))
}

/** The file name at the end of a tarball URL, when it is one. */
function fileOf(url: string): string | null {
  try {
    const file = decodeURIComponent(new URL(url).pathname.split('/').pop() ?? '')
    return file.endsWith('.tgz') ? file : null
  } catch {
    return null
  }
}

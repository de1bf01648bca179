import { randomBytes } from 'node:crypto'
import { isMainThread, workerData } from 'node:worker_threads'
import { expectedIntegrity, type Manifest, type Packument } from '../store/index.js'
import { jsonBytes } from '../json-bytes.js'
import { tarballFile, tarballPath } from './names.js'
import { abbreviate } from './packument.js'
import { indexTable, VersionIndex } from './version-table.js'

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
  /**
   * With several uplinks, the one whose packument listed this version (its tarball is fetched
   * there); absent otherwise: the rule's uplink.
   */
  uplink?: string
}

/** Everything the hot paths need about one revision of a package, without the parsed document. */
export interface PackageView {
  name: string
  rev: string
  versions: VersionIndex
  /** The document's dist-tags (`npm dist-tag ls`), kept apart so they are read without parsing it. */
  distTags: Record<string, string>
  /** The full document, serialized (UTF-8) with BASE_TOKEN in place of this server's base URL. */
  full: Buffer
  /** The abbreviated document, likewise. */
  abbreviated: Buffer
}

/**
 * A PackageView as plain data: what the view worker sends back. Strings and bytes only: the
 * documents' bytes are handed over without a copy, a string costs one copy, where 100,000
 * small arrays cost the receiving thread a second of allocation and garbage collection (measured).
 */
export interface ViewData {
  rev: string
  /**
   * One row per version, rows split by '\n', fields by '\t': version, expected integrity, the
   * uplink's URL for it, and the file name of that URL when it differs from the conventional
   * one, and the index in `uplinks` of the uplink the version came from; '' for none. No field
   * holds a tab or a newline (buildView sees to that).
   */
  table: string
  /** The table's index (indexTable): built with the table, so the main thread does nothing per row. */
  index: Int32Array
  /** The uplink's own file names that differ from the conventional one, and their versions (rare). */
  owns: Array<[file: string, version: string]>
  /** With several uplinks: their names (see VersionOrigins). */
  uplinks?: string[]
  distTags: Record<string, string>
  full: Uint8Array
  abbreviated: Uint8Array
}

/** A document merged from several uplinks: their names, and the index of the one each version came from. */
export interface VersionOrigins {
  names: string[]
  of: (version: string) => number | undefined
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
  origins?: VersionOrigins,
  /** About how many bytes the document has serialized (the stored or sent form): the full form is about as big. */
  sizeHint = 0,
): ViewData {
  const rows: string[] = []
  const owns = new Map<string, string>()
  const served: Record<string, Manifest> = {}
  for (const [version, manifest] of Object.entries(doc.versions)) {
    let upstreamUrl = rebase(manifest.dist?.tarball, version)
    // A URL with a raw tab or newline is no URL (and would break the table): the conventional path is asked.
    if (upstreamUrl && UNSAFE_IN_ROW.test(upstreamUrl)) upstreamUrl = rebase(undefined, version)
    const own = upstreamUrl ? fileOf(upstreamUrl) : null
    const ownFile = own && own !== tarballFile(name, version) && !UNSAFE_IN_ROW.test(own) ? own : ''
    if (ownFile && !owns.has(ownFile)) owns.set(ownFile, version)
    const origin = origins ? `\t${upstreamUrl ? (origins.of(version) ?? '') : ''}` : ''
    rows.push(`${version}\t${expectedIntegrity(manifest.dist) ?? ''}\t${upstreamUrl ?? ''}\t${ownFile}${origin}`)
    served[version] = servedManifest(manifest, name, version)
  }
  const fullDoc = { ...doc, versions: served }
  const table = rows.join('\n')
  return {
    rev,
    table,
    index: indexTable(table),
    owns: [...owns],
    ...(origins ? { uplinks: origins.names } : {}),
    distTags: doc['dist-tags'] ?? {},
    // Serialized to bytes without a string of the whole, in shared memory: the response bodies
    // are made from them in the view worker, which then reads them where they are.
    full: jsonBytes(fullDoc, { sizeHint: Math.ceil(sizeHint * FULL_ROOM), shared: true }),
    abbreviated: jsonBytes(abbreviate(fullDoc), { sizeHint: Math.ceil(sizeHint / 4), shared: true }),
  }
}

const UNSAFE_IN_ROW = /[\t\n]/

/** The full form is the stored document with tarball URLs of about the same length: a little room for the difference. */
const FULL_ROOM = 1.03

/** The view the hot paths use, from its data (built here or in the view worker): no work per version. */
export function viewOf(name: string, data: ViewData): PackageView {
  const versions = new VersionIndex(name, data.table, data.index, data.uplinks, data.owns)
  return { name, rev: data.rev, versions, distTags: data.distTags, full: asBuffer(data.full), abbreviated: asBuffer(data.abbreviated) }
}

/** The same bytes as a Buffer (what arrives from the worker is a plain Uint8Array). */
export const asBuffer = (bytes: Uint8Array) => (Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength))

/** A manifest as this server serves it: its tarball URL points here. */
export function servedManifest(manifest: Manifest, name: string, version: string): Manifest {
  return { ...manifest, dist: { ...manifest.dist, tarball: BASE_TOKEN + tarballPath(name, version) } }
}

/** Substitutes the base URL (ending with '/') into a serialized template. */
export function instantiate(template: string, baseUrl: string): string {
  // The base goes inside JSON strings: escape it as JSON would.
  return template.replaceAll(BASE_TOKEN, JSON.stringify(baseUrl).slice(1, -1))
}

/**
 * instantiate on bytes: the serialized template never becomes a string (an 11 MB document would be
 * two 11 MB strings besides its bytes). One exact-size Buffer, the slices between tokens copied in.
 */
export function instantiateBytes(template: Uint8Array, baseUrl: string): Buffer {
  const source = asBuffer(template)
  const token = Buffer.from(BASE_TOKEN)
  const base = Buffer.from(JSON.stringify(baseUrl).slice(1, -1))
  const at: number[] = []
  for (let i = source.indexOf(token); i !== -1; i = source.indexOf(token, i + token.length)) at.push(i)
  const out = Buffer.allocUnsafeSlow(source.length + at.length * (base.length - token.length))
  let from = 0
  let to = 0
  for (const i of at) {
    to += source.copy(out, to, from, i)
    to += base.copy(out, to)
    from = i + token.length
  }
  source.copy(out, to, from)
  return out
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

import { randomBytes } from 'node:crypto'
import { expectedIntegrity, type Manifest, type Packument } from '../store/index.js'
import { tarballFile, tarballPath } from './names.js'
import { abbreviate } from './packument.js'

/**
 * Served documents carry absolute tarball URLs of this server, which depend on the request
 * (`url_prefix`, Host, X-Forwarded-*). So the documents are serialized once per revision
 * with this token where the base URL goes, and a request only substitutes it. The token is
 * random per process and plain ASCII, so JSON escaping leaves it intact and no package
 * text can contain it by accident.
 */
export const BASE_TOKEN = `@@sinopia-base-${randomBytes(12).toString('hex')}@@`

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
  /** The full document, serialized with BASE_TOKEN in place of this server's base URL. */
  full: string
  /** The abbreviated document, likewise. */
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
): PackageView {
  const versions = new Map<string, TarballEntry>()
  const files = new Map<string, string>()
  const served: Record<string, Manifest> = {}
  for (const [version, manifest] of Object.entries(doc.versions)) {
    const upstreamUrl = rebase(manifest.dist?.tarball, version)
    versions.set(version, { version, expected: expectedIntegrity(manifest.dist), upstreamUrl })
    files.set(tarballFile(name, version), version)
    const own = upstreamUrl ? fileOf(upstreamUrl) : null
    if (own && !files.has(own)) files.set(own, version)
    served[version] = servedManifest(manifest, name, version)
  }
  const fullDoc = { ...doc, versions: served }
  return {
    name,
    rev,
    versions,
    files,
    full: JSON.stringify(fullDoc),
    abbreviated: JSON.stringify(abbreviate(fullDoc)),
  }
}

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

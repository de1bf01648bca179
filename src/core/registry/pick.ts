import npa from 'npm-package-arg'
import pickManifest from 'npm-pick-manifest'
import type { Packument } from '../store/index.js'

/**
 * What picking a version needs of a packument, and no more: the versions (with their
 * deprecation, which npm avoids) and the dist-tags. Small enough for `mirror` to keep one per
 * package for a whole run without holding on to the packuments.
 */
export interface VersionIndex {
  name: string
  'dist-tags': Record<string, string>
  versions: Record<string, { version: string; deprecated?: string }>
}

export function versionIndex(doc: Packument): VersionIndex {
  const versions: VersionIndex['versions'] = {}
  for (const [version, manifest] of Object.entries(doc.versions)) {
    const deprecated = manifest.deprecated
    versions[version] = typeof deprecated === 'string' && deprecated !== '' ? { version, deprecated } : { version }
  }
  const tags: Record<string, string> = {}
  for (const [tag, version] of Object.entries(doc['dist-tags'] ?? {})) if (typeof version === 'string') tags[tag] = version
  return { name: doc.name, 'dist-tags': tags, versions }
}

/**
 * The version npm installs for `spec` (a dist-tag, an exact version or a range; '' is `*`),
 * chosen by npm's own picker: the `latest` tag when the range allows it and it is not
 * deprecated, else the highest match, versions that are not deprecated first; prereleases only
 * for ranges that name one (and `*` to a prerelease `latest`). The one picker of the read
 * routes and of mirror/lock-sync, so `GET /pkg/^1` and `mirror pkg@^1` agree.
 * `engines` play no part: the node running this server is not the one that will install.
 * Null when nothing matches, or when `spec` is no registry spec at all (a path, a git URL).
 */
export function pickVersion(index: VersionIndex, spec: string): string | null {
  if (!isRegistrySpec(index.name, spec)) return null
  try {
    return pickManifest(index, spec, { nodeVersion: null }).version
  } catch (error) {
    const code = (error as { code?: unknown }).code
    if (code === 'ETARGET' || code === 'ENOVERSIONS') return null
    throw error
  }
}

function isRegistrySpec(name: string, spec: string): boolean {
  let type: string
  try {
    // A pure parse of two strings (`where` given, so no cwd is read): it throws only for specs
    // that are no spec at all, such as a tag name with characters a URL would encode.
    type = npa.resolve(name, spec, '/').type
  } catch {
    return false
  }
  return type === 'tag' || type === 'version' || type === 'range'
}

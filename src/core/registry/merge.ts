import semver from 'semver'
import type { LocalDoc, Manifest, Packument } from '../store/index.js'

export function emptyLocal(origin: LocalDoc['origin']): LocalDoc {
  return { origin, versions: {}, 'dist-tags': {}, removedTags: [], deprecated: {}, time: {}, revision: 0 }
}

/**
 * A local-only name unpublished completely: no versions, kept so the name stays ours (it
 * answers 404, and its uplink is never asked) until it is published again.
 */
export function isTombstone(local: LocalDoc): boolean {
  return local.origin === 'local-only' && Object.keys(local.versions).length === 0
}

/**
 * The packument this registry serves for a name, from what the uplink sent (if it is
 * consulted for this name) and what was published here. Versions published here win where
 * both have the same version; tags set here win over the uplink's; overlays (deprecations,
 * removed tags) apply to the uplink's versions.
 */
export function mergePackument(name: string, upstream: Packument | null, local: LocalDoc | null): Packument {
  const useUpstream = upstream !== null && local?.origin !== 'local-only'
  const versions: Record<string, Manifest> = {}
  const time: Record<string, string> = {}
  const tags: Record<string, string> = {}
  if (useUpstream) {
    for (const [version, manifest] of Object.entries(upstream.versions)) {
      const message = local && Object.hasOwn(local.deprecated, version) ? local.deprecated[version] : undefined
      versions[version] = message === undefined ? manifest : withDeprecation(manifest, message)
    }
    Object.assign(time, upstream.time ?? {})
    for (const [tag, version] of Object.entries(upstream['dist-tags'] ?? {})) {
      if (!local?.removedTags.includes(tag)) tags[tag] = version
    }
  }
  if (local) {
    Object.assign(versions, local.versions)
    for (const [key, value] of Object.entries(local.time)) {
      if (key !== 'created' || time.created === undefined) time[key] = value
    }
    Object.assign(tags, local['dist-tags'])
  }
  for (const [tag, version] of Object.entries(tags)) {
    if (!Object.hasOwn(versions, version)) delete tags[tag]
  }
  if (tags.latest === undefined) {
    const stable = Object.keys(versions).filter((v) => !semver.prerelease(v))
    const highest = semver.rsort(stable.length > 0 ? stable : Object.keys(versions))[0]
    if (highest) tags.latest = highest
  }
  const modified = [time.modified, local?.time.modified].filter((t): t is string => typeof t === 'string').sort().at(-1)
  if (modified) time.modified = modified
  const base: Packument = useUpstream ? { ...upstream } : { name, versions: {} }
  const doc: Packument = {
    ...base,
    _id: name,
    name,
    'dist-tags': tags,
    versions,
    time,
  }
  if (local) {
    doc._rev = `${local.revision}-${local.origin}`
    if (!useUpstream || local.origin === 'local-only') {
      if (local.readme !== undefined) doc.readme = local.readme
      if (local.description !== undefined) doc.description = local.description
    }
    if (local.maintainers) doc.maintainers = local.maintainers
    if (local.users) doc.users = local.users
  } else if (doc._rev === undefined) {
    doc._rev = '0-upstream'
  }
  return doc
}

function withDeprecation(manifest: Manifest, message: string): Manifest {
  const copy = { ...manifest }
  if (message === '') delete copy.deprecated
  else copy.deprecated = message
  return copy
}

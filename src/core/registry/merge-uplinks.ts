import type { Manifest, Packument, UplinkPart, UpstreamRecord } from '../store/index.js'

/**
 * A rule that lists several uplinks (`proxy: corp npmjs`) serves the merge of their packuments,
 * as Verdaccio does. The order of the list decides every conflict:
 *   versions   each version from the first uplink that has it (its manifest, so its tarball too)
 *   dist-tags  each tag from the first uplink that has that tag
 *   time       a version's time from the uplink its manifest came from; `created` the earliest,
 *              `modified` the latest (so a change on any uplink shows); any other key first-wins
 *   the rest   (readme, description, ...) from the first uplink that has the package
 * Pure: the view tasks run it, in the worker for big documents.
 */

/** A record's uplink parts in order; a record from one uplink (every record before there were parts) is its only part. */
export function partsOf(record: UpstreamRecord): UplinkPart[] {
  if (record.parts) return record.parts
  const { uplink, upstreamUrl, etag, lastModified, doc } = record
  return [{ uplink, upstreamUrl, ...(etag ? { etag } : {}), ...(lastModified ? { lastModified } : {}), doc }]
}

export interface MergedUplinks {
  doc: Packument
  /** Version -> index in the parts of the uplink whose manifest was taken. */
  origin: Map<string, number>
}

/** The merge of `parts` (at least one), in their order. */
export function mergeUplinks(name: string, parts: UplinkPart[]): MergedUplinks {
  const origin = originsOf(parts)
  const versions: Record<string, Manifest> = {}
  for (const [version, index] of origin) versions[version] = (parts[index] as UplinkPart).doc.versions[version] as Manifest
  const tags: Record<string, string> = {}
  for (const part of parts) {
    for (const [tag, version] of Object.entries(part.doc['dist-tags'] ?? {})) {
      if (!Object.hasOwn(tags, tag)) tags[tag] = version
    }
  }
  const time = mergeTimes(parts, origin)
  const first = parts[0]?.doc ?? { name, versions: {} }
  const doc: Packument = { ...first, name, 'dist-tags': tags, versions }
  if (Object.keys(time).length > 0) doc.time = time
  else delete doc.time
  return { doc, origin }
}

/** Version -> index of the first part that has it, in the order the parts list them. */
export function originsOf(parts: UplinkPart[]): Map<string, number> {
  const origin = new Map<string, number>()
  parts.forEach((part, index) => {
    for (const version of Object.keys(part.doc.versions)) if (!origin.has(version)) origin.set(version, index)
  })
  return origin
}

function mergeTimes(parts: UplinkPart[], origin: Map<string, number>): Record<string, string> {
  const time: Record<string, string> = {}
  for (const part of parts) {
    for (const [key, value] of Object.entries(part.doc.time ?? {})) {
      if (typeof value !== 'string') continue
      const known = Object.hasOwn(time, key) ? time[key] : undefined
      if (known === undefined) time[key] = value
      else if (key === 'created' && value < known) time[key] = value
      else if (key === 'modified' && value > known) time[key] = value
    }
  }
  for (const [version, index] of origin) {
    const own = parts[index]?.doc.time?.[version]
    if (typeof own === 'string') time[version] = own
  }
  return time
}

/**
 * The record kept for a package fetched from several uplinks: every part, and their merge as
 * `doc`. Parts whose uplink no longer has the package keep their last copy (an uplink that
 * forgets a package does not make this registry forget it).
 */
export function mergedRecord(name: string, parts: UplinkPart[]): UpstreamRecord {
  const [first] = parts
  if (!first) throw new Error('mergedRecord needs at least one part')
  return { uplink: first.uplink, upstreamUrl: first.upstreamUrl, doc: mergeUplinks(name, parts).doc, parts }
}

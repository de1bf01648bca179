import semver from 'semver'

/** What version picking needs of a packument. */
export interface VersionIndex {
  versions: string[]
  distTags: Record<string, string>
  deprecated: ReadonlySet<string>
}

/**
 * The version npm installs for a registry spec, as npm chooses it:
 * - a tag: the version it points to;
 * - an exact version: that version;
 * - a range (`*` and the empty spec included): the `latest` tag when it satisfies the range and is
 *   not deprecated (for `*`, even a prerelease `latest`); else the highest satisfying version,
 *   preferring versions that are not deprecated. Prereleases match only ranges that name one.
 * Null when nothing matches.
 */
export function pickVersion(index: VersionIndex, type: 'tag' | 'version' | 'range', spec: string): string | null {
  const known = new Set(index.versions)
  if (type === 'tag') {
    const tagged = index.distTags[spec]
    return tagged && known.has(tagged) ? tagged : null
  }
  if (type === 'version') {
    const exact = semver.valid(spec, { loose: true })
    return exact && known.has(exact) ? exact : known.has(spec) ? spec : null
  }
  const range = spec.trim() === '' ? '*' : spec
  const latest = index.distTags.latest
  if (latest && known.has(latest) && !index.deprecated.has(latest) && (range === '*' || semver.satisfies(latest, range, { loose: true }))) {
    return latest
  }
  let best: string | null = null
  let bestDeprecated = true
  for (const version of index.versions) {
    if (!semver.satisfies(version, range, { loose: true })) continue
    const deprecated = index.deprecated.has(version)
    if (best === null || (bestDeprecated && !deprecated) || (bestDeprecated === deprecated && semver.gt(version, best, { loose: true }))) {
      best = version
      bestDeprecated = deprecated
    }
  }
  return best
}

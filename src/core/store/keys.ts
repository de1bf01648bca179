/**
 * The key a tarball's blob is recorded under: `tarball:<name>@<version>`. Built and taken apart
 * only here; a name may carry a scope's `@`, so the version starts after the last one.
 */
const TARBALL = 'tarball:'

export const tarballKey = (name: string, version: string) => `${TARBALL}${name}@${version}`

/** A tarball key back into its parts; null for a key of any other shape. */
export function parseTarballKey(key: string): { name: string; version: string } | null {
  if (!key.startsWith(TARBALL)) return null
  const rest = key.slice(TARBALL.length)
  const at = rest.lastIndexOf('@')
  if (at <= 0 || at === rest.length - 1) return null
  return { name: rest.slice(0, at), version: rest.slice(at + 1) }
}

/** `<name>@<version>` of a tarball key, for messages; any other key as it is. */
export function tarballSpec(key: string): string {
  const parsed = parseTarballKey(key)
  return parsed ? `${parsed.name}@${parsed.version}` : key
}

/**
 * The key a version's attestations (the uplink's sigstore bundles, brought by `bundle import`) are
 * recorded under: `attestations:<name>@<version>`. Not a tarball key, so prune and the tarball
 * routes leave it alone.
 */
export const attestationsKey = (name: string, version: string) => `attestations:${name}@${version}`

/**
 * The package a blob key belongs to (`<kind>:<name>@<version>`: tarballs and attestations alike),
 * or null for a key of another shape. The folder store keeps a package's keys together by it.
 */
export function packageOfKey(key: string): string | null {
  const colon = key.indexOf(':')
  if (colon <= 0) return null
  const rest = key.slice(colon + 1)
  const at = rest.lastIndexOf('@')
  return at > 0 && at < rest.length - 1 ? rest.slice(0, at) : null
}

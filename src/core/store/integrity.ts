import ssri from 'ssri'

/** An integrity that is one sha512 digest and nothing else, in canonical form. */
export const ONE_SHA512 = /^sha512-[A-Za-z0-9+/]{86}==$/

/** The sha512 hash of an SRI string, as its own SRI string, or null when it has none. */
export function sha512Of(integrity: string | undefined): string | null {
  if (!integrity) return null
  // The usual case, already in the form asked for: the index walks meet it a million times.
  if (ONE_SHA512.test(integrity)) return integrity
  const hash = ssri.parse(integrity).sha512?.[0]
  return hash ? ssri.stringify(hash) : null
}

/**
 * What a tarball must hash to, from a packument's `dist`: its `integrity` when present,
 * else the legacy sha1 `shasum`. Null when there is nothing to verify against.
 */
export function expectedIntegrity(dist: { integrity?: unknown; shasum?: unknown } | undefined): string | null {
  if (typeof dist?.integrity === 'string' && dist.integrity.trim()) {
    const parsed = ssri.parse(dist.integrity).toString()
    if (parsed) return parsed
  }
  if (typeof dist?.shasum === 'string' && /^[0-9a-f]{40}$/i.test(dist.shasum)) {
    return ssri.fromHex(dist.shasum.toLowerCase(), 'sha1').toString()
  }
  return null
}

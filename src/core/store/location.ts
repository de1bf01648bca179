/**
 * What a store location names: a `postgres://` or `postgresql://` URL is a database (the
 * PostgreSQL store), anything else a storage folder. Pure, so the config loader, openStore and
 * messages agree on it.
 */
export function isDatabaseUrl(location: string): boolean {
  return /^postgres(ql)?:\/\//i.test(location)
}

/** The URL without its password, for anything printed or logged; a location that is no URL comes back as it is. */
export function redactLocation(location: string): string {
  if (!isDatabaseUrl(location)) return location
  let url: URL
  try {
    url = new URL(location)
  } catch {
    // Unparsable: print only the scheme, the rest may hold the password.
    return `${location.slice(0, location.indexOf('://') + 3)}...`
  }
  if (url.password) url.password = '***'
  // A password may also come as a query parameter (libpq's ?password=).
  if (url.searchParams.has('password')) url.searchParams.set('password', '***')
  return url.toString()
}

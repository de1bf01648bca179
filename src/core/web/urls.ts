/**
 * The web pages' paths, relative to `root`: the path of the public base URL (`/`, or
 * `/npm/` behind a proxy with `url_prefix`), always ending with '/'.
 *
 *   packagePage('/', '@acme/tool') -> '/-/web/package/@acme/tool'
 */
export const WEB = '-/web/'

/** A package name as URL path segments: each part percent-encoded, the scope's '/' kept. */
export function packagePath(name: string): string {
  return name
    .split('/')
    .map((part) => encodeURIComponent(part).replace(/^%40/, '@'))
    .join('/')
}

export const packagePage = (root: string, name: string) => `${root}${WEB}package/${packagePath(name)}`
export const tarballLink = (root: string, name: string, file: string) => `${root}${packagePath(name)}/-/${encodeURIComponent(file)}`
export const loginPage = (root: string, next?: string) => `${root}${WEB}login${next ? `?next=${encodeURIComponent(next)}` : ''}`

/** A list page URL with its query; the first page and an empty search are left out. */
export function listPage(root: string, q: string, page: number, prefix = ''): string {
  const params = new URLSearchParams()
  if (q) params.set('q', q)
  if (page > 1) params.set('page', String(page))
  const query = params.toString()
  return `${root}${prefix}${query ? `?${query}` : ''}`
}

/** Where a login may send the browser back to: a path under root, never another origin. */
export function safeNext(next: unknown, root: string): string {
  if (typeof next !== 'string' || !next.startsWith(root) || next.startsWith('//') || /[\s\\]/.test(next) || next.length > 2000) return root
  return next
}

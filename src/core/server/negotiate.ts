import type { IncomingMessage } from 'node:http'
import { isIP } from 'node:net'
import { addressIn } from '../auth/cidr.js'
import type { Encoding } from './bodies.js'

export const ABBREVIATED_TYPE = 'application/vnd.npm.install-v1+json'

/** `type;q=0.5, other` -> Map(type -> q). */
function qualities(header: string | undefined): Map<string, number> {
  const out = new Map<string, number>()
  for (const part of (header ?? '').split(',')) {
    const [value, ...params] = part.split(';')
    const key = value?.trim().toLowerCase()
    if (!key) continue
    let q = 1
    for (const param of params) {
      const [k, v] = param.split('=')
      if (k?.trim() === 'q') q = Number(v) || 0
    }
    out.set(key, q)
  }
  return out
}

/** npm, pnpm and yarn ask for the abbreviated document by listing its type in Accept. */
export function wantsAbbreviated(accept: string | undefined): boolean {
  const q = qualities(accept).get(ABBREVIATED_TYPE)
  return q !== undefined && q > 0
}

/** brotli when the client takes it, else gzip, else identity. */
export function pickEncoding(acceptEncoding: string | undefined): Encoding | null {
  const q = qualities(acceptEncoding)
  const star = q.get('*') ?? 0
  const br = q.get('br') ?? star
  const gzip = q.get('gzip') ?? q.get('x-gzip') ?? star
  if (br > 0 && br >= gzip) return 'br'
  if (gzip > 0) return 'gzip'
  return null
}

/** If-None-Match against the ETags a body has (one per encoding). */
export function etagMatches(ifNoneMatch: string | undefined, etags: string[]): boolean {
  if (!ifNoneMatch) return false
  if (ifNoneMatch.trim() === '*') return true
  const wanted = ifNoneMatch.split(',').map((t) => t.trim().replace(/^W\//, ''))
  return wanted.some((t) => etags.includes(t))
}

const HOST = /^[A-Za-z0-9.-]+(:\d{1,5})?$|^\[[0-9A-Fa-f:.]+\](:\d{1,5})?$/

function first(value: string | string[] | undefined): string | undefined {
  const raw = Array.isArray(value) ? value[0] : value
  return raw?.split(',')[0]?.trim() || undefined
}

/** Whether the request came from a reverse proxy listed in `trust_proxy`, whose X-Forwarded-* headers count. */
export function fromTrustedProxy(req: IncomingMessage, trustProxy: readonly string[]): boolean {
  return trustProxy.length > 0 && addressIn([...trustProxy], req.socket?.remoteAddress ?? '')
}

/**
 * The address of the client: the socket's, or behind a proxy in `trustProxy` the right-most
 * X-Forwarded-For entry that is not itself a trusted proxy (entries to its left were written
 * by the client and prove nothing). Login limits and token CIDR lists use it.
 */
export function clientAddress(req: IncomingMessage, trustProxy: readonly string[]): string {
  const socket = req.socket?.remoteAddress ?? ''
  if (!fromTrustedProxy(req, trustProxy)) return socket
  const header = req.headers['x-forwarded-for']
  const hops = (Array.isArray(header) ? header.join(',') : (header ?? '')).split(',').map((hop) => hop.trim()).filter(Boolean)
  for (let i = hops.length - 1; i >= 0; i--) {
    const hop = hops[i] as string
    if (!isIP(hop)) return socket
    if (!addressIn([...trustProxy], hop)) return hop
  }
  return hops[0] ?? socket
}

/**
 * The base URL clients reach this server at, ending with '/': `url_prefix` when it is an
 * absolute URL; otherwise scheme and host from Host, or from X-Forwarded-Proto/-Host when
 * the request came from an address in `trustProxy` (anyone else could point tarball and
 * login URLs at another host), followed by `url_prefix` as a path. Header values that are
 * not a plain host are ignored.
 */
export function publicBaseUrl(req: IncomingMessage, urlPrefix: string | undefined, fallbackHost: string, trustProxy: readonly string[] = []): string {
  if (urlPrefix && /^https?:\/\//i.test(urlPrefix)) return urlPrefix.endsWith('/') ? urlPrefix : `${urlPrefix}/`
  const proxied = fromTrustedProxy(req, trustProxy)
  const forwardedProto = proxied ? first(req.headers['x-forwarded-proto'])?.toLowerCase() : undefined
  const own = (req.socket as { encrypted?: boolean } | undefined)?.encrypted ? 'https' : 'http'
  const proto = forwardedProto === 'https' || forwardedProto === 'http' ? forwardedProto : own
  const candidates = [proxied ? first(req.headers['x-forwarded-host']) : undefined, first(req.headers.host)]
  const host = candidates.find((h) => h !== undefined && HOST.test(h)) ?? fallbackHost
  let prefix = (urlPrefix ?? '/').trim()
  if (!prefix.startsWith('/')) prefix = `/${prefix}`
  if (!prefix.endsWith('/')) prefix = `${prefix}/`
  return `${proto}://${host}${prefix}`
}

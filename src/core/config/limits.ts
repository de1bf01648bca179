import { isCidr } from '../auth/cidr.js'
import type { Source, Field } from './source.js'
import type { Limits } from './types.js'

/**
 * Bounds on what one client can make the server hold or do: the key `limits`, every entry
 * optional. Each default is safe for a public server; raise them for a big private one.
 */
export const DEFAULT_LIMITS: Limits = {
  readmeSize: 512 * 1024,
  readmeRenderTime: 2_000,
  readmeQueue: 32,
  loginFailures: 10,
  loginWindow: 15 * 60 * 1000,
  loginTracked: 100_000,
  webSessions: 10_000,
  pendingLogins: 1_000,
  pendingLoginsPerAddress: 10,
  auditBodySize: 10 * 1024 * 1024,
}

const KEYS = [
  'readme_size', 'readme_render_time', 'readme_queue', 'login_failures', 'login_window', 'login_tracked',
  'web_sessions', 'pending_logins', 'pending_logins_per_address', 'audit_body_size',
] as const

export function parseLimits(src: Source, at: Field | undefined): Limits {
  const limits = { ...DEFAULT_LIMITS }
  if (!at) return limits
  const f = src.fields(at, KEYS)
  const count = (field: Field) => src.integer(field, 1, 'write a whole number of at least 1')
  if (f.readme_size) limits.readmeSize = src.size(f.readme_size)
  if (f.readme_render_time) limits.readmeRenderTime = src.duration(f.readme_render_time, { positive: true })
  if (f.readme_queue) limits.readmeQueue = count(f.readme_queue)
  if (f.login_failures) limits.loginFailures = count(f.login_failures)
  if (f.login_window) limits.loginWindow = src.duration(f.login_window, { positive: true })
  if (f.login_tracked) limits.loginTracked = count(f.login_tracked)
  if (f.web_sessions) limits.webSessions = count(f.web_sessions)
  if (f.pending_logins) limits.pendingLogins = count(f.pending_logins)
  if (f.pending_logins_per_address) limits.pendingLoginsPerAddress = count(f.pending_logins_per_address)
  if (f.audit_body_size) limits.auditBodySize = src.size(f.audit_body_size)
  return limits
}

/** `trust_proxy`: addresses or CIDR ranges (IPv4 or IPv6) of the reverse proxies whose X-Forwarded-* headers count. */
export function parseTrustProxy(src: Source, at: Field | undefined): string[] {
  if (!at) return []
  const hint = 'write the addresses or CIDR ranges of your reverse proxies, like 127.0.0.1 or 10.0.0.0/8'
  return src.words(at).map(({ word, at: item }) => {
    if (!isCidr(word)) src.fail(item, `"${word}" is not an IP address or CIDR range`, hint)
    return word
  })
}

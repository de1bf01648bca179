import path from 'node:path'
import { isScalar } from 'yaml'
import type { Field, Source } from './source.js'
import type { UplinkConfig } from './types.js'

const KEYS = [
  'url', 'timeout', 'maxage', 'fail_timeout', 'max_fails', 'cache', 'headers', 'ca', 'strict_ssl',
  'http_proxy', 'https_proxy', 'no_proxy', 'deadline', 'max_packument_size', 'max_tarball_size', 'tarball_origins',
] as const

const IGNORED: Record<string, string> = {
  auth: 'uplink auth plugins are not supported; put the token in headers (authorization: Bearer ...) instead',
  agent_options: 'HTTP agent options are not supported',
}

/** Verdaccio's top-level `http_proxy`, `https_proxy` and `no_proxy`, which every uplink inherits. */
export interface ProxyDefaults {
  httpProxy?: string
  httpsProxy?: string
  noProxy?: string
}

/**
 * Verdaccio's defaults, except max_fails: Verdaccio opens the circuit after 2 failures, which one
 * flaky minute on a laptop's network reaches easily, and then every uncached install fails for fail_timeout.
 */
const DEFAULTS = { timeout: 30_000, maxage: 2 * 60_000, failTimeout: 5 * 60_000, maxFails: 3 }

/**
 * Bounds on what one uplink answer may cost (not Verdaccio keys). The largest real packuments
 * are ~40 MB of JSON; tarballs of a few hundred MB exist (native binaries). The deadline covers
 * the whole exchange, body included, so a trickling uplink cannot hold a request forever:
 * ten `timeout`s, 5 minutes with the default timeout.
 */
export const LIMIT_DEFAULTS = { maxPackumentSize: 100 * 1024 * 1024, maxTarballSize: 256 * 1024 * 1024, deadlineTimeouts: 10 }

const URL_HINT = 'write the registry address, like https://registry.example.org/'

export function parseUplinks(src: Source, at: Field, dir: string, proxies: ProxyDefaults): Record<string, UplinkConfig> {
  const uplinks: Record<string, UplinkConfig> = {}
  for (const [name, field] of src.entries(at)) uplinks[name] = parseUplink(src, name, field, dir, proxies)
  return uplinks
}

function parseUplink(src: Source, name: string, at: Field, dir: string, proxies: ProxyDefaults): UplinkConfig {
  if (at.node === null) src.fail(at, 'uplink has no url', URL_HINT)
  const f = src.fields(at, KEYS, IGNORED)
  if (!f.url) src.fail(src.child(at, 'url'), 'missing: every uplink needs a url', URL_HINT)
  const timeout = f.timeout ? src.duration(f.timeout, { positive: true }) : DEFAULTS.timeout
  const uplink: UplinkConfig = {
    name,
    url: registryUrl(src, f.url),
    timeout,
    deadline: f.deadline ? src.duration(f.deadline, { positive: true }) : timeout * LIMIT_DEFAULTS.deadlineTimeouts,
    maxPackumentSize: f.max_packument_size ? positiveSize(src, f.max_packument_size) : LIMIT_DEFAULTS.maxPackumentSize,
    maxTarballSize: f.max_tarball_size ? positiveSize(src, f.max_tarball_size) : LIMIT_DEFAULTS.maxTarballSize,
    tarballOrigins: f.tarball_origins ? origins(src, f.tarball_origins) : [],
    maxage: f.maxage ? src.duration(f.maxage) : DEFAULTS.maxage,
    failTimeout: f.fail_timeout ? src.duration(f.fail_timeout) : DEFAULTS.failTimeout,
    maxFails: f.max_fails ? src.integer(f.max_fails, 0, 'write how many failures in a row take the uplink offline, like 3') : DEFAULTS.maxFails,
    cache: f.cache ? src.boolean(f.cache) : true,
    headers: f.headers ? headers(src, f.headers) : {},
    strictSsl: f.strict_ssl ? src.boolean(f.strict_ssl) : true,
    ...proxyOptions(src, f, proxies),
  }
  if (f.ca) {
    const ca = src.string(f.ca, 'write PEM text (-----BEGIN CERTIFICATE-----...) or the path of a PEM file')
    if (ca.startsWith('-----BEGIN')) uplink.ca = ca
    else uplink.caFile = path.resolve(dir, ca)
  }
  return uplink
}

/** http(s) only, no credentials (fetch refuses them), and always ending with '/' so relative URLs resolve below it. */
export function registryUrl(src: Source, at: Field, hint = URL_HINT): string {
  const text = src.string(at, hint)
  let url: URL
  try {
    url = new URL(text)
  } catch {
    src.fail(at, `invalid URL "${text}"`, hint)
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') src.fail(at, `URL "${text}" must start with http:// or https://`, hint)
  if (url.username || url.password) {
    src.fail(at, `URL "${text}" contains a user name or password`, 'remove them from the URL and send credentials in headers (authorization: ...)')
  }
  if (url.search || url.hash) src.fail(at, `URL "${text}" must not have a query or fragment`, hint)
  return url.href.endsWith('/') ? url.href : `${url.href}/`
}

function positiveSize(src: Source, at: Field): number {
  const bytes = src.size(at)
  if (bytes <= 0) src.fail(at, 'size must be more than 0', 'write a size like 100mb')
  return bytes
}

/** `https://cdn.example.org` for each listed URL: only scheme, host and port count. */
function origins(src: Source, at: Field): string[] {
  const hint = 'list the origins tarballs may come from besides the uplink, like https://cdn.example.org'
  return src.words(at).map(({ word, at: item }) => {
    let url: URL
    try {
      url = new URL(word)
    } catch {
      src.fail(item, `invalid URL "${word}"`, hint)
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') src.fail(item, `URL "${word}" must start with http:// or https://`, hint)
    return url.origin
  })
}

function headers(src: Source, at: Field): Record<string, string> {
  const result: Record<string, string> = {}
  for (const [name, field] of src.entries(at)) {
    const value = src.scalar(field)
    if (!isScalar(field.node) || (typeof value !== 'string' && typeof value !== 'number' && typeof value !== 'boolean')) {
      src.fail(field, 'expected a header value as text', 'write one header per line: `name: value`')
    }
    result[name] = String(value)
  }
  return result
}

type ProxyFields = Partial<Record<'http_proxy' | 'https_proxy' | 'no_proxy', Field>>

/** The proxy keys of one map (the top level or an uplink), over `defaults`. Unset keys are left out, not undefined. */
export function proxyOptions(src: Source, f: ProxyFields, defaults: ProxyDefaults = {}): ProxyDefaults {
  const result: ProxyDefaults = { ...defaults }
  if (f.http_proxy) result.httpProxy = proxyUrl(src, f.http_proxy)
  if (f.https_proxy) result.httpsProxy = proxyUrl(src, f.https_proxy)
  if (f.no_proxy) result.noProxy = noProxy(src, f.no_proxy)
  return result
}

/** Unlike registry URLs, a proxy URL may carry credentials (`http://user:pass@proxy:3128`), so it is kept as written. */
function proxyUrl(src: Source, at: Field): string {
  const hint = 'write the proxy address, like http://proxy.example.org:3128'
  const text = src.string(at, hint)
  let protocol: string
  try {
    protocol = new URL(text).protocol
  } catch {
    src.fail(at, `invalid proxy URL "${text}"`, hint)
  }
  if (protocol !== 'http:' && protocol !== 'https:') src.fail(at, `proxy URL "${text}" must start with http:// or https://`, hint)
  return text
}

/** One comma-separated string, whether written as `a, b`, `a b` or a list. */
function noProxy(src: Source, at: Field): string {
  return src.words(at).flatMap(({ word }) => word.split(',')).filter((host) => host !== '').join(',')
}

import path from 'node:path'
import { isMap, isSeq } from 'yaml'
import { isIpv4Cidr } from '../auth/cidr.js'
import { isDatabaseUrl } from '../store/location.js'
import { parseLimits, parseTrustProxy } from './limits.js'
import { DEFAULT_LISTEN, parseListen } from './listen.js'
import { defaultPackageRules, parsePackages } from './packages.js'
import { Source, type Field } from './source.js'
import type { Config, ConfigWarning, LogLevel } from './types.js'
import { parseUplinks, proxyOptions, registryUrl } from './uplinks.js'

const KEYS = [
  'storage', 'listen', 'url_prefix', 'uplinks', 'packages', 'auth', 'max_body_size', 'max_json_depth', 'max_unpacked_size', 'log', 'logs',
  'http_proxy', 'https_proxy', 'no_proxy', 'server', 'https', 'metrics', 'search', 'trust_proxy', 'limits', 'web', 'title',
] as const

const WEB_LOOK = "the web page's look and language are fixed (web.title, web.login and web.enable are read)"
const NO_PLUGINS = 'sinopia-cli does not load Verdaccio plugins'

/** Keys Verdaccio (or Sinopia before it) reads that mean nothing here; anything else gets "unknown key". */
const IGNORED: Record<string, string> = {
  i18n: WEB_LOOK,
  theme: WEB_LOOK,
  plugins: NO_PLUGINS,
  middlewares: NO_PLUGINS,
  store: NO_PLUGINS,
  filters: NO_PLUGINS,
  security: 'Verdaccio token settings do not apply to sinopia-cli',
  secret: 'Verdaccio token settings do not apply to sinopia-cli',
  userRateLimit: 'Verdaccio server tuning does not apply to sinopia-cli',
  user_agent: 'Verdaccio server tuning does not apply to sinopia-cli',
  notify: 'notifications are not supported',
  publish: 'publish options (allow_offline) are not supported',
  experiments: 'Verdaccio feature flags do not apply to sinopia-cli',
  flags: 'Verdaccio feature flags do not apply to sinopia-cli',
  self_path: 'not needed: relative paths resolve against the config file',
  _debug: 'Verdaccio debug switch',
}

const LEVELS: readonly LogLevel[] = ['fatal', 'error', 'warn', 'info', 'http', 'debug', 'trace']
const MAX_BODY_SIZE = 10 * 1024 * 1024
/**
 * Longer than any client keeps an idle socket (npm's agent, undici, browsers: 4-30 s), so the
 * client always closes first: a server that closes an idle socket while the client reuses it
 * makes an ECONNRESET the client has to retry. Verdaccio's default too.
 */
const KEEP_ALIVE_TIMEOUT = 60_000
/** How long npm search waits for an uplink before it answers with the local results alone. */
const SEARCH_TIMEOUT = 3_000
/** Deep enough for any real package document (a manifest's `exports` map is a handful of levels). */
const MAX_JSON_DEPTH = 100
/** Far above any real package's unpacked size at the default max_body_size; far below a gzip bomb. */
const MAX_UNPACKED_SIZE = 256 * 1024 * 1024

/**
 * Reads a Sinopia/Verdaccio config file's text into a validated Config. Pure: `file` (absolute) only
 * anchors relative paths and messages; files named by uplinks' `ca` are read later by loadConfig.
 * Every invalid value is an ECONFIG naming file, line and key; keys it does not use are warnings.
 */
export function parseConfig(text: string, file: string): { config: Config; warnings: ConfigWarning[] } {
  const absolute = path.resolve(file)
  const dir = path.dirname(absolute)
  const src = Source.parse(text, absolute)
  const root = src.root()
  if (root.node !== null && !isMap(root.node)) {
    src.fail(root, 'the config file must be a map of keys (storage:, uplinks:, packages:, ...)', 'start from the default config file')
  }
  const f = src.fields(root, KEYS, IGNORED)

  const proxies = proxyOptions(src, f)
  const uplinks = f.uplinks ? parseUplinks(src, f.uplinks, dir, proxies) : {}
  const names = Object.keys(uplinks)
  const config: Config = {
    file: absolute,
    storage: storageLocation(f.storage ? src.string(f.storage, 'write a folder path, like ./storage, or a postgres:// URL') : './storage', dir),
    listen: f.listen ? listen(src, f.listen) : { ...DEFAULT_LISTEN },
    uplinks,
    packages: f.packages ? parsePackages(src, f.packages, names) : defaultPackageRules(names),
    auth: auth(src, f.auth, dir),
    maxBodySize: f.max_body_size ? src.size(f.max_body_size) : MAX_BODY_SIZE,
    maxJsonDepth: f.max_json_depth ? src.integer(f.max_json_depth, 1, 'write how deep JSON bodies may nest, like 100') : MAX_JSON_DEPTH,
    maxUnpackedSize: f.max_unpacked_size ? src.size(f.max_unpacked_size) : MAX_UNPACKED_SIZE,
    web: webSettings(src, f.web, f.title),
    search: f.search ? searchSettings(src, f.search) : { uplink: true, timeout: SEARCH_TIMEOUT },
    metrics: f.metrics ? metrics(src, f.metrics) : { enabled: true, allow: [] },
    keepAliveTimeout: f.server ? keepAliveTimeout(src, f.server) : KEEP_ALIVE_TIMEOUT,
    ...logSettings(src, f.log, f.logs, dir),
    trustProxy: parseTrustProxy(src, f.trust_proxy),
    limits: parseLimits(src, f.limits),
  }
  if (f.url_prefix) config.urlPrefix = urlPrefix(src, f.url_prefix)
  if (f.https) config.https = httpsFiles(src, f.https, dir)
  if (config.listen.tls && !config.https) {
    src.fail(f.listen ?? root, 'listen is an https:// address but there is no https: {key, cert} (or pfx)', 'add https: {key: ./key.pem, cert: ./cert.pem} or listen on http')
  }
  if (f.https && !config.listen.tls) src.warn(f.https, 'not used: listen is not an https:// address')
  // In file order, not in the order the keys were checked, so they read top to bottom.
  const warnings = [...src.warnings].sort((a, b) => (a.line ?? 0) - (b.line ?? 0))
  return { config, warnings }
}

function listen(src: Source, at: Field): Config['listen'] {
  let first = at
  if (isSeq(at.node)) {
    const [head, ...rest] = src.items(at)
    if (!head) src.fail(at, 'empty list', 'write one address, like 127.0.0.1:4873')
    for (const extra of rest) src.warn(extra, 'ignored: sinopia-cli listens on one address, the first in the list')
    first = head
  }
  const value = src.scalar(first)
  const hint = 'write a port (4873) or host:port (0.0.0.0:4873)'
  if (typeof value !== 'string' && typeof value !== 'number') src.fail(first, 'expected an address', hint)
  return src.attempt(first, () => parseListen(String(value)), hint)
}

/** A path (`/npm`) gets slashes on both ends, a URL a trailing one, so tarball paths can be appended as they are. */
function urlPrefix(src: Source, at: Field): string {
  const hint = 'write a path like /npm/ or a URL like https://npm.example.org/'
  const text = src.string(at, hint)
  if (/^[a-z][a-z0-9+.-]*:/i.test(text)) return registryUrl(src, at, hint)
  const withLeading = text.startsWith('/') ? text : `/${text}`
  return withLeading.endsWith('/') ? withLeading : `${withLeading}/`
}

/** Verdaccio's `https: {key, cert, ca, pfx, passphrase}`: file paths, relative to the config file. */
function httpsFiles(src: Source, at: Field, dir: string): NonNullable<Config['https']> {
  const f = src.fields(at, ['key', 'cert', 'ca', 'pfx', 'passphrase'])
  const hint = 'write a file path, like ./tls/key.pem'
  const files: NonNullable<Config['https']> = {}
  for (const key of ['key', 'cert', 'ca', 'pfx'] as const) {
    const field = f[key]
    if (field) files[key] = path.resolve(dir, src.string(field, hint))
  }
  if (f.passphrase) files.passphrase = src.string(f.passphrase, 'write the passphrase of the key or pfx file')
  if (!files.pfx && !(files.key && files.cert)) src.fail(at, 'needs key and cert (PEM files), or pfx', 'add key: ./key.pem and cert: ./cert.pem')
  return files
}

/** `web: {enable, title, login}`; Sinopia's top-level `title` when web.title is not set. */
function webSettings(src: Source, web: Field | undefined, title: Field | undefined): Config['web'] {
  const settings: Config['web'] = { enabled: true, title: 'sinopia', login: true }
  if (title) settings.title = src.string(title, 'write the name the web page shows')
  if (!web) return settings
  const f = src.fields(web, ['enable', 'title', 'login'], WEB_LOOK)
  if (f.enable) settings.enabled = src.boolean(f.enable)
  if (f.title) settings.title = src.string(f.title, 'write the name the web page shows')
  if (f.login) settings.login = src.boolean(f.login)
  return settings
}

/** `search: {uplink, timeout}`: whether npm search also asks the uplinks, and how long it waits for them. */
function searchSettings(src: Source, at: Field): Config['search'] {
  const f = src.fields(at, ['uplink', 'timeout'])
  return { uplink: f.uplink ? src.boolean(f.uplink) : true, timeout: f.timeout ? src.duration(f.timeout, { positive: true }) : SEARCH_TIMEOUT }
}

/** `metrics: {enabled, allow: [CIDR], token}`: who may scrape `/-/metrics`. */
function metrics(src: Source, at: Field): Config['metrics'] {
  const f = src.fields(at, ['enabled', 'allow', 'token'])
  const result: Config['metrics'] = { enabled: f.enabled ? src.boolean(f.enabled) : true, allow: [] }
  if (f.allow) {
    for (const { word, at: item } of src.words(f.allow)) {
      if (!isIpv4Cidr(word)) src.fail(item, `"${word}" is not an IPv4 address or CIDR block`, 'write addresses like 10.0.0.0/8 or 127.0.0.1')
      result.allow.push(word)
    }
  }
  if (f.token) result.token = src.string(f.token, 'write the bearer token Prometheus sends (authorization.credentials)')
  return result
}

/** Verdaccio's `server: {keepAliveTimeout}` (seconds, or a duration); its other tuning keys mean nothing here. */
function keepAliveTimeout(src: Source, server: Field): number {
  const f = src.fields(server, ['keepAliveTimeout'], 'Verdaccio server tuning other than keepAliveTimeout does not apply to sinopia-cli')
  return f.keepAliveTimeout ? src.duration(f.keepAliveTimeout, { positive: true }) : KEEP_ALIVE_TIMEOUT
}

/**
 * `auth: {htpasswd: {file, max_users}}` (the default: users in that file) or `auth: {store: {max_users}}`
 * (users kept in the store: the database every instance shares, or auth/users.json in a storage folder).
 */
function auth(src: Source, at: Field | undefined, dir: string): Config['auth'] {
  const result: Config['auth'] = { htpasswd: { file: path.resolve(dir, './htpasswd'), maxUsers: Infinity } }
  if (!at) return result
  const plugins = src.fields(at, ['htpasswd', 'store'], 'only the htpasswd auth is supported, or auth.store (users kept in the store)')
  // `store:` with nothing under it counts as set: it reads as "users in the store".
  const store = src.entries(at).find(([key]) => key === 'store')?.[1]
  if (store && plugins.htpasswd) src.fail(store, 'auth.htpasswd and auth.store are both set', 'keep one: the users live in one place')
  if (store) {
    const f = src.fields(store, ['max_users'])
    result.store = { maxUsers: f.max_users ? maxUsers(src, f.max_users) : Infinity }
  }
  if (!plugins.htpasswd) return result
  const f = src.fields(plugins.htpasswd, ['file', 'max_users'], {
    algorithm: 'sinopia-cli chooses the password hash itself',
    rounds: 'sinopia-cli chooses the password hash itself',
    slow_verify_ms: 'not used',
  })
  if (f.file) result.htpasswd.file = path.resolve(dir, src.string(f.file, 'write a file path, like ./htpasswd'))
  if (f.max_users) result.htpasswd.maxUsers = maxUsers(src, f.max_users)
  return result
}

const maxUsers = (src: Source, at: Field) => src.integer(at, -1, 'write the largest number of users, or -1 to turn off self-registration')

/**
 * `log: {type, format, level, path}` (Verdaccio 6), Verdaccio 5's `logs: {...}` or Sinopia's
 * `logs: [{...}]`: where the server logs (stdout, or a file), in which format, from which level.
 */
function logSettings(src: Source, log: Field | undefined, logs: Field | undefined, dir: string): Pick<Config, 'logLevel' | 'logFormat' | 'logFile'> {
  if (log && logs) src.warn(logs, 'ignored: log is set too, and it wins')
  let entry: Field | undefined
  if (log) entry = log
  else if (logs) {
    const [first, ...rest] = isSeq(logs.node) ? src.items(logs) : [logs]
    for (const extra of rest) src.warn(extra, 'ignored: sinopia-cli logs to one place, configured by the first entry')
    entry = first
  }
  const settings: Pick<Config, 'logLevel' | 'logFormat' | 'logFile'> = { logLevel: 'http', logFormat: 'pretty' }
  if (!entry) return settings
  const f = src.fields(entry, ['level', 'type', 'format', 'path'], { colors: 'not used: text lines carry no colours', sync: 'not used: lines are buffered and flushed at exit' })
  if (f.level) {
    const level = src.string(f.level, `write one of: ${LEVELS.join(', ')}`)
    if (!(LEVELS as readonly string[]).includes(level)) src.fail(f.level, `unknown log level "${level}"`, `write one of: ${LEVELS.join(', ')}`)
    settings.logLevel = level as LogLevel
  }
  if (f.format) {
    const format = src.string(f.format, 'write pretty or json')
    // Verdaccio's pretty-timestamped is pretty with times, which every text line has here.
    if (format === 'json') settings.logFormat = 'json'
    else if (format !== 'pretty' && format !== 'pretty-timestamped') src.fail(f.format, `unknown log format "${format}"`, 'write pretty or json')
  }
  const type = f.type ? src.string(f.type, 'write stdout or file') : 'stdout'
  if (type === 'file') {
    if (!f.path) src.fail(f.type ?? entry, 'log type is file but there is no path', 'add path: ./sinopia.log')
    settings.logFile = path.resolve(dir, src.string(f.path, 'write a file path, like ./sinopia.log'))
  } else if (type !== 'stdout' && type !== 'stderr') src.fail(f.type ?? entry, `unknown log type "${type}"`, 'write stdout or file')
  else if (f.path) src.warn(f.path, 'ignored: the log goes to standard output (type: file writes it to path)')
  return settings
}

/** A database URL as it is; a folder resolved against `base` (the config file's folder, or the working directory for an override). */
export function storageLocation(value: string, base: string): string {
  return isDatabaseUrl(value) ? value : path.resolve(base, value)
}

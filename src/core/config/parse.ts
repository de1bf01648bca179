import path from 'node:path'
import { isMap, isSeq } from 'yaml'
import { DEFAULT_LISTEN, parseListen } from './listen.js'
import { defaultPackageRules, parsePackages } from './packages.js'
import { Source, type Field } from './source.js'
import type { Config, ConfigWarning, LogLevel } from './types.js'
import { parseUplinks, proxyOptions, registryUrl } from './uplinks.js'

const KEYS = [
  'storage', 'listen', 'url_prefix', 'uplinks', 'packages', 'auth', 'max_body_size', 'max_json_depth', 'max_unpacked_size', 'log', 'logs',
  'http_proxy', 'https_proxy', 'no_proxy',
] as const

const NO_WEB_UI = 'sinopia-cli has no web UI'
const NO_PLUGINS = 'sinopia-cli does not load Verdaccio plugins'

/** Keys Verdaccio (or Sinopia before it) reads that mean nothing here; anything else gets "unknown key". */
const IGNORED: Record<string, string> = {
  web: NO_WEB_UI,
  title: NO_WEB_UI,
  i18n: NO_WEB_UI,
  theme: NO_WEB_UI,
  plugins: NO_PLUGINS,
  middlewares: NO_PLUGINS,
  store: NO_PLUGINS,
  filters: NO_PLUGINS,
  security: 'Verdaccio token settings do not apply to sinopia-cli',
  secret: 'Verdaccio token settings do not apply to sinopia-cli',
  server: 'Verdaccio server tuning does not apply to sinopia-cli',
  userRateLimit: 'Verdaccio server tuning does not apply to sinopia-cli',
  user_agent: 'Verdaccio server tuning does not apply to sinopia-cli',
  notify: 'notifications are not supported',
  publish: 'publish options (allow_offline) are not supported',
  experiments: 'Verdaccio feature flags do not apply to sinopia-cli',
  flags: 'Verdaccio feature flags do not apply to sinopia-cli',
  self_path: 'not needed: relative paths resolve against the config file',
  https: 'sinopia-cli serves http only; put a TLS-terminating proxy in front for https',
  _debug: 'Verdaccio debug switch',
}

const LEVELS: readonly LogLevel[] = ['fatal', 'error', 'warn', 'info', 'http', 'debug', 'trace']
const MAX_BODY_SIZE = 10 * 1024 * 1024
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
    storage: path.resolve(dir, f.storage ? src.string(f.storage, 'write a folder path, like ./storage') : './storage'),
    listen: f.listen ? listen(src, f.listen) : { ...DEFAULT_LISTEN },
    uplinks,
    packages: f.packages ? parsePackages(src, f.packages, names) : defaultPackageRules(names),
    auth: { htpasswd: htpasswd(src, f.auth, dir) },
    maxBodySize: f.max_body_size ? src.size(f.max_body_size) : MAX_BODY_SIZE,
    maxJsonDepth: f.max_json_depth ? src.integer(f.max_json_depth, 1, 'write how deep JSON bodies may nest, like 100') : MAX_JSON_DEPTH,
    maxUnpackedSize: f.max_unpacked_size ? src.size(f.max_unpacked_size) : MAX_UNPACKED_SIZE,
    logLevel: logLevel(src, f.log, f.logs),
  }
  if (f.url_prefix) config.urlPrefix = urlPrefix(src, f.url_prefix)
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

function htpasswd(src: Source, auth: Field | undefined, dir: string): Config['auth']['htpasswd'] {
  const result = { file: path.resolve(dir, './htpasswd'), maxUsers: Infinity }
  if (!auth) return result
  const plugins = src.fields(auth, ['htpasswd'], 'only the htpasswd auth is supported')
  if (!plugins.htpasswd) return result
  const f = src.fields(plugins.htpasswd, ['file', 'max_users'], {
    algorithm: 'sinopia-cli chooses the password hash itself',
    rounds: 'sinopia-cli chooses the password hash itself',
    slow_verify_ms: 'not used',
  })
  if (f.file) result.file = path.resolve(dir, src.string(f.file, 'write a file path, like ./htpasswd'))
  if (f.max_users) result.maxUsers = src.integer(f.max_users, -1, 'write the largest number of users, or -1 to turn off self-registration')
  return result
}

/** `log: {level}`, Verdaccio 5's `logs: {type, format, level}` or Sinopia's `logs: [{type, format, level}]`. */
function logLevel(src: Source, log: Field | undefined, logs: Field | undefined): LogLevel {
  if (log && logs) src.warn(logs, 'ignored: log is set too, and it wins')
  let at: Field | undefined
  if (log) {
    at = src.fields(log, ['level']).level
  } else if (logs) {
    const [first, ...rest] = isSeq(logs.node) ? src.items(logs) : [logs]
    for (const extra of rest) src.warn(extra, 'ignored: sinopia-cli logs to one place, configured by the first entry')
    if (first) {
      const f = src.fields(first, ['level', 'type', 'format', 'colors', 'path', 'sync'])
      const type = f.type ? src.scalar(f.type) : undefined
      if (f.path || (type !== undefined && type !== 'stdout' && type !== 'stderr')) {
        src.warn(f.path ?? f.type ?? first, 'ignored: log files are not supported')
      }
      at = f.level
    }
  }
  if (!at) return 'http'
  const level = src.string(at, `write one of: ${LEVELS.join(', ')}`)
  if (!(LEVELS as readonly string[]).includes(level)) src.fail(at, `unknown log level "${level}"`, `write one of: ${LEVELS.join(', ')}`)
  return level as LogLevel
}

/** The configuration after parsing and validation: every duration in ms, every size in bytes. */
export interface UplinkConfig {
  name: string
  /** Always ends with '/'. */
  url: string
  /** Request timeout (ms): for the headers, and between two chunks of a body. Verdaccio key `timeout`, default 30s. */
  timeout: number
  /** Longest one uplink request may take, body included (ms). Key `deadline`, default 10 × timeout. */
  deadline: number
  /** Largest packument (bytes, after decompression). Key `max_packument_size`, default 100mb. */
  maxPackumentSize: number
  /** Largest tarball (bytes). Key `max_tarball_size`, default 256mb. */
  maxTarballSize: number
  /**
   * Origins (`https://cdn.example.org`) besides the uplink's own that its packuments may point
   * tarballs at; they get no uplink `headers`. Key `tarball_origins`, default none.
   */
  tarballOrigins: string[]
  /** How long a cached packument counts as fresh (ms). Key `maxage`, default 2m. */
  maxage: number
  /** How long the circuit stays open after `max_fails` failures (ms). Key `fail_timeout`, default 5m. */
  failTimeout: number
  /** Consecutive failures (network errors, timeouts, 5xx) that open the circuit. Key `max_fails`, default 3; 0: never opens. */
  maxFails: number
  /** Whether tarballs from this uplink are stored. Key `cache`, default true. */
  cache: boolean
  /** Extra request headers. Key `headers`. */
  headers: Record<string, string>
  /** PEM bundle: the `ca` value itself when it is PEM text, else the content of the file it names (read by loadConfig). */
  ca?: string
  /** Absolute path of the file `ca` names, when it names one (`ca` relative paths resolve against the config file's folder). */
  caFile?: string
  /** Key `strict_ssl`, default true. */
  strictSsl: boolean
  /** Per-uplink proxy overrides (Verdaccio keys `http_proxy`, `https_proxy`, `no_proxy`); env vars otherwise. */
  httpProxy?: string
  httpsProxy?: string
  noProxy?: string
}

export interface PackageRule {
  /** The glob as written in the config (`@*\/*`, `local-*`, `**`). */
  pattern: string
  access: string[]
  publish: string[]
  /** Falls back to `publish` when not set. */
  unpublish: string[]
  /** Uplink names, in order. Empty: the package is never proxied. */
  proxy: string[]
  /**
   * Who may override an uplink package: publish a name whose uplink copy exists, or move its
   * `latest`. Key `override`; absent (the default): nobody.
   */
  override?: string[]
}

export interface ListenAddress {
  host: string
  port: number
  /** `listen: https://...`: serve HTTP/1.1 over TLS with the `https` files. */
  tls?: boolean
}

/** Verdaccio's `https: {key, cert, ca, pfx, passphrase}`: absolute paths of PEM (or PKCS#12) files, read at start and on SIGHUP. */
export interface HttpsFiles {
  key?: string
  cert?: string
  ca?: string
  pfx?: string
  passphrase?: string
}

export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'http' | 'debug' | 'trace'

/** `pretty`: text lines; `json`: one JSON object per line, for log shippers. */
export type LogFormat = 'pretty' | 'json'

export interface Config {
  /** Absolute path of the config file this came from. */
  file: string
  /**
   * Where the store is: a `postgres://` or `postgresql://` URL as written (it may hold a password:
   * print it only through redactLocation), else the absolute path of the storage folder
   * (relative paths resolve against the config file's folder).
   */
  storage: string
  /** The `--storage` flag or $SINOPIA_STORAGE that overrode the file's `storage` (so a reload keeps it). */
  storageOverride?: string
  listen: ListenAddress
  /**
   * Public URL (`https://host/npm/`) or path prefix (`/npm/`) that tarball URLs are rewritten to; undefined: from the
   * request. Always ends with '/'; a path always starts with '/'.
   */
  urlPrefix?: string
  /** Key `https`; used when `listen` is an https:// address. */
  https?: HttpsFiles
  uplinks: Record<string, UplinkConfig>
  /** In config order: the first rule whose pattern matches a name applies. */
  packages: PackageRule[]
  auth: {
    htpasswd: {
      /** Absolute path. */
      file: string
      /** -1: self-registration off; Infinity when not set. */
      maxUsers: number
    }
    /**
     * Key `auth.store`: the users are kept in the store (store.users) instead of the htpasswd file,
     * so every instance on one database shares them. `maxUsers` as htpasswd's.
     */
    store?: { maxUsers: number }
  }
  /** Bytes. Key `max_body_size`, default 10mb. */
  maxBodySize: number
  /** Verdaccio's `web: {enable, title, login}` (Sinopia's top-level `title` too); default on, "sinopia", with a login. */
  web: { enabled: boolean; title: string; login: boolean }
  /** `npm search` also asks the uplinks (key `search: {uplink, timeout}`, default on, 3 s); local results come first. */
  search: { uplink: boolean; timeout: number }
  /** `GET /-/metrics`: key `metrics: {enabled, allow, token}`; default on, open to anyone (counts only, no names). */
  metrics: { enabled: boolean; allow: string[]; token?: string }
  /** How long an idle client connection stays open (ms). Key `server.keepAliveTimeout` (seconds, as Verdaccio), default 60 s. */
  keepAliveTimeout: number
  /** Deepest nesting of arrays and objects in a JSON request body. Key `max_json_depth`, default 100. */
  maxJsonDepth: number
  /** Bytes a published tarball may inflate to (its tar stream). Key `max_unpacked_size`, default 256mb. */
  maxUnpackedSize: number
  logLevel: LogLevel
  /** Key `log.format` (Verdaccio's), default pretty. */
  logFormat: LogFormat
  /** Absolute path for `log: {type: file, path}`; standard output when not set. */
  logFile?: string
  /** Key `trust_proxy`: addresses/CIDRs whose X-Forwarded-Host/-Proto are believed. Default none. */
  trustProxy: string[]
  /** Key `limits` (see limits.ts for the defaults). */
  limits: Limits
}

/** What one client can make the server hold or spend; sizes in bytes, times in ms. */
export interface Limits {
  /** `readme_size`: README bytes rendered on a package page; longer ones are cut. */
  readmeSize: number
  /** `readme_render_time`: past it the renderer is stopped and the README shown as plain text. */
  readmeRenderTime: number
  /** `readme_queue`: READMEs waiting for the renderer at most; past it a page shows plain text (not kept). */
  readmeQueue: number
  /** `login_failures`: wrong passwords per user and address (and 5x that per address) within the window. */
  loginFailures: number
  /** `login_window`: how long failures count. */
  loginWindow: number
  /** `login_tracked`: failure counters kept at most (oldest dropped first). */
  loginTracked: number
  /** `web_sessions`: web-page logins kept at most (oldest dropped first). */
  webSessions: number
  /** `pending_logins`: npm web logins in progress at most. */
  pendingLogins: number
  /** `pending_logins_per_address`: npm web logins in progress per client address. */
  pendingLoginsPerAddress: number
  /** `audit_body_size`: an `npm audit` body, after gunzip. */
  auditBodySize: number
}

export interface ConfigWarning {
  /** Key path, e.g. `uplinks.npmjs.agent_options` or `packages['@*\/*'].storage`. */
  key: string
  /** 1-based line in the config file. */
  line?: number
  /** Self-contained: `<file>:<line>: <key>: <problem>`. */
  message: string
}

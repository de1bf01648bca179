/** The configuration after parsing and validation: every duration in ms, every size in bytes. */
export interface UplinkConfig {
  name: string
  /** Always ends with '/'. */
  url: string
  /** Request timeout (ms). Verdaccio key `timeout`, default 30s. */
  timeout: number
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
}

export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'http' | 'debug' | 'trace'

export interface Config {
  /** Absolute path of the config file this came from. */
  file: string
  /** Absolute path of the storage folder (relative paths resolve against the config file's folder). */
  storage: string
  listen: ListenAddress
  /**
   * Public URL (`https://host/npm/`) or path prefix (`/npm/`) that tarball URLs are rewritten to; undefined: from the
   * request. Always ends with '/'; a path always starts with '/'.
   */
  urlPrefix?: string
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
  }
  /** Bytes. Key `max_body_size`, default 10mb. */
  maxBodySize: number
  /** Deepest nesting of arrays and objects in a JSON request body. Key `max_json_depth`, default 100. */
  maxJsonDepth: number
  /** Bytes a published tarball may inflate to (its tar stream). Key `max_unpacked_size`, default 256mb. */
  maxUnpackedSize: number
  logLevel: LogLevel
}

export interface ConfigWarning {
  /** Key path, e.g. `uplinks.npmjs.agent_options` or `packages['@*\/*'].storage`. */
  key: string
  /** 1-based line in the config file. */
  line?: number
  /** Self-contained: `<file>:<line>: <key>: <problem>`. */
  message: string
}

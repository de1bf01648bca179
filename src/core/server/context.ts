import type { Auth } from '../auth/index.js'
import type { Config } from '../config/types.js'
import type { Logger } from '../log.js'
import type { Registry } from '../registry/index.js'
import type { SearchIndex } from '../search/index.js'
import type { UpstreamClient } from '../upstream/client.js'
import type { ReadmeRenderer, WebSessions } from '../web/index.js'
import type { BodyCache } from './bodies.js'
import type { Health } from './health.js'
import type { Metrics } from './metrics.js'

/** What every route reads: built once by createApp, passed in, never imported as a global. */
export interface ServerContext {
  config: Config
  registry: Registry
  upstream: UpstreamClient
  auth: Auth
  bodies: BodyCache
  log: Logger
  /** Summaries of every package, for npm search and the web pages; kept current from registry events. */
  search: SearchIndex
  /** Logins of the web pages (cookie sessions); identify() reads them on GET and HEAD only. */
  webSessions: WebSessions
  /** Prometheus counters and histograms, updated by the request log. */
  metrics: Metrics
  /** Readiness (storage writable), probed in the background. */
  health: Health
  /** README rendering for the package pages, in a worker thread (stopped when the server closes). */
  readmes: ReadmeRenderer
  /** host:port for tarball URLs when a request carries no usable Host header. */
  hostForUrls: string
}

import type { Auth } from '../auth/index.js'
import type { Config } from '../config/types.js'
import type { Logger } from '../log.js'
import type { Registry } from '../registry/index.js'
import type { UpstreamClient } from '../upstream/client.js'
import type { BodyCache } from './bodies.js'

/** What every route reads: built once by createApp, passed in, never imported as a global. */
export interface ServerContext {
  config: Config
  registry: Registry
  upstream: UpstreamClient
  auth: Auth
  bodies: BodyCache
  log: Logger
  /** host:port for tarball URLs when a request carries no usable Host header. */
  hostForUrls: string
}

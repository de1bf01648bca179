import type { Config } from '../config/types.js'
import { Registry } from '../registry/index.js'
import { openStore, type Store } from '../store/index.js'
import { UpstreamClient } from '../upstream/client.js'

export interface OpenRegistry {
  registry: Registry
  store: Store
  /** Closes the uplink connections. */
  close: () => Promise<void>
}

/**
 * The store, the one uplink client and the registry over them, built as `serve` builds them, so
 * lock-sync and mirror fetch and write through the same code (and the same locks) as the server.
 */
export async function openRegistry(config: Config): Promise<OpenRegistry> {
  const store = await openStore(config.storage)
  const upstream = new UpstreamClient(config.uplinks)
  return { registry: new Registry(config, store, upstream), store, close: () => upstream.close() }
}

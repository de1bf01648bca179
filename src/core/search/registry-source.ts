import type { Registry } from '../registry/index.js'
import type { SummarySource } from './search-index.js'

/**
 * Summaries from the registry: the names with a folder in the store, and each package's
 * merged document as served (local versions over the cached uplink copy), read once. The stamp
 * is that of the two documents the summary comes from (see PackageStore.stamp); the store's
 * change feed and snapshot slot make the stamps needless (see SearchIndex).
 */
export function registrySource(registry: Registry): SummarySource {
  return {
    names: () => registry.store.packages.list(),
    // From the files, not the packuments' memo: the stamp read just before may be of a change
    // that memo has not seen yet (another process's publish). Big documents are read off the event loop.
    load: (name) => registry.packuments.summary(name),
    stamp: (name) => registry.store.packages.stamp(name),
    feed: registry.store.packages,
  }
}

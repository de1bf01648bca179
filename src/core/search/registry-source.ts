import type { Registry } from '../registry/index.js'
import type { SummarySource } from './search-index.js'
import { summarize } from './summary.js'

/**
 * Summaries from the registry: the names with a folder in the store, and each package's
 * merged document as served (local versions over the cached uplink copy), read once.
 * A package counts as local when at least one of its versions was published here. The stamp
 * is that of the two documents the summary comes from (see PackageStore.stamp).
 */
export function registrySource(registry: Registry): SummarySource {
  return {
    names: () => registry.store.packages.list(),
    async load(name) {
      // Read from the file, not the packuments' one-second memo: the stamp read just before
      // may be of a change that memo has not seen yet (another process's publish).
      const local = await registry.packuments.local(name, true)
      const doc = await registry.packuments.document(name)
      if (!doc) return null
      const origin = local && Object.keys(local.doc.versions).length > 0 ? 'local' : 'cached'
      return summarize(name, doc, origin, local?.doc.users)
    },
    stamp: (name) => registry.store.packages.stamp(name),
  }
}

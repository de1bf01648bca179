import type { LockedPackage } from '../lockfiles/index.js'
import type { Registry } from '../registry/index.js'
import { expectedIntegrity, tarballKey } from '../store/index.js'
import { MirrorResolver, type MirrorOptions } from '../sync/mirror.js'
import { Syncer, codeOf, messageOf, type SyncOptions } from '../sync/sync.js'
import type { SyncSummary } from '../sync/events.js'

export type BundleInput =
  | { kind: 'lockfiles'; packages: LockedPackage[]; skipped: SyncSummary['skipped'] }
  | { kind: 'specs'; specs: string[]; options: Omit<MirrorOptions, 'allVersions'> }
  | { kind: 'all' }

export interface Collected {
  /** name@version pairs the store now holds, with packument and verified tarball. */
  packages: Array<{ name: string; version: string }>
  /** The fill's summary (lockfiles and specs); null for --all, which fetches nothing. */
  sync: SyncSummary | null
  failed: SyncSummary['failed']
}

/**
 * Makes the store hold what the bundle is to carry, as lock-sync and mirror do (the same Syncer,
 * resolver, uplink client and verified download path), and returns the name@version pairs done.
 * `all` takes every version of every package whose tarball the store holds, and fetches nothing.
 */
export async function collectPackages(registry: Registry, input: BundleInput, options: SyncOptions): Promise<Collected> {
  if (input.kind === 'all') return collectStore(registry)
  const packages: Collected['packages'] = []
  const forward = options.onEvent
  const syncer = new Syncer(registry, {
    ...options,
    onEvent: (event) => {
      if (event.type === 'done') packages.push({ name: event.name, version: event.version })
      forward?.(event)
    },
  })
  if (input.kind === 'lockfiles') {
    syncer.skip(input.skipped)
    syncer.add(input.packages)
  } else {
    new MirrorResolver(registry, syncer, { ...input.options, allVersions: false }).add(input.specs)
  }
  const sync = await syncer.finish()
  return { packages, sync, failed: sync.failed }
}

async function collectStore(registry: Registry): Promise<Collected> {
  const { store } = registry
  const packages: Collected['packages'] = []
  const failed: Collected['failed'] = []
  for (const name of await store.packages.list()) {
    try {
      const doc = await registry.packuments.document(name)
      for (const manifest of Object.values(doc?.versions ?? {})) {
        if (await store.blobs.has(expectedIntegrity(manifest.dist) ?? undefined, tarballKey(name, manifest.version))) packages.push({ name, version: manifest.version })
      }
    } catch (error) {
      failed.push({ package: name, code: codeOf(error), message: messageOf(error) })
    }
  }
  return { packages, sync: null, failed }
}

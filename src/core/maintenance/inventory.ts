import { SinopiaError } from '../errors.js'
import type { BlobEntry, PackageScan, ScanDepth, Store, Usage } from '../store/index.js'

export type { PackageScan } from '../store/index.js'

/** What maintenance holds of a store: per package, never per blob (the blob index is streamed: Blobs.eachEntry). */
export interface Inventory {
  packages: Map<string, PackageScan>
  usage: Usage
  /** Why the usage records could not be read (then only index times count as uses). */
  usageProblem: string | null
  /** sha512 of every tarball published here: these bytes never go. */
  localIntegrities: Set<string>
}

/** When a blob was last used: the later of its last serving (usage.json) and its fetch (index time). */
export function lastUseOf(entry: BlobEntry, usage: Usage): number {
  return Math.max(entry.time, usage.get(entry.key) ?? 0)
}

/** The usage records, or why they could not be read (then only index times count as uses). */
export async function readUsage(store: Store): Promise<Pick<Inventory, 'usage' | 'usageProblem'>> {
  try {
    return { usage: await store.usage.read(), usageProblem: null }
  } catch (error) {
    if (!(error instanceof SinopiaError)) throw error
    return { usage: new Map(), usageProblem: error.message }
  }
}

/**
 * Reads the usage records (unless given) and every package's documents, at `depth` (see
 * ScanDepth). Broken files are recorded, not thrown. With `keep`, only the scans of packages
 * with versions published here and those `keep` says yes to are held.
 */
export async function scanStore(
  store: Store,
  options: { records?: Pick<Inventory, 'usage' | 'usageProblem'>; depth?: ScanDepth; keep?: (scan: PackageScan) => boolean } = {},
): Promise<Inventory> {
  const { usage, usageProblem } = options.records ?? (await readUsage(store))
  const scans: PackageScan[] = []
  const keep = options.keep ?? (() => true)
  await eachScan(store, options.depth ?? 'parse', (scan) => {
    if (scan.local !== null || keep(scan)) scans.push(scan)
  })
  scans.sort((a, b) => (a.name < b.name ? -1 : 1))
  const packages = new Map<string, PackageScan>()
  const localIntegrities = new Set<string>()
  for (const scan of scans) {
    for (const integrity of scan.local?.values() ?? []) if (integrity) localIntegrities.add(integrity)
    packages.set(scan.name, scan)
  }
  return { packages, usage, usageProblem, localIntegrities }
}

/**
 * Scans every package (Packages.scan, at `depth`), `fn` getting each scan as it is ready, in
 * no promised order: what a caller that keeps only totals holds is a few scans.
 */
export async function eachScan(store: Store, depth: ScanDepth, fn: (scan: PackageScan) => void): Promise<void> {
  for await (const scan of store.packages.scan(await store.packages.list(), depth)) fn(scan)
}

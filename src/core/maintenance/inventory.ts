import { eachLimited } from '../each-limited.js'
import { SinopiaError } from '../errors.js'
import { decodeFetched, decodeUpstream, expectedIntegrity, parseJson, sha512Of, type BlobEntry, type DocumentKind, type LocalDoc, type Manifest, type Store, type Usage } from '../store/index.js'

/** What the store says about one package, reduced to what maintenance needs. */
export interface PackageScan {
  name: string
  /** Versions published here -> the sha512 of their tarball (null when they only carry a sha1). Null: no local.json. */
  local: Map<string, string | null> | null
  /**
   * How many versions the cached uplink packument lists; null: no upstream.json. A count, not
   * the versions' digests: nothing needs those, and a scan keeps one of these per package (a
   * million digests for a store of a million tarballs).
   */
  upstream: number | null
  /** ms of the last 200/304 from the uplink, when known. */
  fetchedAt: number | null
  /** Bytes of the package's documents (upstream, fetched, local) together. */
  metadataBytes: number
  /** Bytes of the upstream document alone (the cached packument). */
  upstreamBytes: number
  /** Documents that could not be read, with where they are and why. */
  broken: Array<{ document: DocumentKind; file: string; message: string }>
}

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

/** Reads the usage records (unless given) and every package's documents. Broken files are recorded, not thrown. */
export async function scanStore(store: Store, records?: Pick<Inventory, 'usage' | 'usageProblem'>): Promise<Inventory> {
  const { usage, usageProblem } = records ?? (await readUsage(store))
  const scans: PackageScan[] = []
  await eachScan(store, (scan, at) => {
    scans[at] = scan
  })
  const packages = new Map<string, PackageScan>()
  const localIntegrities = new Set<string>()
  for (const scan of scans) {
    for (const integrity of scan.local?.values() ?? []) if (integrity) localIntegrities.add(integrity)
    packages.set(scan.name, scan)
  }
  return { packages, usage, usageProblem, localIntegrities }
}

/**
 * Scans every package, `fn` getting each scan (and the package's place in name order) as it
 * is read, in no promised order: what a caller that keeps only totals holds is a few scans.
 */
export async function eachScan(store: Store, fn: (scan: PackageScan, at: number) => void): Promise<void> {
  const names = await store.packages.list()
  await eachLimited([...names.keys()], SCAN_CONCURRENCY, async (at) => fn(await scanPackage(store, names[at] as string), at))
}

/**
 * Packages read at once by a scan. A store whose reads are round trips (PostgreSQL: one query
 * per package) waits for each in turn when one at a time; a few in flight keep it busy and hold
 * no more than a few documents at once. A folder reads with blocking calls: this changes nothing there.
 */
const SCAN_CONCURRENCY = 8

/** One package's documents, read at once (Packages.readDocuments) and decoded as their own reads would. */
export async function scanPackage(store: Store, name: string): Promise<PackageScan> {
  const scan: PackageScan = { name, local: null, upstream: null, fetchedAt: null, metadataBytes: 0, upstreamBytes: 0, broken: [] }
  const documents = await store.packages.readDocuments(name)
  scan.upstreamBytes = documents.upstream?.bytes ?? 0
  scan.metadataBytes = scan.upstreamBytes + (documents.fetched?.bytes ?? 0) + (documents.local?.bytes ?? 0)
  const where = (kind: DocumentKind) => store.packages.where(name, kind)
  attempt(store, scan, 'upstream', () => {
    if (documents.upstream) scan.upstream = Object.keys(decodeUpstream(documents.upstream.text, where('upstream')).doc.versions).length
  })
  attempt(store, scan, 'fetched', () => {
    const fetched = documents.fetched && decodeFetched(documents.fetched.text, where('fetched'))
    if (fetched && typeof fetched.fetchedAt !== 'number') throw new SinopiaError('ECORRUPT', `${where('fetched')} has no fetchedAt`)
    scan.fetchedAt = fetched?.fetchedAt ?? null
  })
  attempt(store, scan, 'local', () => {
    const local = documents.local && parseJson<LocalDoc>(documents.local.text, where('local'))
    if (local && (!local.versions || typeof local.versions !== 'object')) {
      throw new SinopiaError('ECORRUPT', `${where('local')} has no versions`)
    }
    if (local) scan.local = digests(local.versions)
  })
  return scan
}

function digests(versions: Record<string, Manifest>): Map<string, string | null> {
  const out = new Map<string, string | null>()
  for (const [version, manifest] of Object.entries(versions)) {
    out.set(version, sha512Of(expectedIntegrity(manifest && typeof manifest === 'object' ? manifest.dist : undefined) ?? undefined))
  }
  return out
}

function attempt(store: Store, scan: PackageScan, document: DocumentKind, read: () => void): void {
  try {
    read()
  } catch (error) {
    if (!(error instanceof SinopiaError)) throw error
    scan.broken.push({ document, file: store.packages.where(scan.name, document), message: error.message })
  }
}

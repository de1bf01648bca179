import { eachLimited } from '../each-limited.js'
import { SinopiaError } from '../errors.js'
import { parseTarballKey, tarballKey, type Store } from '../store/index.js'
import { contentId } from './content-id.js'
import { scanPackage } from './inventory.js'

/** Packages whose documents are read at once (see SCAN_CONCURRENCY in inventory.ts). */
const METADATA_CONCURRENCY = 8

export interface VerifyProgress {
  phase: 'blobs' | 'index' | 'metadata'
  done: number
  total: number
}

export interface VerifyReport {
  blobs: {
    checked: number
    bytes: number
    corrupt: Array<{ integrity: string; size: number; quarantined: string | null }>
    /** Blobs that could not be read (EIO, ...): left where they are, a read error says nothing about the bytes. */
    unreadable: Array<{ integrity: string; path: string; code: string }>
  }
  entries: { checked: number; dangling: Array<{ key: string; integrity: string; why: 'missing' | 'corrupt'; dropped: boolean }> }
  metadata: { packages: number; broken: Array<{ file: string; message: string; quarantined: string | null }> }
  /** Versions published here whose tarball is missing or corrupt: only a new publish brings them back. */
  missingLocal: Array<{ name: string; version: string }>
  /** Content no index entry or published version refers to; not a problem (prune collects it). */
  orphans: number
  /** Problems that remain (after --fix, the ones it could not fix). */
  problems: number
}

/**
 * Re-hashes every blob against the digest its path names, checks that every index entry has
 * intact content, that every metadata file parses and that every version published here has
 * its tarball. With `fix`: corrupt blobs and unparsable upstream/fetched documents move to the
 * quarantine, broken usage records are cleared, and index entries left without content are dropped, so the
 * server fetches those tarballs and packuments again on the next request. Safe while servers run.
 */
export async function verifyStore(store: Store, options: { fix?: boolean; onProgress?: (p: VerifyProgress) => void } = {}): Promise<VerifyReport> {
  const fix = options.fix ?? false
  const progress = options.onProgress ?? (() => undefined)
  const report: VerifyReport = {
    blobs: { checked: 0, bytes: 0, corrupt: [], unreadable: [] },
    entries: { checked: 0, dangling: [] },
    metadata: { packages: 0, broken: [] },
    missingLocal: [],
    orphans: 0,
    problems: 0,
  }
  // The index first: content written after this is then never mistaken for missing.
  // Each indexed content (by contentId) -> whether it was found intact: one slot per distinct
  // content (~60 bytes), the least that tells orphans from referenced content while the content
  // streams past. The entries themselves are streamed, a second time only when something is amiss.
  const found = new Map<string, boolean>()
  let indexed = 0
  const walkIndex = async () => {
    for await (const entry of store.blobs.eachEntry()) {
      indexed++
      found.set(contentId(entry.integrity), false)
    }
  }

  // The metadata before the content: what was published here is then known while the content
  // streams past, so nothing of the content listing has to be kept (a million blobs' paths and
  // digests would be hundreds of MB). Read beside the index walk (neither needs the other), a
  // few packages at once; the broken ones are handled after, in name order.
  const names = await store.packages.list()
  const localVersions = new Map<string, Map<string, string | null>>()
  const localIntegrities = new Set<string>()
  const brokenScans: Array<{ name: string; broken: Awaited<ReturnType<typeof scanPackage>>['broken'] }> = []
  let read = 0
  const readMetadata = () =>
    eachLimited(names, METADATA_CONCURRENCY, async (name) => {
      const scan = await scanPackage(store, name)
      progress({ phase: 'metadata', done: read++, total: names.length })
      if (scan.local) {
        localVersions.set(name, scan.local)
        for (const sha512 of scan.local.values()) if (sha512) localIntegrities.add(sha512)
      }
      if (scan.broken.length > 0) brokenScans.push({ name, broken: scan.broken })
    })
  await Promise.all([walkIndex(), readMetadata()])
  report.metadata.packages = names.length
  brokenScans.sort((a, b) => (a.name < b.name ? -1 : 1))
  for (const { name, broken: documents } of brokenScans) {
    for (const broken of documents) {
      // local.json is what was published here: there is no other copy to fall back to.
      const movable = fix && broken.document !== 'local'
      const quarantined = movable ? await store.packages.withLock(name, () => store.quarantine.document(name, broken.document)) : null
      report.metadata.broken.push({ file: broken.file, message: broken.message, quarantined })
    }
  }
  try {
    await store.usage.read()
  } catch (error) {
    if (!(error instanceof SinopiaError)) throw error
    // A recency hint only: without it prune counts fetch times alone.
    if (fix) await store.usage.clear()
    report.metadata.broken.push({ file: store.usage.where(), message: error.message, quarantined: fix ? '(removed)' : null })
  }
  progress({ phase: 'metadata', done: names.length, total: names.length })

  // Each content is checked as the store's walk yields it (checkContent: in as few steps per
  // content as the store can take). The total is not known before the walk ends: the indexed
  // digests stand in for it meanwhile.
  const corrupt = new Set<string>()
  let listed = 0
  for await (const checked of store.blobs.checkContent()) {
    progress({ phase: 'blobs', done: listed, total: Math.max(found.size, listed) })
    listed++
    if (checked.result === 'unreadable') {
      report.blobs.unreadable.push({ integrity: checked.integrity, path: checked.location, code: checked.code })
      continue
    }
    report.blobs.checked++
    report.blobs.bytes += checked.size
    const id = contentId(checked.integrity)
    if (checked.result === 'ok') {
      if (found.has(id)) found.set(id, true)
      else if (!localIntegrities.has(checked.integrity)) report.orphans++
      continue
    }
    corrupt.add(checked.integrity)
    const quarantined = fix ? await store.blobs.quarantine(checked.integrity) : null
    report.blobs.corrupt.push({ integrity: checked.integrity, size: checked.size, quarantined })
  }
  progress({ phase: 'blobs', done: listed, total: listed })

  // Only content found missing or corrupt makes an entry dangle: when every indexed content was
  // found intact, a second walk of the index has nothing to find (entries written since the first
  // walk are new, and their content was checked as it was stored).
  let allFound = corrupt.size === 0
  for (const ok of found.values()) if (!ok) allFound = false
  let i = 0
  if (allFound) {
    report.entries.checked = indexed
    i = indexed
  } else {
    for await (const entry of store.blobs.eachEntry()) {
      progress({ phase: 'index', done: i, total: Math.max(indexed, i) })
      i++
      report.entries.checked++
      let why: 'missing' | 'corrupt' | null = corrupt.has(entry.integrity) ? 'corrupt' : null
      if (!why && found.get(contentId(entry.integrity)) !== true && !(await store.blobs.hasContent(entry.integrity))) why = 'missing'
      if (!why) continue
      const parsed = parseTarballKey(entry.key)
      // A published version's entry stays: it is reported under missingLocal, and no uplink can fill it in.
      if (parsed && localVersions.get(parsed.name)?.has(parsed.version)) continue
      if (fix) await store.blobs.dropEntry(entry.key)
      report.entries.dangling.push({ key: entry.key, integrity: entry.integrity, why, dropped: fix })
    }
  }
  progress({ phase: 'index', done: i, total: i })

  for (const [name, versions] of localVersions) {
    for (const [version, sha512] of versions) {
      // A version with only a sha1 in its manifest: the index entry names its sha512.
      const integrity = sha512 ?? (await store.blobs.entry(tarballKey(name, version)))?.integrity ?? null
      const intact = integrity !== null && !corrupt.has(integrity) && (found.get(contentId(integrity)) === true || (await store.blobs.hasContent(integrity)))
      if (!intact) report.missingLocal.push({ name, version })
    }
  }

  // The walk above went over every content file: with --fix, its count becomes the totals.
  if (fix) await store.blobs.recount()

  report.problems =
    report.blobs.corrupt.filter((b) => !b.quarantined).length +
    report.blobs.unreadable.length +
    // An entry whose blob is corrupt is the same problem as the blob, counted there.
    report.entries.dangling.filter((d) => !d.dropped && d.why === 'missing').length +
    report.metadata.broken.filter((b) => !b.quarantined).length +
    report.missingLocal.length
  return report
}

import { SinopiaError } from '../errors.js'
import { parseTarballKey, tarballKey, type PackageScan, type Store } from '../store/index.js'
import { ContentTable } from './content-table.js'

/** A content's flags: an index entry names it; its file was hashed and matched its name; a version published here names it. */
const INDEXED = 1
const INTACT = 2
const LOCAL = 4

/**
 * 'checking': the blobs are hashed, the index read and the packages' documents checked, side by
 * side; 'index': a second walk of the index, only when some content was missing or corrupt.
 */
export interface VerifyProgress {
  phase: 'checking' | 'index'
  /** Blobs hashed, index entries read, packages read (of `packages`). */
  blobs: number
  entries: number
  done: number
  packages: number
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
  // The blobs are hashed, the index is read and the documents are checked at the same time, on
  // threads of their own where the store has them (the folder store: see its checkContent,
  // eachEntry and scan; part of the hashing stays on this thread).
  // Each content gets one slot of flags, the least that tells orphans, dangling entries and
  // intact content apart once all three are done (13 bytes per content, see ContentTable):
  // nothing of the content listing or of the index is kept (a million blobs' paths and digests
  // would be hundreds of MB). The entries are walked a second time only when something is amiss.
  const flags = new ContentTable(await store.blobs.countHint(), { narrow: true })
  const names = await store.packages.list()
  const counts = { blobs: 0, entries: 0, done: 0 }
  const tell = (phase: VerifyProgress['phase']) => progress({ phase, ...counts, packages: names.length })
  // One part failing stops the others (leaving a walk ends its thread): a failed verify fixes nothing more.
  let failed = false
  const walkIndex = async () => {
    for await (const entry of store.blobs.eachEntry()) {
      if (failed) break
      counts.entries++
      flags.mark(entry.integrity, INDEXED)
    }
  }

  const corrupt = new Set<string>()
  // The content's helper threads start when the index walk (and its thread) is done: at 1.09M
  // tarballs one thread fewer at a time is ~20 MiB off verify's peak (215 -> 195), and the helper
  // takes fewer folders.
  const checkContent = async (indexWalked: Promise<void>) => {
    for await (const checked of store.blobs.checkContent({ helpersAfter: indexWalked })) {
      if (failed) break
      counts.blobs++
      if (counts.blobs % 512 === 0) tell('checking')
      if (checked.result === 'unreadable') {
        report.blobs.unreadable.push({ integrity: checked.integrity, path: checked.location, code: checked.code })
        continue
      }
      report.blobs.checked++
      report.blobs.bytes += checked.size
      if (checked.result === 'ok') {
        flags.mark(checked.integrity, INTACT)
        continue
      }
      corrupt.add(checked.integrity)
      const quarantined = fix ? await store.blobs.quarantine(checked.integrity) : null
      report.blobs.corrupt.push({ integrity: checked.integrity, size: checked.size, quarantined })
    }
  }

  // The broken ones are handled after, in name order.
  const localVersions = new Map<string, Map<string, string | null>>()
  const brokenScans: Array<Pick<PackageScan, 'name' | 'broken'>> = []
  const readMetadata = async () => {
    for await (const scan of store.packages.scan(names, 'parse')) {
      if (failed) break
      counts.done++
      if (counts.done % 512 === 0) tell('checking')
      if (scan.local) {
        localVersions.set(scan.name, scan.local)
        for (const sha512 of scan.local.values()) if (sha512) flags.mark(sha512, LOCAL)
      }
      if (scan.broken.length > 0) brokenScans.push(scan)
    }
  }
  const run = (part: () => Promise<void>) =>
    part().catch((error: unknown) => {
      failed = true
      throw error
    })
  const indexWalked = run(walkIndex)
  const parts = await Promise.allSettled([indexWalked, run(() => checkContent(indexWalked)), run(readMetadata)])
  for (const part of parts) if (part.status === 'rejected') throw part.reason
  tell('checking')
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

  // Content no entry names, and no version published here: prune's to collect. Content stored
  // while the walks ran can show here (its entry written behind the index walk): a count only.
  let allFound = corrupt.size === 0
  for (const found of flags.eachValue()) {
    if (found === INTACT) report.orphans++
    if ((found & (INDEXED | INTACT)) === INDEXED) allFound = false
  }
  const intact = (integrity: string) => (flags.get(integrity) & INTACT) !== 0

  // Only content found missing or corrupt makes an entry dangle: when every indexed content was
  // found intact, a second walk of the index has nothing to find (entries written since the first
  // walk are new, and their content was checked as it was stored). Content written while the
  // walks ran can have its entry read but not its file: it is looked for again before it counts.
  if (allFound) {
    report.entries.checked = counts.entries
  } else {
    tell('index')
    counts.entries = 0
    for await (const entry of store.blobs.eachEntry()) {
      counts.entries++
      if (counts.entries % 512 === 0) tell('index')
      report.entries.checked++
      let why: 'missing' | 'corrupt' | null = corrupt.has(entry.integrity) ? 'corrupt' : null
      if (!why && !intact(entry.integrity) && !(await store.blobs.hasContent(entry.integrity))) why = 'missing'
      if (!why) continue
      const parsed = parseTarballKey(entry.key)
      // A published version's entry stays: it is reported under missingLocal, and no uplink can fill it in.
      if (parsed && localVersions.get(parsed.name)?.has(parsed.version)) continue
      if (fix) await store.blobs.dropEntry(entry.key)
      report.entries.dangling.push({ key: entry.key, integrity: entry.integrity, why, dropped: fix })
    }
  }
  if (!allFound) tell('index')

  for (const [name, versions] of localVersions) {
    for (const [version, sha512] of versions) {
      // A version with only a sha1 in its manifest: the index entry names its sha512.
      const integrity = sha512 ?? (await store.blobs.entry(tarballKey(name, version)))?.integrity ?? null
      const there = integrity !== null && !corrupt.has(integrity) && (intact(integrity) || (await store.blobs.hasContent(integrity)))
      if (!there) report.missingLocal.push({ name, version })
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

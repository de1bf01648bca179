import type { KeyObject } from 'node:crypto'
import { once } from 'node:events'
import semver from 'semver'
import ssri from 'ssri'
import { attestationsKey, expectedIntegrity, sha512Of, tarballKey, type BlobWrite, type LocalDoc, type Manifest, type Packument, type Store, type UpstreamRecord } from '../store/index.js'
import { eachLimited } from '../each-limited.js'
import { codeOf, messageOf } from '../sync/sync.js'
import { BUNDLE_UPLINK, attestationEntry, integrityOfEntry, isAttestationEntry, type BundlePackage, type BundleVersion } from './format.js'
import { bundleSize, readTar, type TarEntry } from './tar-reader.js'
import { BundleScan, type BundleProblem, type BundleReport } from './verify.js'

export interface ImportOptions {
  trusted?: KeyObject | null
  /** Packages read, tarballs written and packuments merged at once (default 8). */
  concurrency?: number
  /** Milliseconds since the epoch: the fetch time recorded for packages new to the store. */
  now?: () => number
}

export interface ImportResult {
  verify: BundleReport
  /** name@version added to the store. */
  added: string[]
  /** name@version the store already held with the same integrity. */
  present: string[]
  /** name@version not imported, and why (an integrity that differs from the stored one, a name published here only). */
  refused: BundleProblem[]
  ok: boolean
}

const DEFAULT_IMPORT_CONCURRENCY = 8

type Decision = { kind: 'add' } | { kind: 'present'; blob: boolean } | { kind: 'refuse'; reason: string }

/** A blob entry this import wrote, to take back when the bundle turns out bad. */
interface Written {
  key: string
  integrity: string
  /** The index time of the entry written: one written again since is not ours to take back. */
  time: number
  /** The store held the bytes before (under another key): they stay either way. */
  contentBefore: boolean
}

/**
 * Imports a bundle into the store, reading it once. manifest.json and its signature come first in
 * the file and are checked before anything is written; then each tarball the store lacks streams
 * from the bundle into the store's blob write (which refuses bytes whose digest differs) while the
 * scan hashes it too. Only when every entry checked out are the packuments merged, each under its
 * package's lock (safe next to a running serve): nothing a client reads changes for a bad bundle,
 * and the blobs it had written are taken back (their entries, and their content when nothing else
 * refers to it). A version the store holds with another integrity is refused and reported, never
 * replaced; one it holds with the same integrity is skipped.
 */
export async function importBundle(store: Store, file: string, options: ImportOptions = {}): Promise<ImportResult> {
  const now = options.now ?? Date.now
  const concurrency = options.concurrency ?? DEFAULT_IMPORT_CONCURRENCY
  const scan = new BundleScan(file, await bundleSize(file))
  const result: ImportResult = { verify: scan.report, added: [], present: [], refused: [], ok: false }
  const written: Written[] = []
  const failedIds = new Set<string>()
  const attestations = new Map<string, Buffer>()
  const inFlight = new Set<Promise<void>>()
  const entries = readTar(file)
  let decisions: Map<string, Decision> | null = null
  try {
    let entry = await scan.head(entries, options.trusted ?? null)
    const manifest = scan.report.manifest
    if (scan.report.problems.length > 0 || !manifest) return finishRefused(scan, result)
    decisions = await decideAll(store, manifest.packages, concurrency)
    const wanted = wantedBlobs(manifest.packages, decisions)
    for (; entry; entry = await scan.next(entries)) {
      const integrity = integrityOfEntry(entry.path)
      const ids = integrity ? wanted.get(integrity) : undefined
      // Once anything is wrong nothing more is written; the rest is still checked, for the report.
      if (!integrity || !ids || scan.report.problems.length > 0) {
        if (integrity || !isAttestationEntry(entry.path)) await scan.entry(entry)
        else {
          const bytes = await keepAttestation(scan, entry)
          if (bytes) attestations.set(entry.path, bytes)
        }
        continue
      }
      const size = entry.size
      const contentBefore = await store.blobs.hasContent(integrity)
      // The same bytes under several name@version keys (rare): each key gets its own verified write.
      const writes = ids.map((id) => ({ id, key: keyOf(id), write: store.blobs.write(keyOf(id), integrity, size) }))
      const ok = await scan
        .entry(entry, async (chunk) => {
          for (const { write } of writes) if (!write.stream.destroyed && !write.stream.write(chunk)) await once(write.stream, 'drain').catch(() => undefined)
        })
        .catch((error: unknown) => {
          // A truncated file: the writes started are abandoned (their temp files go with them).
          for (const { write } of writes) abandon(write)
          throw error
        })
      for (const { id, key, write } of writes) {
        if (!ok) {
          abandon(write)
          continue
        }
        write.stream.end()
        const storing = write.done
          .then(async (stored) => {
            const entryNow = await store.blobs.entry(key)
            written.push({ key, integrity: stored.integrity, time: entryNow?.time ?? -1, contentBefore })
          })
          .catch((error: unknown) => {
            failedIds.add(id)
            result.refused.push({ package: id, message: `its tarball could not be stored: ${codeOf(error)}: ${messageOf(error)}` })
          })
          .finally(() => inFlight.delete(storing))
        inFlight.add(storing)
      }
      while (inFlight.size >= concurrency) await Promise.race(inFlight)
    }
  } catch (error) {
    scan.damaged(error)
  } finally {
    await entries.return(undefined)
    await Promise.all(inFlight)
  }
  scan.finish()
  if (!scan.report.ok || !decisions || !scan.report.manifest) {
    await takeBack(store, written)
    return finishRefused(scan, result)
  }
  await mergeAll(store, scan.report.manifest.packages, { decisions, failedIds, attestations, result, concurrency, now })
  for (const list of [result.added, result.present]) list.sort()
  result.ok = result.refused.length === 0
  return result
}

function abandon(write: BlobWrite): void {
  write.stream.destroy()
  write.done.catch(() => undefined)
}

function finishRefused(scan: BundleScan, result: ImportResult): ImportResult {
  scan.finish()
  result.refused = []
  return result
}

const keyOf = (id: string) => {
  const at = id.lastIndexOf('@')
  return tarballKey(id.slice(0, at), id.slice(at + 1))
}

/** What each version needs, against the store as it is now (decided again under the lock). */
async function decideAll(store: Store, packages: BundlePackage[], concurrency: number): Promise<Map<string, Decision>> {
  const decisions = new Map<string, Decision>()
  await eachLimited(packages, concurrency, async (pkg) => {
    const state = await storedState(store, pkg.name)
    for (const v of pkg.versions) decisions.set(`${pkg.name}@${v.version}`, await decide(store, pkg.name, v.version, claimedOf(pkg, v), state))
  })
  return decisions
}

/** The tarballs the store lacks: sha512 -> the name@version keys to store them under. */
function wantedBlobs(packages: BundlePackage[], decisions: Map<string, Decision>): Map<string, string[]> {
  const wanted = new Map<string, string[]>()
  for (const pkg of packages) {
    for (const v of pkg.versions) {
      const decision = decisions.get(`${pkg.name}@${v.version}`)
      if (decision?.kind === 'add' || (decision?.kind === 'present' && !decision.blob)) wanted.set(v.integrity, [...(wanted.get(v.integrity) ?? []), `${pkg.name}@${v.version}`])
    }
  }
  return wanted
}

/** An attestations entry, checked and kept in memory (a few kB each); null when it is not what the manifest says. */
async function keepAttestation(scan: BundleScan, entry: TarEntry): Promise<Buffer | null> {
  const chunks: Buffer[] = []
  const ok = await scan.entry(entry, (chunk) => {
    chunks.push(chunk)
    return Promise.resolve()
  })
  return ok ? Buffer.concat(chunks) : null
}

/**
 * Takes back the blob entries a refused import wrote, then the content no entry refers to any
 * more and the store did not hold before. An entry written again meanwhile (a serve fetching the
 * same version) stays.
 */
async function takeBack(store: Store, written: Written[]): Promise<void> {
  if (written.length === 0) return
  for (const w of written) {
    const entry = await store.blobs.entry(w.key)
    if (entry && entry.integrity === w.integrity && entry.time === w.time) await store.blobs.dropEntry(w.key)
  }
  // Only the import's own new contents are looked for in the listing: what is held is bounded by
  // the bundle, not by the store.
  const unreferenced = new Set(written.filter((w) => !w.contentBefore).map((w) => w.integrity))
  if (unreferenced.size === 0) return
  for await (const entry of store.blobs.eachEntry()) unreferenced.delete(entry.integrity)
  for (const integrity of unreferenced) await store.blobs.removeContent(integrity)
}

interface MergeContext {
  decisions: Map<string, Decision>
  failedIds: Set<string>
  /** Verified attestations entries by entry name. */
  attestations: Map<string, Buffer>
  result: ImportResult
  concurrency: number
  now: () => number
}

/** The packuments (and attestations), each package under its lock. */
async function mergeAll(store: Store, packages: BundlePackage[], ctx: MergeContext): Promise<void> {
  const { decisions, failedIds, result } = ctx
  await eachLimited(packages, ctx.concurrency, async (pkg) => {
    const toAdd = pkg.versions.filter((v) => decisions.get(`${pkg.name}@${v.version}`)?.kind === 'add' && !failedIds.has(`${pkg.name}@${v.version}`))
    const present: string[] = []
    for (const v of pkg.versions) {
      const id = `${pkg.name}@${v.version}`
      const decision = decisions.get(id)
      if (decision?.kind === 'refuse') result.refused.push({ package: id, message: decision.reason })
      else if (decision?.kind === 'present' && !failedIds.has(id)) present.push(v.version)
    }
    for (const version of present) result.present.push(`${pkg.name}@${version}`)
    if (toAdd.length > 0) {
      await store.packages.withLock(pkg.name, async () => {
        const state = await storedState(store, pkg.name)
        const adding: string[] = []
        for (const v of toAdd) {
          const id = `${pkg.name}@${v.version}`
          const again = await decide(store, pkg.name, v.version, claimedOf(pkg, v), state)
          if (again.kind === 'refuse') result.refused.push({ package: id, message: again.reason })
          else if (again.kind === 'present') {
            result.present.push(id)
            present.push(v.version)
          } else adding.push(v.version)
        }
        if (adding.length === 0) return
        // Recorded as the bundle's copy (see BUNDLE_UPLINK), whatever uplink the stored one came from.
        const record: UpstreamRecord = state.upstream
          ? { ...withoutValidators(state.upstream), uplink: BUNDLE_UPLINK, doc: mergeVersions(state.upstream.doc, pkg.packument, adding) }
          : { uplink: BUNDLE_UPLINK, upstreamUrl: pkg.upstreamUrl ?? `${BUNDLE_UPLINK}:`, doc: mergeVersions(null, pkg.packument, adding) }
        await store.packages.writeUpstream(pkg.name, record)
        // Counts as fetched from the uplink, so a later publish of the name here is an override.
        if (!(await store.packages.readFetched(pkg.name).catch(() => null))) await store.packages.writeFetched(pkg.name, { uplink: record.uplink, fetchedAt: ctx.now() })
        for (const version of adding) result.added.push(`${pkg.name}@${version}`)
        await storeAttestations(store, pkg, adding, ctx.attestations)
      })
    }
    await storeAttestations(store, pkg, present, ctx.attestations)
  })
}

/** The attestations the bundle brought for `versions`, where the store has none yet. */
async function storeAttestations(store: Store, pkg: BundlePackage, versions: string[], entries: Map<string, Buffer>): Promise<void> {
  for (const version of versions) {
    const v = pkg.versions.find((x) => x.version === version)
    const bytes = entries.get(attestationEntry(pkg.name, version))
    if (!v?.attestations || !bytes) continue
    const key = attestationsKey(pkg.name, version)
    if (await store.blobs.has(v.attestations.integrity, key)) continue
    const write = store.blobs.write(key, v.attestations.integrity, bytes.length)
    write.stream.end(bytes)
    await write.done
  }
}

interface StoredState {
  upstream: UpstreamRecord | null
  local: LocalDoc | null
}

async function storedState(store: Store, name: string): Promise<StoredState> {
  const [upstream, local] = await Promise.all([store.packages.readUpstream(name), store.packages.readLocal(name)])
  return { upstream: upstream?.record ?? null, local: local?.doc ?? null }
}

/**
 * What to do with one version of the bundle. `claimed` is what the bundle says of its bytes: their
 * sha512 and its packument's digests (a sha1 shasum included), all checked against the bytes by
 * the scan. The store's digest is compared in an algorithm both carry; with none shared (a stored
 * version known only by sha1, a bundle packument without it), the stored blob's sha512 decides.
 */
async function decide(store: Store, name: string, version: string, claimed: string, state: StoredState): Promise<Decision> {
  if (state.local?.origin === 'local-only') return { kind: 'refuse', reason: `${name} is published here only (local-only): uplink copies of it are never used` }
  const existing: Manifest | undefined = state.local?.versions[version] ?? state.upstream?.doc.versions[version]
  if (!existing) return { kind: 'add' }
  const integrity = sha512Of(claimed) ?? claimed
  const stored = expectedIntegrity(existing.dist)
  if (stored) {
    const mine = ssri.parse(stored)
    const theirs = ssri.parse(claimed)
    const shared = Object.keys(mine).filter((algorithm) => theirs[algorithm])
    const same = shared.length > 0 ? shared.every((algorithm) => mine[algorithm]?.some((h) => theirs[algorithm]?.some((o) => o.digest === h.digest))) : await sameBlob(store, name, version, stored, integrity)
    if (!same) return { kind: 'refuse', reason: `the store holds it with integrity ${stored}, the bundle with ${integrity}; the stored one is kept` }
  }
  return { kind: 'present', blob: await store.blobs.has(integrity, tarballKey(name, version)) }
}

/** A stored version whose digest shares no algorithm with the bundle's agrees when its stored blob is the bundle's (same sha512). */
async function sameBlob(store: Store, name: string, version: string, stored: string, integrity: string): Promise<boolean> {
  const blob = await store.blobs.open(stored, tarballKey(name, version))
  if (!blob) return false
  await blob.handle.close()
  return blob.integrity === integrity
}

/** The version's sha512 and whatever digests the bundle's packument gives it. */
function claimedOf(pkg: BundlePackage, v: BundleVersion): string {
  const dist = pkg.packument.versions[v.version]?.dist
  return [v.integrity, expectedIntegrity(dist), typeof dist?.shasum === 'string' ? expectedIntegrity({ shasum: dist.shasum }) : null].filter(Boolean).join(' ')
}

/** Without the uplink's validators: a document with versions added is not the one its ETag names. */
function withoutValidators(record: UpstreamRecord): UpstreamRecord {
  const { etag: _etag, lastModified: _lastModified, ...rest } = record
  return rest
}

/**
 * The stored document with `adding` taken from the bundle's packument: their manifests and times.
 * Tags: the bundle's, where they point at a version the result holds and do not move a stored tag
 * back; then `latest` is the highest stable version held when no tag names one.
 */
export function mergeVersions(stored: Packument | null, incoming: BundlePackage['packument'], adding: string[]): Packument {
  const base: Packument = stored ? { ...stored } : { ...incoming, versions: {}, time: {}, 'dist-tags': {} }
  const versions = { ...base.versions }
  const time: Record<string, string> = { ...(base.time ?? {}) }
  for (const version of adding) {
    const manifest = incoming.versions[version]
    if (manifest) versions[version] = manifest
    const at = incoming.time?.[version]
    if (at) time[version] = at
  }
  if (!time.created && incoming.time?.created) time.created = incoming.time.created
  const modified = [time.modified, incoming.time?.modified].filter((t): t is string => typeof t === 'string').sort().at(-1)
  if (modified) time.modified = modified
  const tags: Record<string, string> = {}
  for (const [tag, version] of Object.entries(base['dist-tags'] ?? {})) if (versions[version]) tags[tag] = version
  for (const [tag, version] of Object.entries(incoming['dist-tags'] ?? {})) {
    if (!versions[version]) continue
    const current = tags[tag]
    if (!current || semver.gt(version, current)) tags[tag] = version
  }
  if (!tags.latest) {
    const all = Object.keys(versions)
    const stable = all.filter((v) => !semver.prerelease(v))
    const highest = semver.rsort(stable.length > 0 ? stable : all)[0]
    if (highest) tags.latest = highest
  }
  return { ...base, versions, time, 'dist-tags': tags }
}

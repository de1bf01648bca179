import type { KeyObject } from 'node:crypto'
import semver from 'semver'
import ssri from 'ssri'
import { expectedIntegrity, sha512Of, tarballKey, type LocalDoc, type Manifest, type Packument, type Store, type UpstreamRecord } from '../store/index.js'
import { eachLimited } from '../each-limited.js'
import { codeOf, messageOf } from '../sync/sync.js'
import { BUNDLE_UPLINK, integrityOfEntry, type BundlePackage, type BundleVersion } from './format.js'
import { readTar } from './tar-reader.js'
import { verifyBundle, type BundleProblem, type BundleReport } from './verify.js'

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

/**
 * Imports a bundle into the store: verified whole first (nothing of a bundle with any problem is
 * imported), then each needed tarball written through the store's verified blob write, then each
 * package's new versions merged into its cached uplink packument under the package's lock (safe
 * next to a running serve). A version the store holds with another integrity is refused and
 * reported, never replaced; one it holds with the same integrity is skipped.
 */
export async function importBundle(store: Store, file: string, options: ImportOptions = {}): Promise<ImportResult> {
  const verify = await verifyBundle(file, { trusted: options.trusted ?? null })
  const result: ImportResult = { verify, added: [], present: [], refused: [], ok: false }
  if (!verify.ok || !verify.manifest) return result
  const now = options.now ?? Date.now
  const concurrency = options.concurrency ?? DEFAULT_IMPORT_CONCURRENCY

  // 1. What each version needs, against the store as it is now (checked again under the lock).
  const decisions = new Map<string, Decision>()
  await eachLimited(verify.manifest.packages, concurrency, async (pkg) => {
    const state = await storedState(store, pkg.name)
    for (const v of pkg.versions) decisions.set(`${pkg.name}@${v.version}`, await decide(store, pkg.name, v.version, claimedOf(pkg, v), state))
  })

  // 2. The tarballs the store lacks, through its verified write; a few written while the next are read.
  const wanted = new Map<string, string[]>()
  for (const pkg of verify.manifest.packages) {
    for (const v of pkg.versions) {
      const decision = decisions.get(`${pkg.name}@${v.version}`)
      if (decision?.kind === 'add' || (decision?.kind === 'present' && !decision.blob)) wanted.set(v.integrity, [...(wanted.get(v.integrity) ?? []), `${pkg.name}@${v.version}`])
    }
  }
  const failedIds = new Set<string>()
  const writeBlob = async (id: string, integrity: string, chunks: Buffer[], size: number) => {
    const at = id.lastIndexOf('@')
    const write = store.blobs.write(tarballKey(id.slice(0, at), id.slice(at + 1)), integrity, size)
    try {
      for (const chunk of chunks) write.stream.write(chunk)
      write.stream.end()
      await write.done
    } catch (error) {
      failedIds.add(id)
      result.refused.push({ package: id, message: `its tarball could not be stored: ${codeOf(error)}: ${messageOf(error)}` })
    }
  }
  if (wanted.size > 0) {
    const inFlight = new Set<Promise<void>>()
    for await (const entry of readTar(file)) {
      const integrity = integrityOfEntry(entry.path)
      const ids = integrity ? wanted.get(integrity) : undefined
      if (!integrity || !ids) continue
      const chunks: Buffer[] = []
      for await (const chunk of entry.body()) chunks.push(chunk)
      // The same bytes under several name@version keys (rare): each key gets its own verified write.
      for (const id of ids) {
        const writing = writeBlob(id, integrity, chunks, entry.size).finally(() => inFlight.delete(writing))
        inFlight.add(writing)
        if (inFlight.size >= concurrency) await Promise.race(inFlight)
      }
    }
    await Promise.all(inFlight)
  }

  // 3. The packuments, each under its package's lock.
  await eachLimited(verify.manifest.packages, concurrency, async (pkg) => {
    const toAdd = pkg.versions.filter((v) => decisions.get(`${pkg.name}@${v.version}`)?.kind === 'add' && !failedIds.has(`${pkg.name}@${v.version}`))
    for (const v of pkg.versions) {
      const id = `${pkg.name}@${v.version}`
      const decision = decisions.get(id)
      if (decision?.kind === 'refuse') result.refused.push({ package: id, message: decision.reason })
      else if (decision?.kind === 'present' && !failedIds.has(id)) result.present.push(id)
    }
    if (toAdd.length === 0) return
    await store.packages.withLock(pkg.name, async () => {
      const state = await storedState(store, pkg.name)
      const adding: string[] = []
      for (const v of toAdd) {
        const id = `${pkg.name}@${v.version}`
        const again = await decide(store, pkg.name, v.version, claimedOf(pkg, v), state)
        if (again.kind === 'refuse') result.refused.push({ package: id, message: again.reason })
        else if (again.kind === 'present') result.present.push(id)
        else adding.push(v.version)
      }
      if (adding.length === 0) return
      // Recorded as the bundle's copy (see BUNDLE_UPLINK), whatever uplink the stored one came from.
      const record: UpstreamRecord = state.upstream
        ? { ...withoutValidators(state.upstream), uplink: BUNDLE_UPLINK, doc: mergeVersions(state.upstream.doc, pkg.packument, adding) }
        : { uplink: BUNDLE_UPLINK, upstreamUrl: pkg.upstreamUrl ?? `${BUNDLE_UPLINK}:`, doc: mergeVersions(null, pkg.packument, adding) }
      await store.packages.writeUpstream(pkg.name, record)
      // Counts as fetched from the uplink, so a later publish of the name here is an override.
      if (!(await store.packages.readFetched(pkg.name).catch(() => null))) await store.packages.writeFetched(pkg.name, { uplink: record.uplink, fetchedAt: now() })
      for (const version of adding) result.added.push(`${pkg.name}@${version}`)
    })
  })
  for (const list of [result.added, result.present]) list.sort()
  result.ok = result.refused.length === 0
  return result
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
 * verifyBundle. The store's digest is compared in an algorithm both carry; with none shared (a stored
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

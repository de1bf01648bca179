import ssri from 'ssri'
import type { LockedPackage, SkippedDependency } from '../lockfiles/index.js'
import { expectedIntegrity, sha512Of, tarballKey, type Manifest, type Store } from '../store/index.js'
import type { CheckProblem, CheckSummary, EventSink } from './events.js'
import { WorkQueue } from './queue.js'
import { codeOf, messageOf } from './sync.js'

export interface CheckOptions {
  concurrency: number
  signal?: AbortSignal
  onEvent?: EventSink
}

/**
 * What an offline install of these packages would miss, fetching nothing: for each, the stored
 * packument must list the version and the stored tarball must re-hash to the lockfile's integrity
 * (or, without one, to the registry's). Reads only; safe while `serve` or lock-sync write.
 */
export async function checkStore(
  store: Store,
  packages: LockedPackage[],
  skipped: Array<SkippedDependency & { lockfile?: string }>,
  options: CheckOptions,
): Promise<CheckSummary> {
  const started = Date.now()
  const emit = options.onEvent ?? (() => undefined)
  const summary: CheckSummary = { total: packages.length, ok: 0, missing: [], corrupt: [], skipped, interrupted: 0, bytes: 0, durationMs: 0 }
  const report = (problem: CheckProblem) => {
    summary[problem.kind].push(problem)
    emit({ type: 'problem', problem })
  }
  emit({ type: 'total', total: packages.length })
  for (const entry of skipped) emit({ type: 'skipped', skipped: entry })

  const byName = new Map<string, LockedPackage[]>()
  for (const pkg of packages) byName.set(pkg.name, [...(byName.get(pkg.name) ?? []), pkg])
  const queue = new WorkQueue({ concurrency: options.concurrency, retries: 0, backoffMs: 0, retryable: () => false, ...(options.signal ? { signal: options.signal } : {}) })
  for (const [name, versions] of byName) {
    queue.push({
      label: name,
      // One job per name: its packument is read once, and let go when the job ends.
      run: async () => {
        const manifests = await storedManifests(store, name)
        for (const pkg of versions) {
          const problem = await checkOne(store, pkg, manifests)
          if (problem) report(problem)
          else {
            summary.ok++
            emit({ type: 'done', name: pkg.name, version: pkg.version, status: 'ok', size: 0 })
          }
        }
      },
      failed: (error) => {
        for (const pkg of versions) report({ package: `${pkg.name}@${pkg.version}`, kind: 'corrupt', reason: `${codeOf(error)}: ${messageOf(error)}` })
      },
    })
  }
  await queue.drained()
  summary.interrupted = packages.length - summary.ok - summary.missing.length - summary.corrupt.length
  summary.durationMs = Date.now() - started
  return summary

  async function checkOne(store: Store, pkg: LockedPackage, manifests: Record<string, Manifest> | null): Promise<CheckProblem | null> {
    const id = `${pkg.name}@${pkg.version}`
    if (!manifests) return { package: id, kind: 'missing', reason: 'its packument is not in the store' }
    const manifest = manifests[pkg.version]
    if (!manifest) return { package: id, kind: 'missing', reason: `the stored packument of ${pkg.name} has no version ${pkg.version}` }
    const expected = expectedIntegrity(manifest.dist) ?? undefined
    if (pkg.integrity && expected && disagree(pkg.integrity, expected)) {
      return { package: id, kind: 'corrupt', reason: `the lockfile wants ${pkg.integrity} but the stored packument has ${expected}` }
    }
    const blob = await store.blobs.open(sha512Of(pkg.integrity) ? pkg.integrity : (expected ?? pkg.integrity), tarballKey(pkg.name, pkg.version))
    if (!blob) return { package: id, kind: 'missing', reason: 'its tarball is not in the store' }
    await blob.handle.close()
    summary.bytes += blob.size
    const wanted = pkg.integrity ?? expected ?? blob.integrity
    if ((await store.blobs.verify(blob.integrity, wanted)) !== 'ok') {
      return { package: id, kind: 'corrupt', reason: `the stored tarball (${store.blobs.where(blob.integrity)}) does not hash to ${wanted}` }
    }
    return null
  }
}

/** The versions the store can describe for `name`: its cached uplink packument plus what was published here. */
async function storedManifests(store: Store, name: string): Promise<Record<string, Manifest> | null> {
  const [upstream, local] = await Promise.all([store.packages.readUpstream(name), store.packages.readLocal(name)])
  if (!upstream && !local) return null
  return { ...upstream?.record.doc.versions, ...local?.doc.versions }
}

/** True when the two carry a digest of the same algorithm and none of them match. */
function disagree(a: string, b: string): boolean {
  const left = ssri.parse(a)
  const right = ssri.parse(b)
  const shared = Object.keys(left).filter((algorithm) => right[algorithm])
  return shared.length > 0 && !left.match(right)
}

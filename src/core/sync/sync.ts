import { SinopiaError, errnoCode } from '../errors.js'
import type { LockedPackage, SkippedDependency } from '../lockfiles/index.js'
import type { Registry } from '../registry/index.js'
import { assertPackageName } from '../registry/names.js'
import { sha512Of, tarballKey } from '../store/index.js'
import type { EventSink, Failure, SyncSummary } from './events.js'
import { WorkQueue, type Job } from './queue.js'

export interface SyncOptions {
  concurrency: number
  /** Further attempts after a failed first one, for failures that may pass (network, 5xx). */
  retries: number
  /** Wait before the first retry (doubles after each). */
  backoffMs?: number
  /** Abort: nothing new starts, what runs finishes (every write is atomic anyway), the summary counts the rest as interrupted. */
  signal?: AbortSignal
  /** Re-hash tarballs already stored, and replace those that fail (slower: reads every byte). */
  verify?: boolean
  onEvent?: EventSink
}

export const DEFAULT_CONCURRENCY = 16
export const DEFAULT_RETRIES = 3
const DEFAULT_BACKOFF_MS = 500

/** A job that belongs to one package; retries are pointless while that package's uplink circuit is open. */
export interface PackageJob extends Job {
  name: string
}

/**
 * Makes the store hold a set of packages: for each, its packument and its tarball, verified
 * against the lockfile's integrity when there is one. Filling goes through
 * `registry.tarballs.ensure`, the same shared, verified download path `serve` uses; what the
 * store already has is recognised with two file lookups and no uplink request.
 */
export class Syncer {
  readonly queue: WorkQueue
  private readonly emit: EventSink
  private readonly seen = new Set<string>()
  private readonly packuments = new Map<string, Promise<boolean>>()
  private readonly started = Date.now()
  private readonly verify: boolean
  /** Corrupt tarballs removed by `verify`, to be fetched again. */
  private readonly removed = new Set<string>()
  private readonly summary: Omit<SyncSummary, 'durationMs' | 'interrupted'> = {
    total: 0,
    present: 0,
    fetched: 0,
    refetched: [],
    failed: [],
    skipped: [],
    bytes: { fetched: 0, total: 0 },
  }

  constructor(
    private readonly registry: Registry,
    options: SyncOptions,
  ) {
    this.emit = options.onEvent ?? (() => undefined)
    this.verify = options.verify ?? false
    this.queue = new WorkQueue({
      concurrency: options.concurrency,
      retries: options.retries,
      backoffMs: options.backoffMs ?? DEFAULT_BACKOFF_MS,
      ...(options.signal ? { signal: options.signal } : {}),
      retryable: (error, job) => isTransient(error) && this.uplinkAvailable((job as PackageJob).name),
      onRetry: (job, error, attempt, delayMs) => this.emit({ type: 'retry', label: job.label, attempt, delayMs, message: messageOf(error) }),
    })
  }

  /** Queues packages; a name@version (with the same integrity) already queued is not queued again. */
  add(packages: LockedPackage[]): void {
    const jobs: PackageJob[] = []
    for (const pkg of packages) {
      const id = `${pkg.name}@${pkg.version}\0${pkg.integrity ?? ''}`
      if (this.seen.has(id)) continue
      this.seen.add(id)
      jobs.push(this.job(pkg))
    }
    if (jobs.length === 0) return
    this.summary.total += jobs.length
    this.emit({ type: 'total', total: this.summary.total })
    this.queue.push(...jobs)
  }

  skip(entries: Array<SkippedDependency & { lockfile?: string }>): void {
    for (const skipped of entries) {
      this.summary.skipped.push(skipped)
      this.emit({ type: 'skipped', skipped })
    }
  }

  fail(failure: Failure): void {
    this.summary.failed.push(failure)
    this.emit({ type: 'failed', failure })
  }

  /** Waits for every queued package (and whatever jobs pushed meanwhile). */
  async finish(): Promise<SyncSummary> {
    await this.queue.drained()
    return { ...this.summary, interrupted: this.queue.interrupted.length, durationMs: Date.now() - this.started }
  }

  private job(pkg: LockedPackage): PackageJob {
    const label = `${pkg.name}@${pkg.version}`
    return {
      name: pkg.name,
      label,
      run: async () => {
        assertPackageName(pkg.name)
        const stored = await this.stored(pkg)
        if (stored === null) this.assertCaching(pkg.name)
        const { status, size } = stored === null ? await this.registry.tarballs.ensure(pkg.name, pkg.version, pkg.integrity) : { status: 'present' as const, size: stored }
        if (status === 'fetched') {
          this.packuments.set(pkg.name, Promise.resolve(true))
          if (this.removed.has(label)) this.summary.refetched.push(label)
        }
        this.summary[status]++
        this.summary.bytes.total += size
        if (status === 'fetched') this.summary.bytes.fetched += size
        this.emit({ type: 'done', name: pkg.name, version: pkg.version, status, size })
      },
      failed: (error) => this.fail({ package: label, code: codeOf(error), message: messageOf(error) }),
    }
  }

  /**
   * The size of the package's tarball when the store holds it and its packument, else null. Only
   * a sha512 digest is trusted this way (the blob's address is its sha512, verified when it was
   * written); a sha1-only lockfile digest goes through `ensure`, which re-hashes the bytes.
   * With `verify` every stored tarball is re-hashed. One whose bytes do not match is moved to
   * the quarantine folder (never deleted) and, when an uplink can give it back, fetched again;
   * one published here is reported as a failure. A read error fails the job and changes nothing.
   */
  private async stored(pkg: LockedPackage): Promise<number | null> {
    if (pkg.integrity && !sha512Of(pkg.integrity) && !this.verify) return null
    if (!(await this.hasPackument(pkg.name))) return null
    const { blobs, packages } = this.registry.store
    const key = tarballKey(pkg.name, pkg.version)
    const blob = await blobs.open(pkg.integrity, key)
    if (!blob) return null
    await blob.handle.close()
    if (this.verify) {
      // Against the blob's own address: whether a lockfile's other digest agrees is `ensure`'s to say.
      const outcome = await blobs.verify(blob.integrity, blob.integrity)
      if (outcome === 'missing') return null
      if (outcome === 'mismatch') {
        const id = `${pkg.name}@${pkg.version}`
        this.emit({ type: 'corrupt', package: id })
        const moved = await blobs.quarantine(blob.integrity)
        if ((await packages.readLocal(pkg.name))?.doc.versions[pkg.version]) {
          throw new SinopiaError('ECORRUPT', `the stored tarball of ${id}, published here, is corrupt${moved ? `; moved to ${moved}` : ''}`, {
            hint: 'no uplink can give it back: restore it from a backup, or publish a new version',
          })
        }
        this.removed.add(id)
        return null
      }
      if (pkg.integrity && !sha512Of(pkg.integrity)) return null
    }
    return blob.size
  }

  private hasPackument(name: string): Promise<boolean> {
    let known = this.packuments.get(name)
    if (!known) {
      const { packages } = this.registry.store
      known = Promise.all([packages.upstreamMtime(name), packages.localMtime(name)]).then(async ([upstream, local]) => {
        if (upstream !== null) return true
        // A local.json without versions is an unpublished name's tombstone: nothing to install.
        return local !== null && Object.keys((await packages.readLocal(name))?.doc.versions ?? {}).length > 0
      })
      this.packuments.set(name, known)
    }
    return known
  }

  /**
   * An uplink with `cache: false` never has its tarballs stored: say so rather than download for
   * nothing. With several uplinks, only when none of them stores tarballs.
   */
  private assertCaching(name: string): void {
    const uplinks = this.registry.packuments.uplinksFor(name)
    const uplink = uplinks[0]
    if (uplink && uplinks.every((u) => this.registry.upstream.has(u) && !this.registry.upstream.config(u).cache)) {
      throw new SinopiaError('ECONFIG', `${name} comes from uplink ${uplink}, whose tarballs are not stored (cache: false)`, {
        hint: `set \`cache: true\` for uplink ${uplink} in the config`,
      })
    }
  }

  private uplinkAvailable(name: string): boolean {
    return this.registry.packuments.uplinksFor(name).some((uplink) => this.registry.upstream.available(uplink))
  }
}

/**
 * Failures that another attempt may not meet: the uplink unreachable or answering 5xx, a
 * download cut short. Not: a missing package or version, an integrity mismatch, a bad name.
 * (Retries also stop once the uplink's circuit breaker opens: see `retryable` above.)
 */
export function isTransient(error: unknown): boolean {
  if (!(error instanceof SinopiaError)) return errnoCode(error) !== undefined
  if (isUplinkFailure(error) || error.code === 'EBADSIZE' || error.code === 'ENOTCACHED') return true
  return error.code === 'ENOTFOUND' && isUplinkFailure(error.cause)
}

/** The uplink answered badly (EUPLINK) or could not be asked (EUPLINKDOWN). */
function isUplinkFailure(error: unknown): boolean {
  return error instanceof SinopiaError && (error.code === 'EUPLINK' || error.code === 'EUPLINKDOWN')
}

export function codeOf(error: unknown): string {
  return error instanceof SinopiaError ? error.code : (errnoCode(error) ?? 'EUNKNOWN')
}

export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error)
}

import { codeOf, messageOf } from '../sync/sync.js'

/** One thing not copied, and why (a blob whose bytes do not hash to their name, a document that does not decode). */
export interface MigrateFailure {
  /** `name@version` of a tarball, `name (upstream)` of a document, `tokens`, `usage`. */
  item: string
  code: string
  message: string
}

/** What a migrate did: the `--json` summary, and what the closing line of text is made of. */
export interface MigrateReport {
  from: string
  to: string
  /** Packages whose documents were read (any of upstream, fetched, local). */
  packages: number
  documents: { copied: number; skipped: number }
  blobs: { copied: number; skipped: number }
  /** Tarball bytes written to the destination (skipped blobs not counted). */
  bytes: number
  /** Documents, blobs and tokens the destination already held identical: a rerun continues where one stopped. */
  skipped: number
  tokens: { copied: number; skipped: number }
  /** Blob keys whose last use was carried over. */
  usage: number
  /**
   * Users added to the destination (--from-verdaccio --htpasswd: to the configured users; between stores: those the
   * source keeps, auth.store), and those it had already (left alone).
   */
  users?: { added: string[]; existing: string[] }
  /** Things that were not failures but a person should know (a listed package without a folder). */
  warnings: string[]
  failed: MigrateFailure[]
  ok: boolean
  durationMs: number
}

export interface MigrateProgress {
  /** Packages and blobs done (copied, skipped or failed) of `total`. */
  done: number
  total: number
  bytes: number
  skipped: number
  failed: number
}

export interface MigrateOptions {
  /** Packages copied at once (default 4): each holds one destination lock and streams one blob at a time. */
  concurrency?: number
  onProgress?: (progress: MigrateProgress) => void
}

export const DEFAULT_MIGRATE_CONCURRENCY = 4

/** The counters of a run, shared by the store-to-store copy and the Verdaccio reader. */
export class Tally {
  readonly report: MigrateReport
  private total = 0
  private done = 0
  private readonly started = Date.now()

  constructor(
    from: string,
    to: string,
    private readonly onProgress?: (progress: MigrateProgress) => void,
  ) {
    this.report = {
      from,
      to,
      packages: 0,
      documents: { copied: 0, skipped: 0 },
      blobs: { copied: 0, skipped: 0 },
      bytes: 0,
      skipped: 0,
      tokens: { copied: 0, skipped: 0 },
      usage: 0,
      warnings: [],
      failed: [],
      ok: false,
      durationMs: 0,
    }
  }

  /** More items to do (packages, blobs), so the progress has a denominator. */
  expect(items: number): void {
    this.total += items
    this.emit()
  }

  /** One package or blob finished, whatever its outcome. */
  step(): void {
    this.done++
    this.emit()
  }

  blob(outcome: 'copied' | 'skipped', size: number): void {
    this.report.blobs[outcome]++
    if (outcome === 'copied') this.report.bytes += size
    else this.report.skipped++
  }

  document(outcome: 'copied' | 'skipped'): void {
    this.report.documents[outcome]++
    if (outcome === 'skipped') this.report.skipped++
  }

  token(outcome: 'copied' | 'skipped'): void {
    this.report.tokens[outcome]++
    if (outcome === 'skipped') this.report.skipped++
  }

  fail(item: string, error: unknown): void {
    this.report.failed.push({ item, code: codeOf(error), message: messageOf(error) })
    this.emit()
  }

  finish(): MigrateReport {
    this.report.failed.sort((a, b) => (a.item < b.item ? -1 : a.item > b.item ? 1 : 0))
    this.report.ok = this.report.failed.length === 0
    this.report.durationMs = Date.now() - this.started
    return this.report
  }

  private emit(): void {
    const { bytes, skipped, failed } = this.report
    this.onProgress?.({ done: this.done, total: this.total, bytes, skipped, failed: failed.length })
  }
}

import type { UsageRecords } from '../store/index.js'

/** How often a server merges what it served into the store's usage records. */
export const USAGE_FLUSH_MS = 30_000

export type { Usage } from '../store/index.js'

/**
 * When each tarball was last served, batched in memory: `touch` is one Map.set on the read
 * path, and the batch is merged into the store's usage records (newest time wins) every `intervalMs` and
 * at close, never once per request.
 */
export class UsageTracker {
  private pending = new Map<string, number>()
  private timer: NodeJS.Timeout | null = null
  private flushing: Promise<void> = Promise.resolve()

  constructor(
    private readonly records: UsageRecords,
    private readonly options: { intervalMs?: number; now?: () => number; onError?: (error: unknown) => void } = {},
  ) {}

  touch(key: string): void {
    this.pending.set(key, (this.options.now ?? Date.now)())
  }

  start(): void {
    if (this.timer) return
    this.timer = setInterval(() => {
      this.flush().catch((error: unknown) => this.options.onError?.(error))
    }, this.options.intervalMs ?? USAGE_FLUSH_MS)
    // Pending uses are flushed by close(); the timer alone must not keep a process alive.
    this.timer.unref()
  }

  /** Merges what was touched since the last flush into the store's usage records. One flush at a time. */
  flush(): Promise<void> {
    const run = this.flushing.catch(() => undefined).then(() => this.write())
    this.flushing = run
    return run
  }

  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer)
    this.timer = null
    await this.flush()
  }

  private async write(): Promise<void> {
    if (this.pending.size === 0) return
    const batch = this.pending
    this.pending = new Map<string, number>()
    try {
      await this.records.update((usage) => {
        for (const [key, at] of batch) if ((usage.get(key) ?? 0) < at) usage.set(key, at)
      })
    } catch (error) {
      // Keep the batch for the next try; uses touched meanwhile are newer and win.
      for (const [key, at] of batch) if (!this.pending.has(key)) this.pending.set(key, at)
      throw error
    }
  }
}

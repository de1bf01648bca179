import { setTimeout as sleep } from 'node:timers/promises'

/** One unit of work. `run` is attempted again on a retryable failure; `failed` hears the final one. */
export interface Job {
  /** What the job is about (`alpha@1.0.0`), for retry events. */
  label: string
  run(): Promise<void>
  failed(error: unknown): void
}

export interface QueueOptions {
  /** Jobs running at once; at least 1. */
  concurrency: number
  /** Further attempts after a failed first one. */
  retries: number
  /** Wait before the first retry; it doubles for each further one, with ±20% jitter. */
  backoffMs: number
  retryable(error: unknown, job: Job): boolean
  /** Once aborted no job starts (nor retries); running ones finish. */
  signal?: AbortSignal
  onRetry?(job: Job, error: unknown, attempt: number, delayMs: number): void
  /** For tests: how to wait between attempts. */
  wait?: (ms: number, signal?: AbortSignal) => Promise<void>
}

/**
 * Runs jobs with bounded concurrency, in the order pushed. Jobs may push more jobs while they
 * run (the mirror resolver does); `drained()` resolves once nothing is left running or, after an
 * abort, once the running jobs are done. It never rejects: failures go to each job's `failed`.
 */
export class WorkQueue {
  private readonly jobs: Job[] = []
  private next = 0
  private running = 0
  private idle: Array<() => void> = []
  /** Jobs that were never started (abort), or whose retry the abort cancelled. */
  readonly interrupted: Job[] = []

  constructor(private readonly options: QueueOptions) {
    if (!(options.concurrency >= 1)) throw new RangeError('concurrency must be at least 1')
    options.signal?.addEventListener('abort', () => this.settle(), { once: true })
  }

  push(...jobs: Job[]): void {
    this.jobs.push(...jobs)
    this.pump()
  }

  /** Jobs pushed so far. */
  get size(): number {
    return this.jobs.length
  }

  drained(): Promise<void> {
    return new Promise((resolve) => {
      this.idle.push(resolve)
      this.settle()
    })
  }

  private pump(): void {
    while (this.running < this.options.concurrency && this.next < this.jobs.length && !this.options.signal?.aborted) {
      const job = this.jobs[this.next++] as Job
      this.running++
      void this.attempt(job).finally(() => {
        this.running--
        this.pump()
        this.settle()
      })
    }
  }

  private settle(): void {
    const done = this.running === 0 && (this.next >= this.jobs.length || this.options.signal?.aborted === true)
    if (!done) return
    if (this.options.signal?.aborted) {
      this.interrupted.push(...this.jobs.slice(this.next))
      this.next = this.jobs.length
    }
    const waiting = this.idle
    this.idle = []
    for (const resolve of waiting) resolve()
  }

  private async attempt(job: Job): Promise<void> {
    const { retries, backoffMs, signal } = this.options
    const wait = this.options.wait ?? ((ms: number, s?: AbortSignal) => sleep(ms, undefined, s ? { signal: s } : {}))
    for (let attempt = 0; ; attempt++) {
      try {
        await job.run()
        return
      } catch (error) {
        if (attempt >= retries || !this.options.retryable(error, job)) {
          job.failed(error)
          return
        }
        if (signal?.aborted) {
          this.interrupted.push(job)
          return
        }
        const delayMs = Math.round(backoffMs * 2 ** attempt * (0.8 + Math.random() * 0.4))
        this.options.onRetry?.(job, error, attempt + 1, delayMs)
        try {
          await wait(delayMs, signal)
        } catch {
          // Aborted while waiting to retry.
        }
        if (signal?.aborted) {
          this.interrupted.push(job)
          return
        }
      }
    }
  }
}

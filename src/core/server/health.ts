import { errnoCode } from '../errors.js'

export interface HealthReport {
  status: 'ok' | 'fail'
  storage: { writable: boolean; checkedAt: string | null; error?: string }
  uplinks: Record<string, { state: 'closed' | 'open' | 'half-open' }>
}

/**
 * Readiness, answered from state the server keeps: the storage is probed in the background
 * (a write, read back, removed) every `intervalMs`, so `/-/health` costs no I/O. Unhealthy
 * (a 503 for a balancer) when the storage does not take writes; an uplink that is down
 * degrades nothing here, since the store still serves.
 */
export class Health {
  private writable = true
  private checkedAt: number | null = null
  private error: string | undefined
  private timer: NodeJS.Timeout | null = null
  private running: Promise<void> | null = null

  constructor(
    private readonly probe: () => Promise<void>,
    private readonly intervalMs = 5_000,
    private readonly now: () => number = Date.now,
  ) {}

  /** Probes now, then every interval (the timer never keeps the process alive). */
  start(): Promise<void> {
    const first = this.check()
    this.timer = setInterval(() => void this.check(), this.intervalMs)
    this.timer.unref()
    return first
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer)
    this.timer = null
  }

  check(): Promise<void> {
    this.running ??= this.probe()
      .then(
        () => {
          this.writable = true
          this.error = undefined
        },
        (error: unknown) => {
          this.writable = false
          this.error = errnoCode(error) ?? (error instanceof Error ? error.message : String(error))
        },
      )
      .finally(() => {
        this.checkedAt = this.now()
        this.running = null
      })
    return this.running
  }

  report(uplinks: Array<{ uplink: string; state: 'closed' | 'open' | 'half-open' }>): HealthReport {
    return {
      status: this.writable ? 'ok' : 'fail',
      storage: {
        writable: this.writable,
        checkedAt: this.checkedAt === null ? null : new Date(this.checkedAt).toISOString(),
        ...(this.error ? { error: this.error } : {}),
      },
      uplinks: Object.fromEntries(uplinks.map(({ uplink, state }) => [uplink, { state }])),
    }
  }
}

export type BreakerState = 'closed' | 'open' | 'half-open'

/** One request's slot in the breaker. The first of success/failure/release counts; the rest are no-ops. */
export interface BreakerPermit {
  /** The uplink answered completely (headers and body). */
  success(): void
  /** The uplink failed (network error, timeout, 5xx, a body cut short or too big). */
  failure(): void
  /** Neither: the caller gave up (client went away). A probe slot is handed back uncounted. */
  release(): void
}

/**
 * A circuit breaker per uplink. After `maxFails` consecutive failures the circuit opens and
 * the registry answers from its store without waiting on the uplink; after `failTimeout`
 * one request is let through (half-open) and its outcome closes or re-opens the circuit.
 * Only failures of the uplink itself count: a 404 is an answer, not a failure.
 *
 * `state()`, `isOpen()` and `retryAfterMs()` only look; `acquire()` is the one call that takes
 * the half-open probe, and the permit it returns must be settled (in a `finally`), or the
 * circuit would stay half-open with its probe taken forever.
 */
export class CircuitBreaker {
  private failures = 0
  private openedAt = 0
  private probing = false

  constructor(
    private readonly maxFails: number,
    private readonly failTimeout: number,
    private readonly now: () => number = Date.now,
  ) {}

  state(): BreakerState {
    if (this.maxFails <= 0 || this.failures < this.maxFails) return 'closed'
    return this.now() - this.openedAt < this.failTimeout ? 'open' : 'half-open'
  }

  /** True when a request asked now would be refused (open, or half-open with its probe out). */
  isOpen(): boolean {
    const state = this.state()
    return state === 'open' || (state === 'half-open' && this.probing)
  }

  /** Milliseconds until a request may go through again; 0 when one may now. */
  retryAfterMs(): number {
    const state = this.state()
    if (state === 'closed') return 0
    if (state === 'open') return this.openedAt + this.failTimeout - this.now()
    // Half-open with the probe out: its outcome is due within one request's time; say soon.
    return this.probing ? 1000 : 0
  }

  /** A slot for one request, or null when the circuit refuses it now. */
  acquire(): BreakerPermit | null {
    const state = this.state()
    if (state === 'open') return null
    const probe = state === 'half-open'
    if (probe) {
      if (this.probing) return null
      this.probing = true
    }
    let settled = false
    const settle = (outcome: () => void) => {
      if (settled) return
      settled = true
      if (probe) this.probing = false
      outcome()
    }
    return {
      success: () => settle(() => (this.failures = 0)),
      failure: () =>
        settle(() => {
          this.failures++
          if (this.failures >= this.maxFails) this.openedAt = this.now()
        }),
      release: () => settle(() => undefined),
    }
  }
}

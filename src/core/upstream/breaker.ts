/**
 * A circuit breaker per uplink. After `maxFails` consecutive failures the circuit opens and
 * the registry answers from its store without waiting on the uplink; after `failTimeout`
 * one request is let through (half-open) and its outcome closes or re-opens the circuit.
 * Only failures of the uplink itself count: a 404 is an answer, not a failure.
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

  /** True when requests should not be sent now. */
  isOpen(): boolean {
    if (this.failures < this.maxFails) return false
    if (this.now() - this.openedAt < this.failTimeout) return true
    // Half-open: let exactly one request probe the uplink.
    if (this.probing) return true
    this.probing = true
    return false
  }

  /** The circuit as it stands, without taking the half-open probe (health, metrics). */
  state(): 'closed' | 'open' | 'half-open' {
    if (this.failures < this.maxFails) return 'closed'
    return this.now() - this.openedAt < this.failTimeout || this.probing ? 'open' : 'half-open'
  }

  success(): void {
    this.failures = 0
    this.probing = false
  }

  failure(): void {
    this.failures++
    this.probing = false
    if (this.failures >= this.maxFails) this.openedAt = this.now()
  }
}

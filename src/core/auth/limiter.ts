import { SinopiaError } from '../errors.js'

/**
 * Slows password guessing: after `maxFailures` wrong passwords within `windowMs` for one
 * user name or from one address, further attempts for it are refused with 429 until the
 * window has passed. A right password clears the count for that user and address.
 */
export class FailureLimiter {
  private readonly failures = new Map<string, { count: number; first: number }>()

  constructor(
    private readonly maxFailures = 10,
    private readonly windowMs = 15 * 60 * 1000,
    private readonly now: () => number = Date.now,
  ) {}

  check(keys: string[]): void {
    const at = this.now()
    for (const key of keys) {
      const entry = this.failures.get(key)
      if (!entry) continue
      if (at - entry.first > this.windowMs) {
        this.failures.delete(key)
        continue
      }
      if (entry.count >= this.maxFailures) {
        const retry = Math.ceil((entry.first + this.windowMs - at) / 1000)
        throw new SinopiaError('ERATELIMIT', `too many failed logins; try again in ${retry} s`, { status: 429 })
      }
    }
  }

  fail(keys: string[]): void {
    const at = this.now()
    if (this.failures.size > 100_000) this.failures.clear()
    for (const key of keys) {
      const entry = this.failures.get(key)
      if (!entry || at - entry.first > this.windowMs) this.failures.set(key, { count: 1, first: at })
      else entry.count++
    }
  }

  succeed(keys: string[]): void {
    for (const key of keys) this.failures.delete(key)
  }
}

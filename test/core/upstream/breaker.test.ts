import { describe, expect, it } from 'vitest'
import { CircuitBreaker } from '../../../src/core/upstream/breaker.js'
import { SingleFlight } from '../../../src/core/upstream/single-flight.js'

/** One request through the breaker: acquire, then settle (as UpstreamClient.send does). */
function request(breaker: CircuitBreaker, outcome: 'success' | 'failure'): boolean {
  const permit = breaker.acquire()
  if (!permit) return false
  try {
    permit[outcome]()
  } finally {
    permit.release()
  }
  return true
}

describe('CircuitBreaker', () => {
  it('opens after max_fails failures in a row, half-opens after fail_timeout for exactly one probe', () => {
    let now = 0
    const breaker = new CircuitBreaker(2, 1000, () => now)
    request(breaker, 'failure')
    expect(breaker.state()).toBe('closed')
    request(breaker, 'failure')
    expect(breaker.state()).toBe('open')
    expect(breaker.acquire()).toBeNull()
    expect(breaker.retryAfterMs()).toBe(1000)
    now = 1500
    expect(breaker.state()).toBe('half-open')
    const probe = breaker.acquire()
    expect(probe).not.toBeNull()
    expect(breaker.acquire()).toBeNull() // the others wait for the probe
    expect(breaker.isOpen()).toBe(true)
    probe!.success()
    expect(breaker.state()).toBe('closed')
    expect(breaker.acquire()).not.toBeNull()
  })

  it('asking whether it is open has no side effects: the probe goes to the request that acquires it', () => {
    let now = 0
    const breaker = new CircuitBreaker(2, 1000, () => now)
    request(breaker, 'failure')
    request(breaker, 'failure')
    now = 1001
    // A caller that checks first (available()) and then sends must still be let through.
    expect(breaker.isOpen()).toBe(false)
    expect(breaker.isOpen()).toBe(false)
    expect(request(breaker, 'success')).toBe(true)
    expect(breaker.state()).toBe('closed')
  })

  it('a failed probe re-opens for another fail_timeout; a released probe (caller gone) counts nothing', () => {
    let now = 0
    const breaker = new CircuitBreaker(2, 1000, () => now)
    request(breaker, 'failure')
    request(breaker, 'failure')
    now = 1000
    breaker.acquire()!.release()
    expect(breaker.state()).toBe('half-open')
    expect(request(breaker, 'failure')).toBe(true)
    expect(breaker.state()).toBe('open')
    now = 1999
    expect(breaker.acquire()).toBeNull()
    now = 2000
    expect(request(breaker, 'success')).toBe(true)
    expect(breaker.state()).toBe('closed')
  })

  it('a success in between resets the count; max_fails 0 never opens', () => {
    const breaker = new CircuitBreaker(2, 1000, () => 0)
    request(breaker, 'failure')
    request(breaker, 'success')
    request(breaker, 'failure')
    expect(breaker.isOpen()).toBe(false)
    const never = new CircuitBreaker(0, 1000, () => 0)
    for (let i = 0; i < 5; i++) request(never, 'failure')
    expect(never.state()).toBe('closed')
  })

  it('settling a permit twice counts once', () => {
    const breaker = new CircuitBreaker(2, 1000, () => 0)
    const permit = breaker.acquire()!
    permit.failure()
    permit.failure()
    expect(breaker.state()).toBe('closed')
  })
})

describe('SingleFlight', () => {
  it('runs one call per key at a time', async () => {
    const flight = new SingleFlight<number>()
    let calls = 0
    const fn = async () => {
      calls++
      await new Promise((r) => setTimeout(r, 10))
      return calls
    }
    const results = await Promise.all([flight.run('a', fn), flight.run('a', fn), flight.run('b', fn)])
    expect(results[0]).toBe(results[1])
    expect(calls).toBe(2)
    await flight.run('a', fn)
    expect(calls).toBe(3)
  })
})

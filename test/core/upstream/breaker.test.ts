import { describe, expect, it } from 'vitest'
import { CircuitBreaker } from '../../../src/core/upstream/breaker.js'
import { SingleFlight } from '../../../src/core/upstream/single-flight.js'

describe('CircuitBreaker', () => {
  it('opens after max_fails failures in a row, half-opens after fail_timeout', () => {
    let now = 0
    const breaker = new CircuitBreaker(2, 1000, () => now)
    breaker.failure()
    expect(breaker.isOpen()).toBe(false)
    breaker.failure()
    expect(breaker.isOpen()).toBe(true)
    now = 1500
    expect(breaker.isOpen()).toBe(false) // one probe goes through
    expect(breaker.isOpen()).toBe(true) // the others wait for it
    breaker.success()
    expect(breaker.isOpen()).toBe(false)
  })

  it('a success in between resets the count', () => {
    const breaker = new CircuitBreaker(2, 1000, () => 0)
    breaker.failure()
    breaker.success()
    breaker.failure()
    expect(breaker.isOpen()).toBe(false)
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

import { describe, expect, it } from 'vitest'
import { assertNoSelfUplink, type ListenAddress } from '../../../src/core/config/index.js'
import { SinopiaError } from '../../../src/core/errors.js'
import { parse } from './helpers.js'

function check(url: string, listen: ListenAddress): void {
  const { config } = parse(`uplinks:\n  up:\n    url: '${url}'\n`)
  assertNoSelfUplink(config, listen)
}

describe('assertNoSelfUplink', () => {
  it.each([
    ['http://127.0.0.1:4873/', '127.0.0.1', 4873],
    ['http://localhost:4873/', '127.0.0.1', 4873],
    ['http://LOCALHOST:4873', 'localhost', 4873],
    ['http://127.0.0.2:4873/', 'localhost', 4873],
    ['http://[::1]:4873/', '127.0.0.1', 4873],
    ['http://localhost:4873/', '::1', 4873],
    ['http://0.0.0.0:4873/', '127.0.0.1', 4873],
    ['http://127.0.0.1:4873/', '0.0.0.0', 4873],
    ['http://localhost:4873/', '::', 4873],
    ['http://[::ffff:127.0.0.1]:4873/', '0.0.0.0', 4873],
    ['http://127.1:4873/', '127.0.0.1', 4873],
    ['http://registry.internal:4873/', 'registry.internal', 4873],
    ['http://192.168.1.5:4873/', '192.168.1.5', 4873],
    ['http://localhost/', '127.0.0.1', 80],
    ['https://localhost/', '0.0.0.0', 443],
    ['http://localhost:4873/npm/', '127.0.0.1', 4873],
  ])('%s is this server when listening on %s:%d', (url, host, port) => {
    let caught: unknown
    try {
      check(url, { host, port })
    } catch (error) {
      caught = error
    }
    expect(caught).toBeInstanceOf(SinopiaError)
    expect((caught as SinopiaError).code).toBe('ECONFIG')
    expect((caught as SinopiaError).message).toContain(`uplink up points at this server (`)
    expect((caught as SinopiaError).hint).toMatch(/uplinks\.up\.url/)
  })

  it.each([
    ['http://localhost:4874/', '127.0.0.1', 4873],
    ['https://localhost/', '127.0.0.1', 80],
    ['http://localhost/', '127.0.0.1', 443],
    ['https://registry.example.org/', '0.0.0.0', 443],
    ['http://192.168.1.5:4873/', '127.0.0.1', 4873],
    ['http://127.0.0.1:4873/', '192.168.1.5', 4873],
    ['http://registry.internal:4873/', '127.0.0.1', 4873],
  ])('%s is another server when listening on %s:%d', (url, host, port) => {
    expect(() => check(url, { host, port })).not.toThrow()
  })
})

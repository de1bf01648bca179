import { describe, expect, it } from 'vitest'
import { parseListen } from '../../../src/core/config/index.js'
import { SinopiaError } from '../../../src/core/errors.js'

describe('parseListen', () => {
  it.each([
    ['4873', '127.0.0.1', 4873],
    ['localhost:4873', 'localhost', 4873],
    ['0.0.0.0:4873', '0.0.0.0', 4873],
    ['127.0.0.1:4873', '127.0.0.1', 4873],
    ['http://localhost:4873/', 'localhost', 4873],
    ['http://0.0.0.0:80', '0.0.0.0', 80],
    ['[::1]:4873', '::1', 4873],
    ['[::]:4873', '::', 4873],
    [':4873', '127.0.0.1', 4873],
    ['registry.internal:8080', 'registry.internal', 8080],
    ['127.0.0.1:0', '127.0.0.1', 0],
  ])('%s', (text, host, port) => {
    expect(parseListen(text)).toEqual({ host, port })
  })

  it('https://HOST:PORT asks for TLS', () => {
    expect(parseListen('https://0.0.0.0:4873')).toEqual({ host: '0.0.0.0', port: 4873, tls: true })
    expect(parseListen('http://0.0.0.0:4873')).toEqual({ host: '0.0.0.0', port: 4873 })
  })

  it.each([
    ['unix:/tmp/sinopia.sock', /unix socket/],
    ['/run/sinopia.sock', /unix socket/],
    ['ftp://localhost:4873', /http and https only/],
    ['localhost', /invalid listen address/],
    ['localhost:99999', /invalid port/],
    ['[nope]:4873', /invalid IPv6/],
    ['bad_host:4873', /invalid host/],
    ['', /invalid listen address/],
  ])('refuses %j', (text, message) => {
    let caught: unknown
    try {
      parseListen(text)
    } catch (error) {
      caught = error
    }
    expect(caught).toBeInstanceOf(SinopiaError)
    expect((caught as SinopiaError).code).toBe('ECONFIG')
    expect((caught as SinopiaError).hint).toBeTruthy()
    expect((caught as SinopiaError).message).toMatch(message)
  })
})

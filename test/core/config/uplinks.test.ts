import { describe, expect, it } from 'vitest'
import { parse } from './helpers.js'

describe('parseConfig: uplinks', () => {
  it('reads every key', () => {
    const { config, warnings } = parse(`
      http_proxy: http://proxy.example.org:3128
      no_proxy: localhost, .internal
      uplinks:
        corp:
          url: http://npm.corp.example.org:8080/registry
          timeout: 1m
          maxage: 30
          fail_timeout: 1h 30m
          max_fails: 0
          cache: false
          headers:
            authorization: Bearer token
            x-number: 7
          ca: ./certs/corp.pem
          strict_ssl: false
          https_proxy: http://user:secret@proxy.example.org:3129
          no_proxy: [a.example.org, b.example.org]
          deadline: 3m
          max_packument_size: 50mb
          max_tarball_size: 1gb
          tarball_origins: [https://cdn.example.org/npm/, 'http://files.example.org:8081']
    `)
    expect(warnings).toEqual([])
    expect(config.uplinks.corp).toEqual({
      name: 'corp',
      url: 'http://npm.corp.example.org:8080/registry/',
      timeout: 60_000,
      deadline: 180_000,
      maxPackumentSize: 50 * 1024 * 1024,
      maxTarballSize: 1024 * 1024 * 1024,
      tarballOrigins: ['https://cdn.example.org', 'http://files.example.org:8081'],
      maxage: 30_000,
      failTimeout: 5_400_000,
      maxFails: 0,
      cache: false,
      headers: { authorization: 'Bearer token', 'x-number': '7' },
      caFile: '/etc/sinopia/certs/corp.pem',
      strictSsl: false,
      httpProxy: 'http://proxy.example.org:3128',
      httpsProxy: 'http://user:secret@proxy.example.org:3129',
      noProxy: 'a.example.org,b.example.org',
    })
  })

  it('derives the deadline from timeout, and refuses a tarball origin that is not an http(s) URL', () => {
    const { config } = parse(`
      uplinks:
        npmjs:
          url: https://registry.example.org/
          timeout: 5s
    `)
    expect(config.uplinks.npmjs).toMatchObject({ timeout: 5_000, deadline: 50_000, tarballOrigins: [] })
    expect(() => parse(`
      uplinks:
        npmjs:
          url: https://registry.example.org/
          tarball_origins: ftp://files.example.org
    `)).toThrow(/tarball_origins: URL "ftp:\/\/files.example.org" must start with http/)
  })

  it('passes the top-level proxy settings down to uplinks without their own', () => {
    const { config } = parse(`
      https_proxy: http://proxy.example.org:3128
      no_proxy: [localhost, .internal]
      uplinks:
        npmjs:
          url: https://registry.example.org/
    `)
    expect(config.uplinks.npmjs).toMatchObject({ httpsProxy: 'http://proxy.example.org:3128', noProxy: 'localhost,.internal' })
    expect('httpProxy' in config.uplinks.npmjs!).toBe(false)
  })

  it('keeps PEM text given inline in ca', () => {
    const { config } = parse(`
      uplinks:
        corp:
          url: https://npm.corp.example.org/
          ca: |
            -----BEGIN CERTIFICATE-----
            MIIB
            -----END CERTIFICATE-----
    `)
    expect(config.uplinks.corp!.ca).toMatch(/^-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----/)
    expect(config.uplinks.corp!.caFile).toBeUndefined()
  })

  it('normalises the url', () => {
    expect(parse("uplinks: { a: { url: 'HTTPS://Registry.Example.ORG:443' } }").config.uplinks.a!.url).toBe('https://registry.example.org/')
  })

  it('reads durations as Infinity', () => {
    expect(parse("uplinks: { a: { url: 'https://a.example.org', maxage: .inf, timeout: Infinity } }").config.uplinks.a).toMatchObject({
      maxage: Infinity,
      timeout: Infinity,
    })
  })

  it('warns about uplink keys it does not use', () => {
    const { warnings } = parse(`
      uplinks:
        npmjs:
          url: https://registry.example.org/
          auth:
            type: bearer
            token_env: NPM_TOKEN
          agent_options: { keepAlive: true }
          retries: 3
    `)
    expect(warnings.map((w) => [w.key, w.line])).toEqual([
      ['uplinks.npmjs.auth', 4],
      ['uplinks.npmjs.agent_options', 7],
      ['uplinks.npmjs.retries', 8],
    ])
    expect(warnings[0]!.message).toMatch(/headers/)
    expect(warnings[2]!.message).toContain('/etc/sinopia/config.yaml:8: uplinks.npmjs.retries: unknown key')
  })
})

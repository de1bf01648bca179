import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { parseConfig } from '../../../src/core/config/index.js'

const FIXTURE = fileURLToPath(new URL('../../../fixtures/config/verdaccio.yaml', import.meta.url))

describe('a Verdaccio 5 config file', () => {
  const { config, warnings } = parseConfig(readFileSync(FIXTURE, 'utf8'), FIXTURE)
  const dir = FIXTURE.slice(0, FIXTURE.lastIndexOf('/'))

  it('parses as it is', () => {
    expect(config.storage).toBe(`${dir}/storage`)
    expect(config.listen).toEqual({ host: '0.0.0.0', port: 4873 })
    expect(config.urlPrefix).toBe('/npm/')
    expect(config.maxBodySize).toBe(100 * 1024 * 1024)
    expect(config.logLevel).toBe('warn')
    expect(config.keepAliveTimeout).toBe(75_000)
    expect(config.web).toEqual({ enabled: true, title: 'Acme registry', login: true })
    expect(config.auth.htpasswd).toEqual({ file: `${dir}/htpasswd`, maxUsers: -1 })
    expect(config.uplinks.npmjs).toMatchObject({
      url: 'https://registry.example.org/',
      timeout: 60_000,
      maxage: 600_000,
      failTimeout: 120_000,
      maxFails: 5,
      cache: true,
    })
    expect(config.uplinks.mirror).toMatchObject({
      url: 'https://mirror.example.com/npm/',
      cache: false,
      strictSsl: false,
      headers: { authorization: 'Bearer abc123', 'x-team': '42' },
    })
    expect(config.packages).toEqual([
      { pattern: '@acme/*', access: ['$authenticated'], publish: ['admin', 'ci-bot'], unpublish: ['admin'], proxy: [] },
      { pattern: '@*/*', access: ['$all'], publish: ['$authenticated'], unpublish: ['$authenticated'], proxy: ['npmjs', 'mirror'] },
      { pattern: 'legacy-*', access: ['$all'], publish: ['admin'], unpublish: ['admin'], proxy: ['mirror'] },
      { pattern: '**', access: ['$all'], publish: ['$authenticated'], unpublish: ['$authenticated'], proxy: ['npmjs'] },
    ])
  })

  it('warns about exactly the keys sinopia-cli ignores, with their lines', () => {
    expect(warnings.map((w) => `${w.line} ${w.key}`)).toEqual([
      '5 plugins',
      '9 web.logo',
      '10 web.primary_color',
      '11 web.darkMode',
      '18 auth.htpasswd.algorithm',
      '19 auth.htpasswd.rounds',
      '35 uplinks.mirror.agent_options',
      '61 security',
      '68 middlewares',
      '74 listen[1]',
      '80 i18n',
      '83 publish',
    ])
    for (const warning of warnings) expect(warning.message).toContain(`${FIXTURE}:${warning.line}: ${warning.key}: ignored`)
  })
})

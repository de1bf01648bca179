import { describe, expect, it } from 'vitest'
import { configError, defaultUplink, parse } from './helpers.js'
import { DEFAULT_LIMITS } from '../../../src/core/config/index.js'

const UPLINK = `
  uplinks:
    npmjs:
      url: https://registry.example.org/
`

describe('parseConfig: defaults', () => {
  it('fills every key of an empty file', () => {
    const { config, warnings } = parse('')
    expect(warnings).toEqual([])
    expect(config).toEqual({
      file: '/etc/sinopia/config.yaml',
      storage: '/etc/sinopia/storage',
      listen: { host: '127.0.0.1', port: 4873 },
      uplinks: {},
      packages: [
        { pattern: '@*/*', access: ['$all'], publish: ['$authenticated'], unpublish: ['$authenticated'], proxy: [] },
        { pattern: '**', access: ['$all'], publish: ['$authenticated'], unpublish: ['$authenticated'], proxy: [] },
      ],
      auth: { htpasswd: { file: '/etc/sinopia/htpasswd', maxUsers: Infinity } },
      maxBodySize: 10 * 1024 * 1024,
      web: { enabled: true, title: 'sinopia', login: true },
      search: { uplink: true, timeout: 3_000 },
      metrics: { enabled: true, allow: [] },
      keepAliveTimeout: 60_000,
      maxJsonDepth: 100,
      maxUnpackedSize: 256 * 1024 * 1024,
      logLevel: 'http',
      logFormat: 'pretty',
      trustProxy: [],
      limits: DEFAULT_LIMITS,
    })
  })

  it('gives an uplink the defaults for everything but its url', () => {
    const { config } = parse(UPLINK)
    expect(config.uplinks).toEqual({
      npmjs: defaultUplink('https://registry.example.org/'),
    })
  })

  it('proxies the default package rules to every uplink, in order', () => {
    const { config } = parse(`
      uplinks:
        a: { url: 'https://a.example.org' }
        b: { url: 'https://b.example.org' }
    `)
    expect(config.packages.map((rule) => rule.proxy)).toEqual([['a', 'b'], ['a', 'b']])
  })

  it('treats a key with an empty value as not set', () => {
    const { config, warnings } = parse(`
      storage:
      packages:
      uplinks:
      log:
    `)
    expect(warnings).toEqual([])
    expect(config.storage).toBe('/etc/sinopia/storage')
    expect(config.packages).toHaveLength(2)
  })
})

describe('parseConfig: top-level keys', () => {
  it('resolves storage against the config folder', () => {
    expect(parse('storage: ../data').config.storage).toBe('/etc/data')
    expect(parse('storage: /var/lib/sinopia').config.storage).toBe('/var/lib/sinopia')
  })

  it.each([
    ['listen: 4873', { host: '127.0.0.1', port: 4873 }],
    ['listen: 0.0.0.0:8080', { host: '0.0.0.0', port: 8080 }],
    ["listen: '[::1]:4873'", { host: '::1', port: 4873 }],
    ['listen: http://localhost:4873/', { host: 'localhost', port: 4873 }],
    ['listen: [localhost:5000]', { host: 'localhost', port: 5000 }],
  ])('%s', (text, listen) => {
    const { config, warnings } = parse(text)
    expect(config.listen).toEqual(listen)
    expect(warnings).toEqual([])
  })

  it('takes the first of several listen addresses and warns about the rest', () => {
    const { config, warnings } = parse(`
      listen:
        - 127.0.0.1:4000
        - 0.0.0.0:5000
    `)
    expect(config.listen).toEqual({ host: '127.0.0.1', port: 4000 })
    expect(warnings).toMatchObject([{ key: 'listen[1]', line: 3 }])
  })

  it.each([
    ['url_prefix: /npm', '/npm/'],
    ['url_prefix: npm/', '/npm/'],
    ['url_prefix: /', '/'],
    ['url_prefix: https://npm.example.org/private', 'https://npm.example.org/private/'],
  ])('%s', (text, prefix) => {
    expect(parse(text).config.urlPrefix).toBe(prefix)
  })

  it('leaves url_prefix undefined when not set', () => {
    expect('urlPrefix' in parse('').config).toBe(false)
  })

  it('reads https: {key, cert, ca, pfx, passphrase} for an https:// listen address, paths relative to the config file', () => {
    const { config, warnings } = parse('listen: https://0.0.0.0:4873\nhttps: { key: tls/key.pem, cert: /etc/ssl/cert.pem, ca: ca.pem, passphrase: s3cret }')
    expect(warnings).toEqual([])
    expect(config.listen).toEqual({ host: '0.0.0.0', port: 4873, tls: true })
    expect(config.https).toEqual({ key: '/etc/sinopia/tls/key.pem', cert: '/etc/ssl/cert.pem', ca: '/etc/sinopia/ca.pem', passphrase: 's3cret' })
    expect(() => parse('listen: https://0.0.0.0:4873')).toThrow(/no https: \{key, cert\}/)
    expect(() => parse('listen: https://0.0.0.0:4873\nhttps: { key: k.pem }')).toThrow(/needs key and cert/)
    expect(parse('https: { pfx: a.p12 }').warnings.map((w) => w.message)).toEqual([expect.stringMatching(/https: not used: listen is not an https/)])
  })

  it('reads max_body_size', () => {
    expect(parse('max_body_size: 1gb').config.maxBodySize).toBe(1024 ** 3)
    expect(parse('max_body_size: 2048').config.maxBodySize).toBe(2048)
  })

  it('reads the log level from log, logs as a map, or logs as a list', () => {
    expect(parse('log: { level: debug }').config.logLevel).toBe('debug')
    expect(parse('logs: { type: stdout, format: pretty, level: warn }').config.logLevel).toBe('warn')
    const old = parse(`
      logs:
        - { type: stdout, format: pretty, level: trace }
        - { type: file, path: sinopia.log, level: info }
    `)
    expect(old.config.logLevel).toBe('trace')
    expect(old.warnings).toMatchObject([{ key: 'logs[1]', line: 3 }])
  })

  it('prefers log over logs, with a warning', () => {
    const { config, warnings } = parse(`
      log: { level: error }
      logs: { level: debug }
    `)
    expect(config.logLevel).toBe('error')
    expect(warnings).toMatchObject([{ key: 'logs', line: 2 }])
  })

  it('reads the log type, path and format (Verdaccio 5 logs:, Verdaccio 6 log:)', () => {
    const file = parse('logs: { type: file, path: /var/log/verdaccio.log, level: info }')
    expect(file.warnings).toEqual([])
    expect(file.config).toMatchObject({ logLevel: 'info', logFormat: 'pretty', logFile: '/var/log/verdaccio.log' })
    const json = parse('log: { type: stdout, format: json, level: warn }').config
    expect(json).toMatchObject({ logLevel: 'warn', logFormat: 'json' })
    expect('logFile' in json).toBe(false)
    expect(parse('log: { path: x.log }').warnings).toMatchObject([{ key: 'log.path' }])
    expect(() => parse('log: { type: file }')).toThrow(/no path/)
    expect(() => parse('log: { format: xml }')).toThrow(/unknown log format/)
  })
})

describe('parseConfig: auth', () => {
  it('reads the htpasswd file and max_users', () => {
    const { config } = parse(`
      auth:
        htpasswd:
          file: /var/lib/sinopia/users
          max_users: -1
    `)
    expect(config.auth.htpasswd).toEqual({ file: '/var/lib/sinopia/users', maxUsers: -1 })
    expect(parse('auth: { htpasswd: { max_users: 10 } }').config.auth.htpasswd).toEqual({ file: '/etc/sinopia/htpasswd', maxUsers: 10 })
  })

  it('warns about other auth plugins and htpasswd options', () => {
    const { config, warnings } = parse(`
      auth:
        ldap:
          url: ldap://ldap.example.org
        htpasswd:
          file: ./users
          algorithm: bcrypt
    `)
    expect(config.auth.htpasswd.file).toBe('/etc/sinopia/users')
    expect(warnings.map((w) => [w.key, w.line])).toEqual([
      ['auth.ldap', 2],
      ['auth.htpasswd.algorithm', 6],
    ])
    expect(warnings[0]!.message).toMatch(/only the htpasswd auth/)
  })

  it('keeps the users in the store with auth.store, its max_users as htpasswd has', () => {
    expect(parse('auth: { htpasswd: { max_users: 3 } }').config.auth.store).toBeUndefined()
    expect(parse('auth: { store: {} }').config.auth.store).toEqual({ maxUsers: Infinity })
    expect(parse('auth:\n  store:\n').config.auth.store).toEqual({ maxUsers: Infinity })
    expect(parse('auth: { store: { max_users: -1 } }').config.auth.store).toEqual({ maxUsers: -1 })
    configError('auth: { store: { max_users: lots } }', 'auth.store.max_users', 1)
  })

  it('refuses users in both places', () => {
    const error = configError(
      `
      auth:
        htpasswd:
          file: ./users
        store: {}
    `,
      'auth.store',
      4,
    )
    expect(error.message).toMatch(/both set/)
  })
})

describe('parseConfig: ignored and unknown keys', () => {
  it('warns with the key and line, and still parses', () => {
    const { config, warnings } = parse(`
      web:
        logo: x.png
      notify: { method: POST }
      colour: blue
      storage: ./data
    `)
    expect(config.storage).toBe('/etc/sinopia/data')
    expect(warnings.map((w) => [w.key, w.line])).toEqual([
      ['web.logo', 2],
      ['notify', 3],
      ['colour', 4],
    ])
    expect(warnings[0]!.message).toBe("/etc/sinopia/config.yaml:2: web.logo: ignored: the web page's look and language are fixed (web.title, web.login and web.enable are read)")
    expect(warnings[2]!.message).toBe('/etc/sinopia/config.yaml:4: colour: unknown key, ignored')
  })

  it('reads web.title (or Sinopia\'s top-level title), web.login and web.enable', () => {
    expect(parse('web: { title: Acme registry, login: false }').config.web).toEqual({ enabled: true, title: 'Acme registry', login: false })
    expect(parse('title: Old sinopia').config.web).toEqual({ enabled: true, title: 'Old sinopia', login: true })
    expect(parse('web: { enable: false }').config.web.enabled).toBe(false)
  })

  it('follows YAML aliases', () => {
    const { config } = parse(`
      uplinks:
        npmjs: &upstream
          url: https://registry.example.org/
          timeout: 10s
        again: *upstream
    `)
    expect(config.uplinks.again).toMatchObject({ name: 'again', url: 'https://registry.example.org/', timeout: 10_000 })
  })
})

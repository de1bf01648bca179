import { describe, expect, it } from 'vitest'
import { DEFAULT_LIMITS, defaultConfigText, parseConfig } from '../../../src/core/config/index.js'
import { defaultUplink } from './helpers.js'

describe('defaultConfigText', () => {
  it('parses back without warnings into the documented defaults', () => {
    const { config, warnings } = parseConfig(defaultConfigText('https://registry.example.org/'), '/home/me/.config/sinopia-cli/config.yaml')
    expect(warnings).toEqual([])
    expect(config).toEqual({
      file: '/home/me/.config/sinopia-cli/config.yaml',
      storage: '/home/me/.config/sinopia-cli/storage',
      listen: { host: '127.0.0.1', port: 4873 },
      uplinks: {
        npmjs: defaultUplink('https://registry.example.org/'),
      },
      packages: ['@*/*', '**'].map((pattern) => ({
        pattern,
        access: ['$all'],
        publish: ['$authenticated'],
        unpublish: ['$authenticated'],
        proxy: ['npmjs'],
      })),
      auth: { htpasswd: { file: '/home/me/.config/sinopia-cli/htpasswd', maxUsers: Infinity } },
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

  it('comments every key', () => {
    const lines = defaultConfigText('https://registry.example.org/').split('\n')
    for (const [index, line] of lines.entries()) {
      if (/^[a-z_]+:/.test(line)) expect(lines[index - 1], `comment above ${line}`).toMatch(/^#/)
    }
  })

  it('quotes an uplink URL that YAML would misread', () => {
    const { config } = parseConfig(defaultConfigText('http://registry.example.org:8080/a: b/'), '/tmp/config.yaml')
    expect(config.uplinks.npmjs!.url).toBe('http://registry.example.org:8080/a:%20b/')
  })
})

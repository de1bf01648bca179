import { describe, expect, it } from 'vitest'
import { configError } from './helpers.js'

const UPLINK = ['uplinks:', '  npmjs:', '    url: https://registry.example.org/']

/** A config with one uplink, then `lines`; the first of `lines` is line 4. */
function withUplink(...lines: string[]): string {
  return [...UPLINK, ...lines].join('\n')
}

describe('parseConfig errors name the key and the line', () => {
  it('reports YAML syntax errors with their line', () => {
    expect(configError('storage: ./a\n\tlisten: 1', '', 2).message).toMatch(/invalid YAML: Tabs/)
    expect(configError('storage: ./a\npackages:\n  - x\n  y: 1', '', 4).message).toMatch(/invalid YAML/)
  })

  it('reports duplicate keys', () => {
    expect(configError('storage: ./a\nstorage: ./b', '', 2).message).toMatch(/unique/)
  })

  it('refuses a file that is not a map', () => {
    expect(configError('- a\n- b', '', 1).message).toMatch(/must be a map/)
  })

  it.each([
    ['a string where a map is expected', 'uplinks: npmjs', 'uplinks', 1, /expected a map/],
    ['a list where text is expected', 'storage: [a, b]', 'storage', 1, /expected text/],
    ['an uplink without url', 'uplinks:\n  npmjs:\n    timeout: 10s', 'uplinks.npmjs.url', 2, /missing/],
    ['an empty uplink', 'uplinks:\n  npmjs:', 'uplinks.npmjs', 2, /no url/],
    ['a url that is not one', "uplinks:\n  npmjs:\n    url: 'not a url'", 'uplinks.npmjs.url', 3, /invalid URL/],
    ['a url with another scheme', 'uplinks:\n  npmjs:\n    url: ftp://registry.example.org/', 'uplinks.npmjs.url', 3, /http/],
    ['a url with credentials', 'uplinks:\n  a:\n    url: https://me:pw@registry.example.org/', 'uplinks.a.url', 3, /password/],
    ['a negative timeout', withUplink('    timeout: -5s'), 'uplinks.npmjs.timeout', 4, /invalid duration/],
    ['a negative timeout number', withUplink('    timeout: -5'), 'uplinks.npmjs.timeout', 4, /invalid duration/],
    ['a zero timeout', withUplink('    timeout: 0s'), 'uplinks.npmjs.timeout', 4, /more than 0/],
    ['a bad maxage', withUplink('    maxage: soon'), 'uplinks.npmjs.maxage', 4, /invalid duration/],
    ['a bad fail_timeout', withUplink('    fail_timeout: true'), 'uplinks.npmjs.fail_timeout', 4, /expected a duration/],
    ['a negative max_fails', withUplink('    max_fails: -1'), 'uplinks.npmjs.max_fails', 4, /whole number/],
    ['a fractional max_fails', withUplink('    max_fails: 1.5'), 'uplinks.npmjs.max_fails', 4, /whole number/],
    ['cache: yes', withUplink('    cache: yes'), 'uplinks.npmjs.cache', 4, /true or false/],
    ['strict_ssl as a string', withUplink("    strict_ssl: 'false'"), 'uplinks.npmjs.strict_ssl', 4, /true or false/],
    ['headers as a string', withUplink('    headers: x-a=1'), 'uplinks.npmjs.headers', 4, /expected a map/],
    ['a header that is a map', withUplink('    headers:', '      x-a: { b: 1 }'), 'uplinks.npmjs.headers.x-a', 5, /header value/],
    ['ca as a list', withUplink('    ca: [a, b]'), 'uplinks.npmjs.ca', 4, /expected text/],
    ['a proxy that is not a URL', withUplink('    http_proxy: proxy:3128'), 'uplinks.npmjs.http_proxy', 4, /proxy URL/],
    ['a top-level proxy that is not a URL', 'https_proxy: nope', 'https_proxy', 1, /invalid proxy URL/],
    ['a bad listen address', 'listen: somewhere', 'listen', 1, /invalid listen address/],
    ['a unix socket', 'listen: unix:/tmp/s.sock', 'listen', 1, /unix socket/],
    ['a unix socket in a list', 'listen:\n  - unix:/tmp/s.sock', 'listen[0]', 2, /unix socket/],
    ['an empty listen list', 'listen: []', 'listen', 1, /empty list/],
    ['listen as a map', 'listen: { port: 4873 }', 'listen', 1, /expected an address/],
    ['a bad max_body_size', 'max_body_size: lots', 'max_body_size', 1, /invalid size/],
    ['a negative max_body_size', 'max_body_size: -1', 'max_body_size', 1, /invalid size/],
    ['an unknown log level', 'log:\n  level: loud', 'log.level', 2, /unknown log level/],
    ['an unknown level in logs', 'logs:\n  - { type: stdout, level: verbose }', 'logs[0].level', 2, /unknown log level/],
    ['log as a string', 'log: debug', 'log', 1, /expected a map/],
    ['max_users below -1', 'auth:\n  htpasswd:\n    max_users: -2', 'auth.htpasswd.max_users', 3, /at least -1/],
    ['auth as a list', 'auth: [htpasswd]', 'auth', 1, /expected a map/],
    ['a url_prefix with another scheme', 'url_prefix: ftp://example.org/', 'url_prefix', 1, /http/],
    ['a package rule that is a string', "packages:\n  '**': $all", "packages['**']", 2, /expected a map/],
    ['a list of maps as access', "packages:\n  '**':\n    access:\n      - { a: 1 }", "packages['**'].access[0]", 4, /expected names/],
  ])('%s', (_name, text, key, line, message) => {
    expect(configError(text, key, line).message).toMatch(message)
  })

  it('refuses a proxy naming an uplink that does not exist, at the line of that name', () => {
    const error = configError(
      withUplink('packages:', "  '@*/*':", '    access: $all', '    proxy:', '      - npmjs', '      - npmjss'),
      "packages['@*/*'].proxy[1]",
      9,
    )
    expect(error.message).toMatch(/"npmjss", which does not exist/)
    expect(error.hint).toMatch(/npmjs/)
  })

  it('refuses a proxy when no uplinks exist', () => {
    expect(configError("packages:\n  '**':\n    proxy: npmjs", "packages['**'].proxy", 3).hint).toMatch(/no uplinks/)
  })

  it('refuses a legacy proxy_access naming an unknown uplink', () => {
    configError(withUplink('packages:', "  '**':", '    proxy_access: nowhere'), "packages['**'].proxy_access", 6)
  })

  it('refuses a rule with both a key and its legacy name', () => {
    const error = configError("packages:\n  '**':\n    access: $all\n    allow_access: $authenticated", "packages['**'].allow_access", 4)
    expect(error.message).toMatch(/both access and allow_access/)
  })
})

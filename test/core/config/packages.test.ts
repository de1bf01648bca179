import { describe, expect, it } from 'vitest'
import { parse } from './helpers.js'

describe('parseConfig: packages', () => {
  it('keeps the rules in file order, with lists as strings or YAML lists', () => {
    const { config } = parse(`
      uplinks:
        npmjs:
          url: https://registry.example.org/
        other:
          url: https://other.example.org/
      packages:
        'private-*':
          access: alice bob
          publish: [alice]
        '@*/*':
          access: $all
          publish: $authenticated
          unpublish: admin
          proxy: other npmjs
        '**':
          access: [$all]
          proxy:
            - npmjs
    `)
    expect(config.packages).toEqual([
      { pattern: 'private-*', access: ['alice', 'bob'], publish: ['alice'], unpublish: ['alice'], proxy: [] },
      { pattern: '@*/*', access: ['$all'], publish: ['$authenticated'], unpublish: ['admin'], proxy: ['other', 'npmjs'] },
      { pattern: '**', access: ['$all'], publish: [], unpublish: [], proxy: ['npmjs'] },
    ])
  })

  it("accepts Sinopia's legacy key names", () => {
    const { config, warnings } = parse(`
      uplinks:
        npmjs:
          url: https://registry.example.org/
      packages:
        '*':
          allow_access: $all
          allow_publish: admin
          allow_unpublish: root
          proxy_access: npmjs
    `)
    expect(warnings).toEqual([])
    expect(config.packages).toEqual([{ pattern: '*', access: ['$all'], publish: ['admin'], unpublish: ['root'], proxy: ['npmjs'] }])
  })

  it('warns about per-package storage', () => {
    const { warnings } = parse(`
      packages:
        '**':
          access: $all
          storage: elsewhere
    `)
    expect(warnings).toMatchObject([{ key: "packages['**'].storage", line: 4 }])
  })
})

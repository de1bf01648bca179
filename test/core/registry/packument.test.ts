import { describe, expect, it } from 'vitest'
import { abbreviate, checkUpstreamPackument, offlinePackument, unchangedByCheck } from '../../../src/core/registry/packument.js'
import type { Packument } from '../../../src/core/store/index.js'

function doc(versions: string[], tags: Record<string, string>): Packument {
  return {
    name: 'pkg',
    'dist-tags': tags,
    versions: Object.fromEntries(
      versions.map((v) => [v, { name: 'pkg', version: v, dist: { tarball: `http://up/pkg/-/pkg-${v}.tgz`, shasum: 'x' }, readme: 'long', scripts: { test: 't' } }]),
    ),
    time: Object.fromEntries<string>([['created', '2020-01-01T00:00:00.000Z'], ['modified', '2021-01-01T00:00:00.000Z'], ...versions.map((v): [string, string] => [v, '2020-06-01T00:00:00.000Z'])]),
  }
}

describe('checkUpstreamPackument', () => {
  it('drops attachments, invalid versions and tags that point nowhere', () => {
    const raw = { ...doc(['1.0.0'], { latest: '1.0.0', next: '9.9.9' }), _attachments: { a: 1 } } as Record<string, unknown>
    ;(raw.versions as Record<string, unknown>)['not-semver'] = { version: 'x' }
    ;(raw.versions as Record<string, unknown>)['2.0.0'] = 'nope'
    const checked = checkUpstreamPackument(raw, 'pkg', 'npmjs')
    expect(Object.keys(checked.versions)).toEqual(['1.0.0'])
    expect(checked['dist-tags']).toEqual({ latest: '1.0.0' })
    expect(checked._attachments).toBeUndefined()
  })

  it('refuses a document for another package', () => {
    expect(() => checkUpstreamPackument({ name: 'other', versions: {} }, 'pkg', 'npmjs')).toThrow(/other/)
    expect(() => checkUpstreamPackument('x', 'pkg', 'npmjs')).toThrow()
  })

  it('tells when it left the document as sent (its bytes can then be stored as they came)', () => {
    const sent = (extra: Record<string, unknown> = {}) => JSON.parse(JSON.stringify({ ...doc(['1.0.0', '2.0.0'], { latest: '2.0.0' }), ...extra })) as Record<string, unknown>
    const same = sent()
    const checked = checkUpstreamPackument(same, 'pkg', 'npmjs')
    expect(unchangedByCheck(same, checked)).toBe(true)
    expect(JSON.stringify(checked)).toBe(JSON.stringify(same))
    const changed = [
      sent({ _attachments: {} }),
      sent({ 'dist-tags': { latest: '2.0.0', next: '9.9.9' } }),
      sent({ 'dist-tags': [] }),
      sent({ versions: { ...doc(['1.0.0'], {}).versions, 'not-semver': { version: 'x' } }, 'dist-tags': {} }),
      sent({ versions: [] }),
    ]
    const nameless = sent()
    delete nameless.name
    changed.push(nameless)
    for (const raw of changed) {
      const result = checkUpstreamPackument(raw, 'pkg', 'npmjs')
      expect(unchangedByCheck(raw, result)).toBe(false)
    }
  })
})

describe('abbreviate', () => {
  it('keeps install fields and time, drops readme and scripts, flags install scripts', () => {
    const d = doc(['1.0.0'], { latest: '1.0.0' })
    ;(d.versions['1.0.0'] as Record<string, unknown>).scripts = { postinstall: 'node x' }
    const a = abbreviate(d) as { versions: Record<string, Record<string, unknown>>; time: unknown; modified: string }
    expect(a.modified).toBe('2021-01-01T00:00:00.000Z')
    expect(a.time).toEqual(d.time)
    expect(a.versions['1.0.0']).toEqual({ name: 'pkg', version: '1.0.0', dist: d.versions['1.0.0']?.dist, hasInstallScript: true })
  })
})

describe('offlinePackument', () => {
  it('advertises only available versions and moves tags within the major', () => {
    const d = doc(['1.0.0', '1.1.0', '1.2.0-beta.1', '2.0.0', '3.0.0'], { latest: '2.0.0', legacy: '1.1.0', beta: '1.2.0-beta.1', three: '3.0.0' })
    const off = offlinePackument(d, new Set(['1.0.0', '1.2.0-beta.1', '2.0.0']))
    expect(Object.keys(off.versions)).toEqual(['1.0.0', '1.2.0-beta.1', '2.0.0'])
    expect(off['dist-tags']).toEqual({ latest: '2.0.0', legacy: '1.0.0', beta: '1.2.0-beta.1' })
    expect(Object.keys(off.time ?? {})).toEqual(['created', 'modified', '1.0.0', '1.2.0-beta.1', '2.0.0'])
  })
})

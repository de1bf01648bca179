import { describe, expect, it } from 'vitest'
import { pickVersion, versionIndex, type VersionIndex } from '../../../src/core/registry/pick.js'
import type { Packument } from '../../../src/core/store/index.js'

const index = (versions: string[], distTags: Record<string, string>, deprecated: string[] = []): VersionIndex => ({
  name: 'some-pkg',
  'dist-tags': distTags,
  versions: Object.fromEntries(versions.map((version) => [version, deprecated.includes(version) ? { version, deprecated: 'do not use' } : { version }])),
})

describe('pickVersion (npm-pick-manifest, as npm picks)', () => {
  const doc = index(['1.0.0', '1.1.0', '1.2.0', '2.0.0', '2.1.0-beta.1', '3.0.0-rc.1'], { latest: '1.2.0', next: '3.0.0-rc.1' })

  it('prefers the latest tag when the range allows it, over a higher match', () => {
    expect(pickVersion(doc, '*')).toBe('1.2.0')
    expect(pickVersion(doc, '')).toBe('1.2.0')
    expect(pickVersion(doc, '>=1.0.0')).toBe('1.2.0')
    expect(pickVersion(doc, '^1.0.0')).toBe('1.2.0')
  })

  it('else the highest satisfying version, prereleases only for ranges that name one', () => {
    expect(pickVersion(doc, '^2.0.0')).toBe('2.0.0')
    expect(pickVersion(doc, '~1.1.0')).toBe('1.1.0')
    expect(pickVersion(doc, '^2.1.0-beta.0')).toBe('2.1.0-beta.1')
    expect(pickVersion(doc, '^4.0.0')).toBeNull()
  })

  it('resolves tags and exact versions', () => {
    expect(pickVersion(doc, 'next')).toBe('3.0.0-rc.1')
    expect(pickVersion(doc, 'missing')).toBeNull()
    expect(pickVersion(doc, '1.1.0')).toBe('1.1.0')
    expect(pickVersion(doc, 'v1.1.0')).toBe('1.1.0')
    expect(pickVersion(doc, '1.3.0')).toBeNull()
  })

  it('takes `*` to a prerelease latest, as npm does', () => {
    expect(pickVersion(index(['1.0.0-alpha.1', '1.0.0-alpha.2'], { latest: '1.0.0-alpha.2' }), '*')).toBe('1.0.0-alpha.2')
  })

  it('avoids deprecated versions when another matches', () => {
    const deprecated = index(['1.0.0', '1.1.0', '1.2.0'], { latest: '1.2.0' }, ['1.2.0'])
    expect(pickVersion(deprecated, '^1.0.0')).toBe('1.1.0')
    expect(pickVersion(deprecated, '1.2.x')).toBe('1.2.0')
    expect(pickVersion(index(['1.0.0', '1.1.0'], { latest: '1.0.0' }, ['1.0.0', '1.1.0']), '^1.0.0')).toBe('1.1.0')
  })

  it('takes a deprecated version asked for exactly or by tag', () => {
    const deprecated = index(['1.0.0', '1.1.0'], { latest: '1.1.0', old: '1.0.0' }, ['1.0.0'])
    expect(pickVersion(deprecated, '1.0.0')).toBe('1.0.0')
    expect(pickVersion(deprecated, 'old')).toBe('1.0.0')
  })

  it('answers null, never throws, for a package without versions and for specs that are no registry spec', () => {
    expect(pickVersion(index([], {}), '*')).toBeNull()
    expect(pickVersion(index([], {}), 'latest')).toBeNull()
    expect(pickVersion(doc, 'not a tag!')).toBeNull()
    expect(pickVersion(doc, 'file:../x')).toBeNull()
    expect(pickVersion(doc, 'github:example/repo')).toBeNull()
  })

  it('leaves engines out: the node running the registry is not the one that installs', () => {
    const engines: VersionIndex = {
      name: 'some-pkg',
      'dist-tags': { latest: '1.0.0' },
      versions: { '1.0.0': { version: '1.0.0' }, '1.1.0': { version: '1.1.0', engines: { node: '>=999' } } as { version: string } },
    }
    expect(pickVersion(engines, '^1.1.0')).toBe('1.1.0')
    expect(pickVersion({ ...engines, 'dist-tags': {} }, '^1.0.0')).toBe('1.1.0')
  })
})

describe('versionIndex', () => {
  const packument = (versions: Record<string, Record<string, unknown>>, tags: Record<string, string>): Packument => ({
    name: 'pkg',
    'dist-tags': tags,
    versions: Object.fromEntries(Object.entries(versions).map(([v, extra]) => [v, { name: 'pkg', version: v, dist: { tarball: `http://up/pkg/-/pkg-${v}.tgz`, shasum: 'x' }, ...extra }])),
  })

  it('resolves tags, exact versions and ranges of a packument', () => {
    const d = versionIndex(packument({ '1.0.0': {}, '1.1.0': {}, '2.0.0': {} }, { latest: '1.1.0' }))
    expect(pickVersion(d, 'latest')).toBe('1.1.0')
    expect(pickVersion(d, '2.0.0')).toBe('2.0.0')
    expect(pickVersion(d, '^1.0.0')).toBe('1.1.0')
    expect(pickVersion(d, '3.0.0')).toBeNull()
  })

  it('counts a version deprecated only with a message (npm undeprecates with "")', () => {
    const d = versionIndex(packument({ '1.0.0': {}, '1.1.0': { deprecated: '' }, '1.2.0': { deprecated: 'broken' } }, {}))
    expect(pickVersion(d, '^1.0.0')).toBe('1.1.0')
  })
})

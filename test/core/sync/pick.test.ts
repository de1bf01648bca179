import { describe, expect, it } from 'vitest'
import { pickVersion, type VersionIndex } from '../../../src/core/sync/index.js'

const index = (versions: string[], distTags: Record<string, string>, deprecated: string[] = []): VersionIndex => ({
  versions,
  distTags,
  deprecated: new Set(deprecated),
})

describe('pickVersion (as npm picks)', () => {
  const doc = index(['1.0.0', '1.1.0', '1.2.0', '2.0.0', '2.1.0-beta.1', '3.0.0-rc.1'], { latest: '1.2.0', next: '3.0.0-rc.1' })

  it('prefers the latest tag when the range allows it, over a higher match', () => {
    expect(pickVersion(doc, 'range', '*')).toBe('1.2.0')
    expect(pickVersion(doc, 'range', '')).toBe('1.2.0')
    expect(pickVersion(doc, 'range', '>=1.0.0')).toBe('1.2.0')
    expect(pickVersion(doc, 'range', '^1.0.0')).toBe('1.2.0')
  })

  it('else the highest satisfying version, prereleases only for ranges that name one', () => {
    expect(pickVersion(doc, 'range', '^2.0.0')).toBe('2.0.0')
    expect(pickVersion(doc, 'range', '~1.1.0')).toBe('1.1.0')
    expect(pickVersion(doc, 'range', '^2.1.0-beta.0')).toBe('2.1.0-beta.1')
    expect(pickVersion(doc, 'range', '^4.0.0')).toBeNull()
  })

  it('resolves tags and exact versions', () => {
    expect(pickVersion(doc, 'tag', 'next')).toBe('3.0.0-rc.1')
    expect(pickVersion(doc, 'tag', 'missing')).toBeNull()
    expect(pickVersion(doc, 'version', '1.1.0')).toBe('1.1.0')
    expect(pickVersion(doc, 'version', 'v1.1.0')).toBe('1.1.0')
    expect(pickVersion(doc, 'version', '1.3.0')).toBeNull()
  })

  it('takes `*` to a prerelease latest, as npm does', () => {
    expect(pickVersion(index(['1.0.0-alpha.1', '1.0.0-alpha.2'], { latest: '1.0.0-alpha.2' }), 'range', '*')).toBe('1.0.0-alpha.2')
  })

  it('avoids deprecated versions when another matches', () => {
    const deprecated = index(['1.0.0', '1.1.0', '1.2.0'], { latest: '1.2.0' }, ['1.2.0'])
    expect(pickVersion(deprecated, 'range', '^1.0.0')).toBe('1.1.0')
    expect(pickVersion(deprecated, 'range', '1.2.x')).toBe('1.2.0')
    expect(pickVersion(index(['1.0.0', '1.1.0'], { latest: '1.0.0' }, ['1.0.0', '1.1.0']), 'range', '^1.0.0')).toBe('1.1.0')
  })
})

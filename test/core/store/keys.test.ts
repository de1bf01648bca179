import { describe, expect, it } from 'vitest'
import { parseTarballKey, tarballKey, tarballSpec } from '../../../src/core/store/index.js'

describe('tarball keys', () => {
  it('take apart what tarballKey built, scoped names included', () => {
    for (const [name, version] of [
      ['left-pad', '1.3.0'],
      ['@scope/pkg', '2.0.0-beta.1+build.5'],
    ] as const) {
      expect(parseTarballKey(tarballKey(name, version))).toEqual({ name, version })
      expect(tarballSpec(tarballKey(name, version))).toBe(`${name}@${version}`)
    }
  })

  it('refuse keys of another shape', () => {
    for (const key of ['packument:a', 'tarball:', 'tarball:@1.0.0', 'tarball:a@', 'tarball:noversion']) expect(parseTarballKey(key)).toBeNull()
    expect(tarballSpec('something-else')).toBe('something-else')
  })
})

import { describe, expect, it } from 'vitest'
import { PackageCollector, classifySpec, isRegistryTarball, mergeIntegrity, mergeLockfiles, splitNameAt } from '../../../src/core/lockfiles/index.js'

const SHA512_A = `sha512-${Buffer.alloc(64, 1).toString('base64')}`
const SHA512_B = `sha512-${Buffer.alloc(64, 2).toString('base64')}`
const SHA1_A = `sha1-${Buffer.alloc(20, 1).toString('base64')}`

describe('specs', () => {
  it('splits name@spec, keeping a scope', () => {
    expect(splitNameAt('@s/n@^1')).toEqual(['@s/n', '^1'])
    expect(splitNameAt('n@npm:@s/m@1')).toEqual(['n', 'npm:@s/m@1'])
    expect(splitNameAt('n')).toBeNull()
  })

  it('classifies dependency specs', () => {
    expect(classifySpec('a', '^1.0.0')).toEqual({ kind: 'registry', name: 'a', type: 'range', range: '^1.0.0' })
    expect(classifySpec('a', 'next')).toEqual({ kind: 'registry', name: 'a', type: 'tag', range: 'next' })
    expect(classifySpec('a', '1.2.3')).toEqual({ kind: 'registry', name: 'a', type: 'version', range: '1.2.3' })
    expect(classifySpec('a', 'npm:@s/real@^2')).toEqual({ kind: 'registry', name: '@s/real', type: 'range', range: '^2' })
    expect(classifySpec('a', 'github:u/r')).toEqual({ kind: 'git' })
    expect(classifySpec('a', 'u/r#abc')).toEqual({ kind: 'git' })
    expect(classifySpec('a', 'http://127.0.0.1:9/a.tgz')).toEqual({ kind: 'tarball-url' })
    expect(classifySpec('a', 'file:../a')).toEqual({ kind: 'file' })
    expect(classifySpec('a', 'link:../a')).toEqual({ kind: 'link' })
    expect(classifySpec('a', 'portal:../a')).toEqual({ kind: 'link' })
    expect(classifySpec('a', 'workspace:*')).toEqual({ kind: 'file' })
  })

  it('recognises registry tarball URLs of any host, scoped or not, %2f-encoded or not', () => {
    expect(isRegistryTarball('http://127.0.0.1:4873/a/-/a-1.0.0.tgz', 'a', '1.0.0')).toBe(true)
    expect(isRegistryTarball('http://127.0.0.1:4873/npm/@s/n/-/n-1.0.0.tgz', '@s/n', '1.0.0')).toBe(true)
    expect(isRegistryTarball('http://127.0.0.1:4873/@s%2fn/-/n-1.0.0.tgz', '@s/n', '1.0.0')).toBe(true)
    expect(isRegistryTarball('http://127.0.0.1:4873/@s/n/-/@s/n-1.0.0.tgz', '@s/n', '1.0.0')).toBe(true)
    expect(isRegistryTarball('http://127.0.0.1:4873/a/-/a-1.0.1.tgz', 'a', '1.0.0')).toBe(false)
    expect(isRegistryTarball('http://127.0.0.1:9/downloads/a.tgz', 'a', '1.0.0')).toBe(false)
  })
})

describe('integrity merging', () => {
  it('joins digests of different algorithms and refuses disagreeing ones', () => {
    expect(mergeIntegrity(undefined, SHA512_A)).toBe(SHA512_A)
    expect(mergeIntegrity(SHA512_A, SHA1_A)).toBe(`${SHA512_A} ${SHA1_A}`)
    expect(mergeIntegrity(SHA512_A, SHA512_A)).toBe(SHA512_A)
    expect(mergeIntegrity(SHA512_A, SHA512_B)).toBeNull()
  })

  it('keeps each name@version once, and both entries when their digests disagree', () => {
    const out = new PackageCollector()
    out.add('a', '1.0.0')
    out.add('a', '1.0.0', SHA512_A)
    out.add('a', '1.0.0', SHA1_A)
    out.add('b', '1.0.0', SHA512_A)
    out.add('b', '1.0.0', SHA512_B)
    expect(out.packages).toEqual([
      { name: 'a', version: '1.0.0', integrity: `${SHA512_A} ${SHA1_A}` },
      { name: 'b', version: '1.0.0', integrity: SHA512_A },
      { name: 'b', version: '1.0.0', integrity: SHA512_B },
    ])
  })

  it('merges several lockfiles, remembering which one skipped what', () => {
    const merged = mergeLockfiles([
      { file: 'a/package-lock.json', lockfile: { format: 'npm-v3', packages: [{ name: 'x', version: '1.0.0', integrity: SHA512_A }], skipped: [] } },
      {
        file: 'b/yarn.lock',
        lockfile: { format: 'yarn-berry', packages: [{ name: 'x', version: '1.0.0' }], skipped: [{ name: 'g', spec: 'github:u/g', kind: 'git', reason: 'git' }] },
      },
    ])
    expect(merged.packages).toEqual([{ name: 'x', version: '1.0.0', integrity: SHA512_A }])
    expect(merged.skipped).toEqual([{ name: 'g', spec: 'github:u/g', kind: 'git', reason: 'git', lockfile: 'b/yarn.lock' }])
  })
})

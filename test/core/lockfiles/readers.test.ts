import { readFileSync } from 'node:fs'
import path from 'node:path'
import { createHash } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { parseLockfile, type ParsedLockfile } from '../../../src/core/lockfiles/index.js'
import { REPO_ROOT } from '../../helpers/clients.js'

const FIXTURES = path.join(REPO_ROOT, 'fixtures', 'lockfiles')

function read(relative: string): ParsedLockfile {
  const file = path.join(FIXTURES, relative)
  return parseLockfile(file, readFileSync(file, 'utf8'))
}

/** The fixtures' digests: sha512 of `name@version`. */
const sri = (id: string) => `sha512-${createHash('sha512').update(id).digest('base64')}`

const ids = (parsed: ParsedLockfile) => parsed.packages.map((p) => `${p.name}@${p.version}`).sort()
const skips = (parsed: ParsedLockfile) => parsed.skipped.map((s) => `${s.name}:${s.kind}`).sort()

/** In every fixture: scoped, two versions of alpha, the alias resolved to gamma, optional and both platforms' packages. */
const COMMON = ['@plat/darwin-arm64@0.1.0', '@plat/linux-x64@0.1.0', '@scope/beta@2.1.0', 'alpha@0.9.0', 'alpha@1.0.0', 'gamma@1.2.3', 'opt-dep@3.0.0']

describe('package-lock.json', () => {
  it('v1: the nested tree, aliases written as npm:real@version, sha1-only digests, bundled children skipped', () => {
    const parsed = read('npm-v1/package-lock.json')
    expect(parsed.format).toBe('npm-v1')
    expect(ids(parsed)).toEqual([...COMMON, 'bundler@1.0.0', 'old-sha1@1.0.0'].sort())
    expect(skips(parsed)).toEqual(['bundled-child:bundled', 'filedep:file', 'gitdep:git', 'urldep:tarball-url'])
    expect(parsed.packages.find((p) => p.name === 'gamma')?.integrity).toBe(sri('gamma@1.2.3'))
    expect(parsed.packages.find((p) => p.name === 'old-sha1')?.integrity).toMatch(/^sha1-/)
    expect(parsed.skipped.find((s) => s.name === 'urldep')?.reason).toMatch(/tarball URL/)
  })

  it('v2: reads `packages` (not the legacy `dependencies` copy); entries without `resolved` are registry packages', () => {
    const parsed = read('npm-v2/package-lock.json')
    expect(parsed.format).toBe('npm-v2')
    expect(ids(parsed)).toEqual([...COMMON, 'bundler@1.0.0', 'no-resolved@4.0.0'].sort())
    expect(skips(parsed)).toEqual(['bundled-child:bundled', 'filedep:link', 'gitdep:git', 'tarred:file', 'urldep:tarball-url'])
    for (const pkg of parsed.packages) expect(pkg.integrity, pkg.name).toBe(sri(`${pkg.name}@${pkg.version}`))
  })

  it('v3: workspaces are links, not packages', () => {
    const parsed = read('npm-v3/package-lock.json')
    expect(parsed.format).toBe('npm-v3')
    expect(ids(parsed)).toEqual([...COMMON, 'bundler@1.0.0', 'no-resolved@4.0.0'].sort())
    expect(skips(parsed)).toEqual(['bundled-child:bundled', 'filedep:link', 'gitdep:git', 'tarred:file', 'urldep:tarball-url', 'ws-a:link'])
  })

  it('npm-shrinkwrap.json is read like a package-lock.json', () => {
    const parsed = read('npm-shrinkwrap/npm-shrinkwrap.json')
    expect(parsed.format).toBe('npm-v3')
    expect(ids(parsed)).toEqual(['@scope/beta@2.1.0', 'alpha@1.0.0'])
  })
})

describe('yarn.lock', () => {
  it('classic: one entry per resolution, aliases by their real name, the sha1 of `resolved` when there is no integrity', () => {
    const parsed = read('yarn-classic/yarn.lock')
    expect(parsed.format).toBe('yarn-classic')
    expect(ids(parsed)).toEqual([...COMMON, 'old-sha1@1.0.0'].sort())
    expect(skips(parsed)).toEqual(['filedep:file', 'gitdep:git', 'linkdep:link', 'urldep:tarball-url'])
    const old = parsed.packages.find((p) => p.name === 'old-sha1')
    expect(old?.integrity).toBe(`sha1-${Buffer.from('1491ca1c7cfa25396179a2d67e47fe5d71d280a8', 'hex').toString('base64')}`)
    expect(parsed.packages.find((p) => p.name === 'gamma')?.integrity).toBe(sri('gamma@1.2.3'))
  })

  it('berry: registry locators, the base package of a patch, no integrity (its checksum is of a zip), the workspace left out', () => {
    const parsed = read('yarn-berry/yarn.lock')
    expect(parsed.format).toBe('yarn-berry')
    expect(ids(parsed)).toEqual([...COMMON, 'resolve@1.22.8'].sort())
    expect(parsed.packages.every((p) => p.integrity === undefined)).toBe(true)
    expect(skips(parsed)).toEqual(['filedep:file', 'gitdep:git', 'linkdep:link', 'urldep:tarball-url'])
  })
})

describe('pnpm-lock.yaml', () => {
  it('v6: /name@version keys with peer suffixes; other keys by their resolution; link: from the importer', () => {
    const parsed = read('pnpm-v6/pnpm-lock.yaml')
    expect(parsed.format).toBe('pnpm-v6')
    expect(ids(parsed)).toEqual([...COMMON, 'peer-host@1.0.0'].sort())
    expect(skips(parsed)).toEqual(['filedep:file', 'gitdep:git', 'linkdep:link', 'urldep:tarball-url'])
    for (const pkg of parsed.packages) expect(pkg.integrity, pkg.name).toBe(sri(`${pkg.name}@${pkg.version}`))
  })

  it('v9: name@version keys; git by tarball and by repo; links of every importer', () => {
    const parsed = read('pnpm-v9/pnpm-lock.yaml')
    expect(parsed.format).toBe('pnpm-v9')
    expect(ids(parsed)).toEqual([...COMMON, 'peer-host@1.0.0'].sort())
    expect(skips(parsed)).toEqual(['filedep:file', 'fixture-shared:link', 'gitdep2:git', 'gitdep:git', 'linkdep:link', 'urldep:tarball-url'])
    expect(parsed.skipped.find((s) => s.name === 'urldep')?.spec).toBe('http://127.0.0.1:9/downloads/urldep.tgz')
  })
})

describe('parseLockfile', () => {
  it('recognises a renamed lockfile by its content', () => {
    for (const [fixture, format] of [
      ['npm-v3/package-lock.json', 'npm-v3'],
      ['yarn-classic/yarn.lock', 'yarn-classic'],
      ['yarn-berry/yarn.lock', 'yarn-berry'],
      ['pnpm-v9/pnpm-lock.yaml', 'pnpm-v9'],
    ] as const) {
      expect(parseLockfile('ci/lock.copy', readFileSync(path.join(FIXTURES, fixture), 'utf8')).format).toBe(format)
    }
  })

  it('names the file it cannot read', () => {
    expect(() => parseLockfile('/x/package-lock.json', '{"lockfileVersion": 3, ')).toThrow(/cannot read \/x\/package-lock\.json/)
    expect(() => parseLockfile('/x/package-lock.json', '[]')).toThrow(expect.objectContaining({ code: 'ELOCKFILE' }))
    expect(() => parseLockfile('/x/notes.txt', 'hello')).toThrow(/not a package-lock.json/)
  })

  it('reads an empty project', () => {
    expect(parseLockfile('package-lock.json', '{"lockfileVersion": 3, "packages": {"": {}}}')).toEqual({ format: 'npm-v3', packages: [], skipped: [] })
    expect(parseLockfile('pnpm-lock.yaml', "lockfileVersion: '9.0'\n").packages).toEqual([])
  })
})

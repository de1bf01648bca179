import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { MirrorResolver, Syncer, installedDependencies, type MirrorOptions, type OpenRegistry } from '../../../src/core/sync/index.js'
import type { Manifest } from '../../../src/core/store/index.js'
import { startFakeUpstream, type FakeUpstream } from '../../helpers/fake-upstream.js'
import { buildPackage } from '../../helpers/packages.js'
import { generateProjectPackages } from '../../helpers/project.js'
import { open, tempConfig } from './harness.js'

describe('MirrorResolver', () => {
  let upstream: FakeUpstream
  let env: Awaited<ReturnType<typeof tempConfig>>
  let opened: OpenRegistry

  beforeAll(async () => {
    const { packages } = await generateProjectPackages()
    const extra = await Promise.all([
      buildPackage({ name: 'with-odd-deps', version: '1.0.0', dependencies: { aliased: 'npm:epsilon@~1.0.0', 'from-git': 'github:example/from-git', 'from-file': 'file:../x' } }),
      buildPackage({ name: 'with-bundle', version: '1.0.0', dependencies: { eta: '^1.0.0', zeta: '^1.0.0' }, extra: { bundleDependencies: ['zeta'] } }),
      buildPackage({ name: 'old-and-new', version: '1.0.0' }),
      buildPackage({ name: 'old-and-new', version: '1.1.0', extra: { deprecated: 'use 1.0.0' } }),
    ])
    upstream = await startFakeUpstream({ packages: [...packages, ...extra] })
    env = await tempConfig(upstream)
    opened = await open(env.config)
  })
  afterAll(async () => {
    await opened.close()
    await upstream.stop()
    await env.cleanup()
  })

  async function mirror(specs: string[], options: Partial<MirrorOptions> = {}) {
    const done: string[] = []
    const syncer = new Syncer(opened.registry, {
      concurrency: 4,
      retries: 0,
      onEvent: (event) => {
        if (event.type === 'done') done.push(`${event.name}@${event.version}`)
      },
    })
    const resolver = new MirrorResolver(opened.registry, syncer, { allVersions: false, deps: false, peers: false, ...options })
    resolver.add(specs)
    const summary = await syncer.finish()
    expect(summary.total).toBe(done.length)
    return { summary, packages: done.sort(), roots: resolver.roots }
  }

  it('resolves each spec as npm would: latest when the range allows it, else the highest match; tags; exact versions', async () => {
    const { packages, roots, summary } = await mirror(['util-core', 'util-core@^1', '@tools/shared@1.0.0', 'util-core@3.0.0-beta.1'])
    expect(packages).toEqual(['@tools/shared@1.0.0', 'util-core@1.1.0', 'util-core@2.0.0', 'util-core@3.0.0-beta.1'])
    expect(summary).toMatchObject({ failed: [], fetched: 4 })
    expect(roots.find((r) => r.spec === 'util-core')?.versions).toEqual(['2.0.0'])
  })

  it('--all-versions takes every version a spec allows', async () => {
    expect((await mirror(['util-core'], { allVersions: true })).packages).toEqual(['util-core@1.0.0', 'util-core@1.1.0', 'util-core@2.0.0', 'util-core@3.0.0-beta.1'])
    expect((await mirror(['util-core@^1', 'gamma@latest'], { allVersions: true })).packages).toEqual(['gamma@1.1.0', 'util-core@1.0.0', 'util-core@1.1.0'])
  })

  it('--deps pulls the transitive closure, nested majors included', async () => {
    const { packages, summary } = await mirror(['alpha'], { deps: true })
    expect(packages).toEqual(['alpha@1.0.0', 'beta@1.0.0', 'color-names@1.0.0', 'gamma@1.1.0', 'tiny-logger@1.0.0', 'util-core@1.1.0'])
    expect(summary.failed).toEqual([])
  })

  it('--deps includes optional dependencies; peers only with --peers', async () => {
    expect((await mirror(['@acme/native'], { deps: true })).packages).toEqual(['@acme/native-binding@1.0.0', '@acme/native@1.0.0', 'kappa@1.0.0', 'lambda-fn@1.0.0'])
    expect((await mirror(['@acme/plugin'], { deps: true })).packages).toEqual(['@acme/plugin@1.0.0', 'iota@1.0.0', 'theta@2.0.0'])
    expect((await mirror(['@acme/plugin'], { deps: true, peers: true })).packages).toEqual(['@acme/host@2.0.0', '@acme/plugin@1.0.0', 'iota@1.0.0', 'theta@2.0.0'])
  })

  it('--deps follows aliases, skips git and file dependencies with the reason, and leaves bundled ones to the tarball', async () => {
    const odd = await mirror(['with-odd-deps'], { deps: true })
    expect(odd.packages).toEqual(['epsilon@1.0.0', 'with-odd-deps@1.0.0'])
    expect(odd.summary.skipped.map((s) => `${s.name}:${s.kind}`).sort()).toEqual(['from-file:file', 'from-git:git'])
    expect(odd.summary.skipped[0]?.reason).toMatch(/a dependency of with-odd-deps@1.0.0/)
    expect((await mirror(['with-bundle'], { deps: true })).packages).toEqual(['eta@1.0.0', 'with-bundle@1.0.0'])
  })

  it('prefers a version that is not deprecated', async () => {
    expect((await mirror(['old-and-new'])).packages).toEqual(['old-and-new@1.0.0'])
  })

  it('reports specs it cannot mirror, and mirrors the rest', async () => {
    const { summary, packages } = await mirror(['github:example/repo', 'no-such-package', 'util-core@^9', 'not a spec!', 'eta'])
    expect(packages).toEqual(['eta@1.0.0'])
    expect(summary.failed.map((f) => `${f.package} ${f.code}`).sort()).toEqual([
      'github:example/repo EINVALIDSPEC',
      'no-such-package ENOTFOUND',
      'not a spec! EINVALIDSPEC',
      'util-core@^9 ETARGET',
    ])
  })
})

describe('installedDependencies', () => {
  const manifest = (extra: Record<string, unknown>): Manifest => ({ name: 'x', version: '1.0.0', ...extra })

  it('merges dependencies and optional dependencies, drops bundled ones, adds non-optional peers on request', () => {
    const m = manifest({
      dependencies: { a: '^1', b: '^1' },
      optionalDependencies: { b: '^2', c: '^1' },
      peerDependencies: { p: '^1', q: '^1', a: '^0' },
      peerDependenciesMeta: { q: { optional: true } },
      bundleDependencies: ['c'],
    })
    expect(installedDependencies(m, false)).toEqual({ a: '^1', b: '^2' })
    expect(installedDependencies(m, true)).toEqual({ a: '^1', b: '^2', p: '^1' })
    expect(installedDependencies(manifest({ dependencies: { a: '^1' }, bundledDependencies: true }), false)).toEqual({})
    expect(installedDependencies(manifest({ dependencies: 'nonsense', optionalDependencies: { a: 1 } }), false)).toEqual({})
  })
})

import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { silentLogger } from '../../../src/core/log.js'
import { startServer, type RunningServer } from '../../../src/core/server/index.js'
import { MirrorResolver, Syncer, type OpenRegistry } from '../../../src/core/sync/index.js'
import { startFakeUpstream, type FakeUpstream } from '../../helpers/fake-upstream.js'
import { buildPackage } from '../../helpers/packages.js'
import { open, tempConfig } from '../sync/harness.js'
import { errorOf } from '../../helpers/answers.js'

/**
 * `GET /:pkg/:spec` and `mirror pkg@spec` answer with the same version. Each case below is
 * one where the two used to disagree: the route took the highest match (semver.maxSatisfying),
 * while mirror preferred `latest` and avoided deprecated versions as npm does.
 */
describe('one version picker for the read route and mirror', () => {
  let upstream: FakeUpstream
  let env: Awaited<ReturnType<typeof tempConfig>>
  let server: RunningServer
  let opened: OpenRegistry

  beforeAll(async () => {
    const packages = await Promise.all([
      // latest moved back to 1.0.0 (a bad 1.1.0): `^1` installs 1.0.0.
      buildPackage({ name: 'held-back', version: '1.0.0' }),
      buildPackage({ name: 'held-back', version: '1.1.0' }),
      // The highest match is deprecated: `^2` installs 2.0.0.
      buildPackage({ name: 'half-deprecated', version: '2.0.0' }),
      buildPackage({ name: 'half-deprecated', version: '2.1.0', extra: { deprecated: 'broken, use 2.0.0' } }),
      // Only prereleases, latest one of them: `*` installs latest.
      buildPackage({ name: 'pre-only', version: '1.0.0-alpha.1' }),
      buildPackage({ name: 'pre-only', version: '1.0.0-alpha.2' }),
    ])
    upstream = await startFakeUpstream({ packages })
    upstream.setTag('held-back', 'latest', '1.0.0')
    env = await tempConfig(upstream)
    server = await startServer(env.config, { host: '127.0.0.1', port: 0 }, silentLogger)
    opened = await open(env.config)
  })
  afterAll(async () => {
    await opened.close()
    await server.close(1000)
    await upstream.stop()
    await env.cleanup()
  })

  async function viaRoute(name: string, spec: string): Promise<string | number> {
    const res = await fetch(`${server.url}${name}/${encodeURIComponent(spec)}`)
    const body = (await res.json()) as { version?: string }
    return res.status === 200 && body.version ? body.version : res.status
  }

  async function viaMirror(name: string, spec: string): Promise<string | string[]> {
    const syncer = new Syncer(opened.registry, { concurrency: 2, retries: 0 })
    const resolver = new MirrorResolver(opened.registry, syncer, { allVersions: false, deps: false, peers: false })
    resolver.add([`${name}@${spec}`])
    const summary = await syncer.finish()
    const root = resolver.roots[0]
    return root ? (root.versions[0] ?? 'none') : summary.failed.map((f) => f.code)
  }

  it.each([
    ['held-back', '^1', '1.0.0'],
    ['held-back', '*', '1.0.0'],
    ['held-back', '1.1.0', '1.1.0'],
    ['half-deprecated', '^2', '2.0.0'],
    ['half-deprecated', 'latest', '2.1.0'],
    ['pre-only', '*', '1.0.0-alpha.2'],
    ['pre-only', '^1.0.0-alpha.1', '1.0.0-alpha.2'],
  ])('%s@%s is %s by both', async (name, spec, expected) => {
    expect(await viaRoute(name, spec)).toBe(expected)
    expect(await viaMirror(name, spec)).toBe(expected)
  })

  it('a spec nothing matches: 404 from the route, ETARGET from mirror', async () => {
    const res = await fetch(`${server.url}held-back/${encodeURIComponent('^9')}`)
    expect(res.status).toBe(404)
    expect((await errorOf(res))).toMatch(/\^9/)
    expect(await viaMirror('held-back', '^9')).toEqual(['ETARGET'])
  })
})

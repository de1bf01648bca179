import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { stringify } from 'yaml'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { parseConfig } from '../../../src/core/config/index.js'
import { silentLogger } from '../../../src/core/log.js'
import { startServer } from '../../../src/core/server/index.js'
import { Registry } from '../../../src/core/registry/index.js'
import { Packuments } from '../../../src/core/registry/packuments.js'
import { openStore, tarballKey, type Packument } from '../../../src/core/store/index.js'
import { MirrorResolver, Syncer } from '../../../src/core/sync/index.js'
import { UpstreamClient } from '../../../src/core/upstream/client.js'
import { startFakeUpstream, type FakeUpstream } from '../../helpers/fake-upstream.js'
import { buildPackage, type BuiltPackage } from '../../helpers/packages.js'
import { rejection } from '../../helpers/errors.js'

/**
 * A rule listing two uplinks (`proxy: corp pub`), each a fake registry on 127.0.0.1: their
 * versions are merged (corp, listed first, wins a version both have, tarball included), each is
 * revalidated on its own, and one that is down leaves the other serving.
 */
async function makeRegistry(dir: string, corp: FakeUpstream, pub: FakeUpstream, uplinks: Record<string, Record<string, unknown>> = {}, now?: () => number): Promise<Registry> {
  const common = { timeout: '500ms', deadline: '1500ms', maxage: 0, max_fails: 1, fail_timeout: '1m' }
  const yaml = stringify({
    storage: path.join(dir, 'storage'),
    uplinks: { corp: { url: corp.url, ...common, ...uplinks.corp }, pub: { url: pub.url, ...common, ...uplinks.pub } },
    packages: { '**': { access: '$all', publish: '$authenticated', proxy: 'corp pub' } },
  })
  const { config } = parseConfig(yaml, path.join(dir, 'c.yaml'))
  return new Registry(config, await openStore(config.storage), new UpstreamClient(config.uplinks, now ? { now } : {}))
}

const isTarball = (url: string) => url.includes('/-/')
const served = (registry: Registry, name: string) => registry.packuments.get(name).then((answer) => ({ ...answer, doc: JSON.parse(answer.view.full.toString()) as Packument }))

describe('a rule with several uplinks', () => {
  let corp: FakeUpstream
  let pub: FakeUpstream
  let dir: string
  let registry: Registry
  let clock: number
  /** The same name and version on both uplinks, with different bytes. */
  let corpOne: BuiltPackage
  let pubOne: BuiltPackage
  let pubTwo: BuiltPackage

  beforeEach(async () => {
    corpOne = await buildPackage({ name: 'shared', version: '1.0.0', description: 'corp build' })
    pubOne = await buildPackage({ name: 'shared', version: '1.0.0', description: 'public build' })
    pubTwo = await buildPackage({ name: 'shared', version: '2.0.0' })
    corp = await startFakeUpstream({ packages: [corpOne] })
    pub = await startFakeUpstream({ packages: [pubOne, pubTwo, await buildPackage({ name: 'public-only', version: '3.1.0' })] })
    corp.setTag('shared', 'corp', '1.0.0')
    pub.setTag('shared', 'next', '2.0.0')
    dir = await mkdtemp(path.join(tmpdir(), 'sinopia-uplinks-'))
    clock = 0
    registry = await makeRegistry(dir, corp, pub, {}, () => clock)
  })
  afterEach(async () => {
    await registry.upstream.close()
    await Promise.all([corp.stop(), pub.stop()])
    await rm(dir, { recursive: true, force: true })
  })

  it('merges versions and tags; a version both have is the first uplink’s, manifest and tarball', async () => {
    expect(corpOne.manifest.dist.integrity).not.toBe(pubOne.manifest.dist.integrity)
    const { doc, cache, offline } = await served(registry, 'shared')
    expect({ cache, offline }).toEqual({ cache: 'miss', offline: false })
    expect(Object.keys(doc.versions).sort()).toEqual(['1.0.0', '2.0.0'])
    expect(doc.versions['1.0.0']?.dist?.integrity).toBe(corpOne.manifest.dist.integrity)
    expect(doc.versions['1.0.0']?.description).toBe('corp build')
    // corp's latest (1.0.0) wins over pub's (2.0.0); each other tag from the uplink that has it.
    expect(doc['dist-tags']).toEqual({ latest: '1.0.0', corp: '1.0.0', next: '2.0.0' })
    expect(Object.keys(doc.time ?? {})).toEqual(expect.arrayContaining(['1.0.0', '2.0.0', 'created', 'modified']))

    expect(await registry.tarballs.ensure('shared', '1.0.0')).toMatchObject({ status: 'fetched', size: corpOne.tarball.length })
    expect(await registry.tarballs.ensure('shared', '2.0.0')).toMatchObject({ status: 'fetched', size: pubTwo.tarball.length })
    expect(corp.count((r) => isTarball(r.url))).toBe(1)
    expect(pub.count((r) => isTarball(r.url))).toBe(1)
    expect(pub.count((r) => r.url.endsWith('shared-1.0.0.tgz'))).toBe(0)
    expect(await registry.store.blobs.has(corpOne.manifest.dist.integrity, tarballKey('shared', '1.0.0'))).toBe(true)

    // Readers of the stored record (verify, lock-sync --check, bundles) see the merged versions.
    const stored = await registry.store.packages.readUpstream('shared')
    expect(Object.keys(stored?.record.doc.versions ?? {}).sort()).toEqual(['1.0.0', '2.0.0'])
    expect(stored?.record.parts?.map((p) => p.uplink)).toEqual(['corp', 'pub'])
  })

  it('serves a package only the second uplink has, and fetches its tarball there', async () => {
    const { doc, cache } = await served(registry, 'public-only')
    expect(cache).toBe('miss')
    expect(Object.keys(doc.versions)).toEqual(['3.1.0'])
    expect(await registry.tarballs.ensure('public-only', '3.1.0')).toMatchObject({ status: 'fetched' })
    expect(pub.count((r) => isTarball(r.url))).toBe(1)
    expect(corp.count((r) => isTarball(r.url))).toBe(0)
    expect(await rejection(registry.packuments.get('on-neither'))).toMatchObject({ status: 404, code: 'ENOTFOUND' })
  })

  it('revalidates each uplink with its own validators: a 304 from one, a 200 from the other', async () => {
    await served(registry, 'shared')
    corp.reset()
    pub.reset()
    pub.addPackage(await buildPackage({ name: 'shared', version: '2.1.0' }))
    const { doc, cache, offline } = await served(registry, 'shared')
    expect({ cache, offline }).toEqual({ cache: 'revalidated', offline: false })
    expect(Object.keys(doc.versions).sort()).toEqual(['1.0.0', '2.0.0', '2.1.0'])
    expect(doc.versions['1.0.0']?.dist?.integrity).toBe(corpOne.manifest.dist.integrity)
    // Both were asked conditionally; corp's answer was a 304, its part kept as it was.
    expect(corp.requests.map((r) => Boolean(r.headers['if-none-match']))).toEqual([true])
    expect(pub.requests.map((r) => Boolean(r.headers['if-none-match']))).toEqual([true])
    const stored = await registry.store.packages.readUpstream('shared')
    expect(stored?.record.parts?.map((p) => Object.keys(p.doc.versions).length)).toEqual([1, 3])
  })

  it('keeps each uplink’s maxage: only the stale one is asked', async () => {
    await registry.upstream.close()
    registry = await makeRegistry(dir, corp, pub, { corp: { maxage: '10m' }, pub: { maxage: '1m' } }, () => clock)
    // The registry's packuments read Date.now; these read the test's clock.
    const packuments = new Packuments(registry.store, registry.upstream, registry.rules, () => clock)
    clock = 1_000_000
    expect((await packuments.get('shared')).cache).toBe('miss')
    corp.reset()
    pub.reset()
    clock += 30_000
    expect((await packuments.get('shared')).cache).toBe('hit')
    clock += 60_000
    expect((await packuments.get('shared')).cache).toBe('revalidated')
    expect({ corp: corp.count(), pub: pub.count() }).toEqual({ corp: 0, pub: 1 })
    clock += 10 * 60_000
    expect((await packuments.get('shared')).cache).toBe('revalidated')
    expect({ corp: corp.count(), pub: pub.count() }).toEqual({ corp: 1, pub: 2 })
  })

  it('one uplink down: the other’s fresh versions and the down one’s stored ones, status 200; a new registry reads the same store', async () => {
    await served(registry, 'shared')
    await registry.tarballs.ensure('shared', '2.0.0')
    pub.addPackage(await buildPackage({ name: 'shared', version: '2.2.0' }))
    await served(registry, 'shared')
    await pub.stop()
    corp.addPackage(await buildPackage({ name: 'shared', version: '1.1.0' }))

    const down = await served(registry, 'shared')
    expect({ cache: down.cache, offline: down.offline }).toEqual({ cache: 'revalidated', offline: true })
    // corp answered: all its versions, stored or not; pub's only with a stored tarball (2.2.0 has none).
    expect(Object.keys(down.doc.versions).sort()).toEqual(['1.0.0', '1.1.0', '2.0.0'])
    expect(pub.count((r) => !isTarball(r.url))).toBe(2)

    // max_fails 1: pub's breaker is open now, and it is not asked again.
    const open = await served(registry, 'shared')
    expect(Object.keys(open.doc.versions).sort()).toEqual(['1.0.0', '1.1.0', '2.0.0'])
    expect(registry.upstream.available('pub')).toBe(false)
    expect(await rejection(registry.tarballs.ensure('shared', '2.2.0'))).toMatchObject({ code: 'ENOTCACHED' })

    // Both down, nothing cached for the name: not "not found" but unavailable.
    await corp.stop()
    expect(await rejection(registry.packuments.get('public-only'))).toMatchObject({ status: 503, code: 'EUPLINKDOWN', message: expect.stringMatching(/uplinks corp, pub are unavailable/) })
    // Both down, cached, read by a new process: the stored copy, offline (only 2.0.0's tarball is stored).
    const restarted = await makeRegistry(dir, corp, pub, {}, () => clock)
    try {
      const offline = await served(restarted, 'shared')
      expect({ cache: offline.cache, offline: offline.offline }).toEqual({ cache: 'offline', offline: true })
      expect(Object.keys(offline.doc.versions)).toEqual(['2.0.0'])
    } finally {
      await restarted.upstream.close()
    }
  })

  it('a copy cached while the rule listed one uplink is revalidated with its ETag and merged once a second is listed', async () => {
    const yaml = stringify({ storage: path.join(dir, 'storage'), uplinks: { corp: { url: corp.url, maxage: 0 } }, packages: { '**': { access: '$all', proxy: 'corp' } } })
    const { config } = parseConfig(yaml, path.join(dir, 'one.yaml'))
    const single = new Registry(config, await openStore(config.storage), new UpstreamClient(config.uplinks))
    try {
      await single.packuments.get('shared')
    } finally {
      await single.upstream.close()
    }
    expect((await registry.store.packages.readUpstream('shared'))?.record.parts).toBeUndefined()
    corp.reset()
    const { doc, cache } = await served(registry, 'shared')
    expect(cache).toBe('revalidated')
    expect(Object.keys(doc.versions).sort()).toEqual(['1.0.0', '2.0.0'])
    expect(doc.versions['1.0.0']?.dist?.integrity).toBe(corpOne.manifest.dist.integrity)
    expect(corp.requests.map((r) => Boolean(r.headers['if-none-match']))).toEqual([true])
    expect((await registry.store.packages.readUpstream('shared'))?.record.parts?.map((p) => p.uplink)).toEqual(['corp', 'pub'])
  })

  it('lock-sync and mirror fetch each tarball from the uplink that listed it', async () => {
    const syncer = new Syncer(registry, { concurrency: 2, retries: 0 })
    syncer.add([
      { name: 'shared', version: '1.0.0', integrity: corpOne.manifest.dist.integrity },
      { name: 'public-only', version: '3.1.0' },
    ])
    expect(await syncer.finish()).toMatchObject({ fetched: 2, failed: [] })
    const mirror = new Syncer(registry, { concurrency: 2, retries: 0 })
    new MirrorResolver(registry, mirror, { allVersions: true, deps: false, peers: false }).add(['shared'])
    expect(await mirror.finish()).toMatchObject({ fetched: 1, present: 1, failed: [] })
    expect(corp.count((r) => isTarball(r.url))).toBe(1)
    expect(pub.count((r) => isTarball(r.url))).toBe(2)
    expect(pub.count((r) => r.url.endsWith('shared-1.0.0.tgz'))).toBe(0)
    // The lockfile names pub's digest for 1.0.0, which corp's build (listed first) does not have.
    const wrong = new Syncer(registry, { concurrency: 1, retries: 0 })
    wrong.add([{ name: 'shared', version: '1.0.0', integrity: pubOne.manifest.dist.integrity }])
    expect((await wrong.finish()).failed).toHaveLength(1)
  })
})

describe('a rule with several uplinks, over HTTP', () => {
  it('answers 200 with the merged document, the first uplink’s tarball, and 200 offline-marked while one uplink is down', async () => {
    const corpOne = await buildPackage({ name: 'shared', version: '1.0.0', description: 'corp build' })
    const pubOne = await buildPackage({ name: 'shared', version: '1.0.0', description: 'public build' })
    const corp = await startFakeUpstream({ packages: [corpOne] })
    const pub = await startFakeUpstream({ packages: [pubOne, await buildPackage({ name: 'shared', version: '2.0.0' })] })
    const dir = await mkdtemp(path.join(tmpdir(), 'sinopia-uplinks-http-'))
    const common = { timeout: '500ms', maxage: 0, max_fails: 1, fail_timeout: '1m' }
    const yaml = stringify({
      storage: path.join(dir, 'storage'),
      uplinks: { corp: { url: corp.url, ...common }, pub: { url: pub.url, ...common } },
      packages: { '**': { access: '$all', publish: '$authenticated', proxy: ['corp', 'pub'] } },
    })
    const { config } = parseConfig(yaml, path.join(dir, 'c.yaml'))
    const server = await startServer(config, { host: '127.0.0.1', port: 0 }, silentLogger)
    try {
      const first = await fetch(`${server.url}shared`)
      expect(first.status).toBe(200)
      const doc = (await first.json()) as Packument
      expect(Object.keys(doc.versions).sort()).toEqual(['1.0.0', '2.0.0'])
      const tarball = await fetch(`${server.url}shared/-/shared-1.0.0.tgz`)
      expect(tarball.status).toBe(200)
      expect(Buffer.from(await tarball.arrayBuffer()).equals(corpOne.tarball)).toBe(true)
      expect(pub.count((r) => isTarball(r.url))).toBe(0)

      await pub.stop()
      const down = await fetch(`${server.url}shared`)
      expect(down.status).toBe(200)
      expect(down.headers.get('x-sinopia-offline')).toBe('1')
      // corp answered: its 1.0.0; pub's 2.0.0 has no stored tarball, so it is not advertised.
      expect(Object.keys(((await down.json()) as Packument).versions)).toEqual(['1.0.0'])
    } finally {
      await server.close(1000)
      await Promise.all([corp.stop(), pub.stop()])
      await rm(dir, { recursive: true, force: true })
    }
  })
})

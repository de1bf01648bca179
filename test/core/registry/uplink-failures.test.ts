import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { mkdtemp, readdir, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { stringify } from 'yaml'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { parseConfig } from '../../../src/core/config/index.js'
import { checkUpstreamPackument } from '../../../src/core/registry/packument.js'
import { finished } from '../../../src/core/registry/tarballs.js'
import { Registry } from '../../../src/core/registry/index.js'
import { openStore } from '../../../src/core/store/index.js'
import { UpstreamClient } from '../../../src/core/upstream/client.js'
import { startFakeUpstream, type Fault, type FakeUpstream } from '../../helpers/fake-upstream.js'
import { buildPackage, type BuiltPackage } from '../../helpers/packages.js'
import { rejection } from '../../helpers/errors.js'

/**
 * How the registry reacts to an uplink that fails: a cached package is served from the store
 * (offline) whatever the failure, a never-cached one answers 503 with Retry-After, a download
 * cut short stores nothing and leaves no temp file.
 */
async function makeRegistry(dir: string, uplink: Record<string, unknown>, now?: () => number): Promise<Registry> {
  const yaml = stringify({ storage: path.join(dir, 'storage'), uplinks: { npmjs: { timeout: '500ms', deadline: '1500ms', maxage: 0, max_fails: 2, fail_timeout: '3s', ...uplink } } })
  const { config } = parseConfig(yaml, path.join(dir, 'c.yaml'))
  return new Registry(config, await openStore(config.storage), new UpstreamClient(config.uplinks, now ? { now } : {}))
}

describe('registry with a failing uplink', () => {
  let upstream: FakeUpstream
  let dir: string
  let registry: Registry
  let pkg: BuiltPackage
  let clock: number
  beforeEach(async () => {
    pkg = await buildPackage({ name: 'alpha', version: '1.0.0', padding: 32 * 1024 })
    upstream = await startFakeUpstream({ packages: [pkg, await buildPackage({ name: 'beta', version: '1.0.0' })] })
    dir = await mkdtemp(path.join(tmpdir(), 'sinopia-uplink-fail-'))
    clock = 0
    registry = await makeRegistry(dir, { url: upstream.url }, () => clock)
  })
  afterEach(async () => {
    upstream.fault(null)
    await registry.upstream.close()
    await upstream.stop()
    await rm(dir, { recursive: true, force: true })
  })

  it.each<[string, Fault]>([
    ['hang', { body: 'hang' }],
    ['drip', { body: 'drip', ms: 200 }],
    ['reset', { body: 'reset' }],
    ['truncate', { body: 'truncate' }],
    ['long-length', { body: 'long-length' }],
    ['503', { status: 503 }],
  ])(
    'serves the cached copy offline when the uplink fails its revalidation (%s)',
    async (_name, fault) => {
      await registry.tarballs.ensure('alpha', '1.0.0')
      upstream.fault(fault, 'packuments')
      const answer = await registry.packuments.get('alpha')
      expect(answer.offline).toBe(true)
      expect(answer.cache).toBe('offline')
      expect([...answer.view.versions.keys()]).toEqual(['1.0.0'])
    },
  )

  it('answers 503 with Retry-After for a never-cached package while the uplink is down, and serves it after fail_timeout', async () => {
    expect(await rejection(registry.packuments.get('nothing-here'))).toMatchObject({ status: 404, code: 'ENOTFOUND' })
    await upstream.stop()
    expect(await rejection(registry.packuments.get('beta'))).toMatchObject({ status: 503, code: 'EUPLINKDOWN' })
    const error = await rejection(registry.packuments.get('beta'))
    // max_fails 2: the circuit is open now, and the probe is 3 s away.
    expect(error).toMatchObject({ status: 503, retryAfter: 3, message: expect.stringMatching(/not in the store, and uplink npmjs is unavailable/) })
    await upstream.start()
    clock += 3_000
    expect((await registry.packuments.get('beta')).offline).toBe(false)
  })

  it('a tarball cut mid-body fails the download cleanly: nothing stored, no temp file, the breaker counts it', async () => {
    await registry.packuments.get('alpha')
    upstream.fault({ body: 'reset' }, 'tarballs')
    const answer = await registry.tarballs.open('alpha', pkg.filename)
    expect(answer.kind).toBe('download')
    if (answer.kind !== 'download') return
    await expect(finished(answer.download)).rejects.toMatchObject({ code: 'EUPLINK' })
    expect(await registry.store.blobs.has(pkg.manifest.dist.integrity, 'tarball:alpha@1.0.0')).toBe(false)
    // The store's write settles after the download's failure is announced.
    await expect.poll(async () => readdir(path.join(registry.store.root, 'blobs', 'tmp')).catch(() => []), { timeout: 5_000 }).toEqual([])
    upstream.fault(null)
    await expect(registry.packuments.get('beta')).resolves.toMatchObject({ offline: false })
  })
})

describe('registry with an uplink that points tarballs elsewhere', () => {
  let uplinkServer: Server
  let internal: Server
  let dir: string
  let registry: Registry | null = null
  const internalHits: Array<string | undefined> = []
  let pkg: BuiltPackage

  const listen = async (server: Server) => {
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}/`
  }

  beforeEach(async () => {
    pkg = await buildPackage({ name: 'alpha', version: '1.0.0' })
    internal = createServer((req, res) => {
      internalHits.push(req.headers.authorization)
      res.end('internal secrets')
    })
    const internalUrl = await listen(internal)
    uplinkServer = createServer((req, res) => {
      if (req.url === '/alpha') {
        const manifest = { ...pkg.manifest, dist: { ...pkg.manifest.dist, tarball: `${internalUrl}admin/alpha-1.0.0.tgz` } }
        res.writeHead(200, { 'content-type': 'application/json' })
        res.end(JSON.stringify({ name: 'alpha', 'dist-tags': { latest: '1.0.0' }, versions: { '1.0.0': manifest } }))
      } else if (req.url === '/alpha/-/alpha-1.0.0.tgz') {
        res.writeHead(200, { 'content-length': pkg.tarball.length })
        res.end(pkg.tarball)
      } else {
        res.writeHead(404)
        res.end()
      }
    })
    dir = await mkdtemp(path.join(tmpdir(), 'sinopia-uplink-ssrf-'))
    registry = await makeRegistry(dir, { url: await listen(uplinkServer), headers: { authorization: 'Bearer uplink-secret' } })
  })
  afterEach(async () => {
    await registry?.upstream.close()
    for (const server of [uplinkServer, internal]) {
      server.closeAllConnections()
      server.close()
    }
    await rm(dir, { recursive: true, force: true })
  })

  it('fetches the tarball from the uplink at its conventional path, never from the foreign origin', async () => {
    await registry!.tarballs.ensure('alpha', '1.0.0')
    expect(await registry!.store.blobs.has(pkg.manifest.dist.integrity, 'tarball:alpha@1.0.0')).toBe(true)
    expect(internalHits).toEqual([])
  })
})

describe('uplink strings in messages', () => {
  it('a packument naming another package cannot forge log lines through its name', () => {
    let message = ''
    try {
      checkUpstreamPackument({ name: 'other\n2026-01-01T00:00:00.000Z error admin password reset\u2028\u001b[2J' }, 'alpha', 'npmjs')
    } catch (error) {
      message = (error as Error).message
    }
    expect(message).toMatch(/sent the packument of "other\?2026/)
    // eslint-disable-next-line no-control-regex
    expect(message).not.toMatch(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/)
  })
})

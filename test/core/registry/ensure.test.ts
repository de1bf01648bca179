import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { stringify } from 'yaml'
import { parseConfig } from '../../../src/core/config/index.js'
import { Registry } from '../../../src/core/registry/index.js'
import { openStore } from '../../../src/core/store/index.js'
import { UpstreamClient } from '../../../src/core/upstream/client.js'
import { startFakeUpstream, type FakeUpstream } from '../../helpers/fake-upstream.js'
import { buildPackage, shasumOf, type BuiltPackage } from '../../helpers/packages.js'

describe('Tarballs.ensure', () => {
  let upstream: FakeUpstream
  let dir: string
  let registry: Registry
  let pkg: BuiltPackage
  beforeEach(async () => {
    pkg = await buildPackage({ name: 'alpha', version: '1.0.0' })
    upstream = await startFakeUpstream({ packages: [pkg] })
    dir = await mkdtemp(path.join(tmpdir(), 'sinopia-ensure-'))
    const { config } = parseConfig(stringify({ storage: path.join(dir, 'storage'), uplinks: { npmjs: { url: upstream.url } } }), path.join(dir, 'c.yaml'))
    registry = new Registry(config, await openStore(config.storage), new UpstreamClient(config.uplinks))
  })
  afterEach(async () => {
    await registry.upstream.close()
    await upstream.stop()
    await rm(dir, { recursive: true, force: true })
  })

  it('fetches once, then finds it present', async () => {
    expect(await registry.tarballs.ensure('alpha', '1.0.0', pkg.manifest.dist.integrity)).toEqual({ status: 'fetched', size: pkg.tarball.length })
    expect(await registry.tarballs.ensure('alpha', '1.0.0', pkg.manifest.dist.integrity)).toEqual({ status: 'present', size: pkg.tarball.length })
    expect(upstream.count((r) => r.url.endsWith('.tgz'))).toBe(1)
  })

  it('checks a sha1-only lockfile digest on the bytes', async () => {
    const sha1 = `sha1-${Buffer.from(shasumOf(pkg.tarball), 'hex').toString('base64')}`
    expect((await registry.tarballs.ensure('alpha', '1.0.0', sha1)).status).toBe('fetched')
    const wrong = `sha1-${Buffer.alloc(20).toString('base64')}`
    await expect(registry.tarballs.ensure('alpha', '1.0.0', wrong)).rejects.toMatchObject({ code: 'EINTEGRITY' })
  })

  it('refuses a lockfile integrity that disagrees with the packument, storing nothing', async () => {
    const other = await buildPackage({ name: 'alpha', version: '1.0.0', files: { 'x.js': 'tampered' } })
    await expect(registry.tarballs.ensure('alpha', '1.0.0', other.manifest.dist.integrity)).rejects.toThrow(/lockfile wants sha512-.* but the registry has sha512-/)
    expect(upstream.count((r) => r.url.endsWith('.tgz'))).toBe(0)
    expect(await registry.store.packages.list()).toEqual([])
    // A package that was already cached keeps its copy: the lockfile is what is wrong.
    await registry.tarballs.ensure('alpha', '1.0.0')
    await expect(registry.tarballs.ensure('alpha', '1.0.0', other.manifest.dist.integrity)).rejects.toMatchObject({ code: 'EINTEGRITY' })
    expect(await registry.store.packages.list()).toEqual(['alpha'])
  })

  it('names a missing version', async () => {
    await expect(registry.tarballs.ensure('alpha', '3.0.0')).rejects.toMatchObject({ code: 'ETARGET' })
  })
})

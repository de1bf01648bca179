import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Users } from '../../src/core/auth/index.js'
import { KeyedLock } from '../../src/core/fs/lock.js'
import { buildPackage } from '../helpers/packages.js'
import { startFakeUpstream, type FakeUpstream } from '../helpers/fake-upstream.js'
import { cleanupRegistries, startRegistry, type RunningRegistry } from '../helpers/server.js'
import { publishBody } from '../helpers/publish.js'
import { docOf } from '../helpers/answers.js'

/** Two `serve` processes on one storage folder, as when a second instance or `mirror` shares it. */
describe('two servers on one storage', () => {
  let dir: string
  let upstream: FakeUpstream
  let a: RunningRegistry
  let b: RunningRegistry
  const auth = `Basic ${Buffer.from('alice:alice-pw').toString('base64')}`

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'sinopia-multi-'))
    const htpasswd = path.join(dir, 'htpasswd')
    await new Users(htpasswd, Infinity, new KeyedLock()).add('alice', 'alice-pw')
    upstream = await startFakeUpstream()
    const storage = path.join(dir, 'storage')
    const config = { auth: { htpasswd: { file: htpasswd } } }
    a = await startRegistry({ upstreamUrl: upstream.url, storage, config })
    b = await startRegistry({ upstreamUrl: upstream.url, storage, config })
  })
  afterAll(async () => {
    await cleanupRegistries()
    await upstream.stop()
    await rm(dir, { recursive: true, force: true })
  })

  const publish = (server: RunningRegistry, body: unknown) =>
    fetch(`${server.url}shared-pkg`, { method: 'PUT', body: JSON.stringify(body), headers: { 'content-type': 'application/json', authorization: auth } }).then(
      (r) => r.status,
    )

  it('keeps all 30 versions published concurrently through both processes', async () => {
    const versions = await Promise.all(Array.from({ length: 30 }, (_, i) => buildPackage({ name: 'shared-pkg', version: `1.0.${i}` })))
    const statuses = await Promise.all(versions.map((pkg, i) => publish(i % 2 === 0 ? a : b, publishBody(pkg))))
    expect(statuses).toEqual(Array(30).fill(201))
    // Each process sees the other's writes within its recheck interval (about a second).
    for (const server of [a, b]) {
      await expect
        .poll(async () => Object.keys((await docOf(await fetch(`${server.url}shared-pkg`))).versions ?? {}).length, { timeout: 10_000, interval: 200 })
        .toBe(30)
    }
  })

  it('lets exactly one of 30 concurrent publishes of one version through both processes succeed', async () => {
    const pkg = await buildPackage({ name: 'shared-pkg', version: '2.0.0' })
    const statuses = await Promise.all(Array.from({ length: 30 }, (_, i) => publish(i % 2 === 0 ? a : b, publishBody(pkg))))
    expect(statuses.filter((s) => s === 201)).toHaveLength(1)
    expect(statuses.filter((s) => s === 409)).toHaveLength(29)
  })
})

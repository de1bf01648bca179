import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Users } from '../../src/core/auth/index.js'
import { KeyedLock } from '../../src/core/fs/lock.js'
import { buildPackage, type BuiltPackage } from '../helpers/packages.js'
import { startFakeUpstream, type FakeUpstream } from '../helpers/fake-upstream.js'
import { cleanupRegistries, startRegistry, type RunningRegistry } from '../helpers/server.js'
import { publishBody } from '../helpers/publish.js'

/**
 * Three `serve` processes on one storage folder: a write one of them acknowledged is seen by
 * the next read of every other one, with no waiting (a client publishes through one instance
 * behind a load balancer and installs through another).
 */
describe('reads after writes across processes on one storage', () => {
  const NAME = 'seen-pkg'
  const PUBLISHES = 100
  let dir: string
  let upstream: FakeUpstream
  let servers: RunningRegistry[]
  const auth = `Basic ${Buffer.from('alice:alice-pw').toString('base64')}`

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'sinopia-seen-'))
    const htpasswd = path.join(dir, 'htpasswd')
    await new Users(htpasswd, Infinity, new KeyedLock()).add('alice', 'alice-pw')
    upstream = await startFakeUpstream()
    const storage = path.join(dir, 'storage')
    const config = { auth: { htpasswd: { file: htpasswd } } }
    servers = await Promise.all([0, 1, 2].map(() => startRegistry({ upstreamUrl: upstream.url, storage, config })))
  }, 60_000)
  afterAll(async () => {
    await cleanupRegistries()
    await upstream.stop()
    await rm(dir, { recursive: true, force: true })
  })

  const write = async (server: RunningRegistry, method: string, urlPath: string, body: unknown) => {
    const response = await fetch(`${server.url}${urlPath}`, {
      method,
      body: JSON.stringify(body),
      headers: { 'content-type': 'application/json', authorization: auth },
    })
    await response.arrayBuffer()
    return response.status
  }
  const packument = async (server: RunningRegistry, accept = 'application/json') => {
    const response = await fetch(`${server.url}${NAME}`, { headers: { accept } })
    expect(response.status).toBe(200)
    return (await response.json()) as { versions: Record<string, unknown>; 'dist-tags': Record<string, string> }
  }

  it(`every process lists all of ${PUBLISHES} versions published concurrently through all of them, at once`, { timeout: 120_000 }, async () => {
    const first = await buildPackage({ name: NAME, version: '0.0.1' })
    expect(await write(servers[0]!, 'PUT', NAME, publishBody(first))).toBe(201)
    // Every process has read (and memoized) the package before the burst.
    for (const server of servers) expect(Object.keys((await packument(server)).versions)).toEqual(['0.0.1'])

    const packages: BuiltPackage[] = await Promise.all(Array.from({ length: PUBLISHES }, (_, i) => buildPackage({ name: NAME, version: `1.0.${i}` })))
    const statuses = await Promise.all(packages.map((pkg, i) => write(servers[i % servers.length]!, 'PUT', NAME, publishBody(pkg, 'next'))))
    expect(statuses).toEqual(Array(PUBLISHES).fill(201))

    for (const server of servers) {
      expect(Object.keys((await packument(server)).versions)).toHaveLength(PUBLISHES + 1)
      expect(Object.keys((await packument(server, 'application/vnd.npm.install-v1+json')).versions)).toHaveLength(PUBLISHES + 1)
    }
  })

  it('a tarball published through one process downloads through the others at once', { timeout: 60_000 }, async () => {
    for (let i = 0; i < servers.length; i++) {
      const pkg = await buildPackage({ name: NAME, version: `2.0.${i}` })
      expect(await write(servers[i]!, 'PUT', NAME, publishBody(pkg, 'next'))).toBe(201)
      for (const other of servers) {
        const response = await fetch(`${other.url}${NAME}/-/${pkg.filename}`)
        expect(response.status, `${pkg.filename} through ${other.url}`).toBe(200)
        expect(Buffer.from(await response.arrayBuffer()).equals(pkg.tarball)).toBe(true)
      }
    }
  })

  it('a dist-tag set and removed through one process shows on the next read of the others', async () => {
    for (let i = 0; i < servers.length; i++) {
      const tag = `t${i}`
      expect(await write(servers[i]!, 'PUT', `-/package/${NAME}/dist-tags/${tag}`, '1.0.7')).toBe(201)
      for (const other of servers) expect((await packument(other))['dist-tags'][tag], `tag ${tag} on ${other.url}`).toBe('1.0.7')
      expect(await write(servers[i]!, 'DELETE', `-/package/${NAME}/dist-tags/${tag}`, '')).toBe(200)
      for (const other of servers) expect((await packument(other))['dist-tags'][tag], `tag ${tag} on ${other.url}`).toBeUndefined()
    }
  })

  it('a deprecation and an unpublish, each with the revision read through another process, show on all at once', async () => {
    const name = 'gone-pkg'
    for (const version of ['1.0.0', '1.0.1']) expect(await write(servers[0]!, 'PUT', name, publishBody(await buildPackage({ name, version })))).toBe(201)
    const read = async (server: RunningRegistry) => {
      const response = await fetch(`${server.url}${name}?write=true`, { headers: { accept: 'application/json', authorization: auth } })
      expect(response.status).toBe(200)
      return (await response.json()) as { _rev: string; versions: Record<string, { deprecated?: string }> }
    }
    const doc = await read(servers[2]!)
    doc.versions['1.0.0']!.deprecated = 'use 1.0.1'
    expect(await write(servers[1]!, 'PUT', `${name}/-rev/${doc._rev}`, doc)).toBe(201)
    for (const server of servers) expect((await read(server)).versions['1.0.0']!.deprecated, server.url).toBe('use 1.0.1')

    const rev = (await read(servers[1]!))._rev
    expect(await write(servers[0]!, 'DELETE', `${name}/-rev/${rev}`, '')).toBe(200)
    for (const server of servers) {
      const response = await fetch(`${server.url}${name}`)
      await response.arrayBuffer()
      expect(response.status, server.url).toBe(404)
    }
  })
})

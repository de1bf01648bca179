import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { stringify } from 'yaml'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { parseConfig } from '../../../src/core/config/index.js'
import { Registry } from '../../../src/core/registry/index.js'
import { openStore, type Store } from '../../../src/core/store/index.js'
import { UpstreamClient } from '../../../src/core/upstream/client.js'
import { startFakeUpstream, type FakeUpstream } from '../../helpers/fake-upstream.js'
import { buildPackage } from '../../helpers/packages.js'
import { freshDatabase } from '../../helpers/postgres.js'

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..')

/**
 * A child process (another instance) that takes the fetch turn of a package and holds it until
 * it is killed, as an instance would while its uplink request hangs; it prints "held" once it has it.
 */
const HOLDER = `
const { openStore } = await import(process.argv[1]);
const store = await openStore(process.argv[2], { blobCache: process.argv[4] });
await store.packages.withFetchTurn(process.argv[3], 0, () => {
  console.log('held');
  return new Promise(() => setInterval(() => undefined, 1000));
});
`

/**
 * Several instances on one PostgreSQL database (each a store handle of its own, as separate
 * processes have) asking for one cold packument: the first to take the package's fetch turn
 * asks the uplink and stores its copy, the others wait for that turn and read the copy.
 */
describe('fetch turns across instances on one database', () => {
  let url: string
  let dir: string
  let upstream: FakeUpstream
  const stores: Store[] = []
  const clients: UpstreamClient[] = []
  const children: ChildProcess[] = []

  async function instance(timeout = '30s'): Promise<Registry> {
    const yaml = stringify({
      storage: url,
      uplinks: { npmjs: { url: upstream.url, timeout, maxage: '10m' } },
      packages: { '**': { access: '$all', proxy: 'npmjs' } },
    })
    const { config } = parseConfig(yaml, path.join(dir, 'c.yaml'))
    const store = await openStore(config.storage, { blobCache: path.join(dir, `cache-${stores.length}`) })
    const client = new UpstreamClient(config.uplinks)
    stores.push(store)
    clients.push(client)
    return new Registry(config, store, client)
  }

  beforeEach(async () => {
    url = await freshDatabase()
    dir = await mkdtemp(path.join(tmpdir(), 'sinopia-turns-'))
    upstream = await startFakeUpstream({ packages: [await buildPackage({ name: 'cold-pkg', version: '1.0.0' })] })
  })
  afterEach(async () => {
    for (const child of children.splice(0)) child.kill('SIGKILL')
    await Promise.all(clients.splice(0).map((c) => c.close()))
    await Promise.all(stores.splice(0).map((s) => s.close()))
    await upstream.stop()
    await rm(dir, { recursive: true, force: true })
  })

  it('30 requests spread over 3 instances make one uplink request in all', async () => {
    const instances = [await instance(), await instance(), await instance()]
    // The uplink answers slowly, so every instance asks while the first fetch is on its way
    // (without turns each instance would ask once: 3 requests).
    upstream.delay(300)
    const answers = await Promise.all(Array.from({ length: 30 }, (_, i) => (instances[i % 3] as Registry).packuments.get('cold-pkg')))
    for (const answer of answers) expect([...answer.view.versions.keys()]).toEqual(['1.0.0'])
    expect(upstream.count('/cold-pkg')).toBe(1)
    // One instance fetched it; the others read its copy from the store.
    expect(answers.filter((a) => a.cache === 'miss').length).toBeLessThanOrEqual(10)
    expect(answers.some((a) => a.cache === 'hit')).toBe(true)
  })

  it('a holder SIGKILLed in its turn does not hold the others: the next instance fetches itself', async () => {
    const waiter = await instance('10m')
    const child = spawn(process.execPath, ['--input-type=module', '-e', HOLDER, path.join(repo, 'dist/core/store/index.js'), url, 'cold-pkg', path.join(dir, 'cache-child')], {
      stdio: ['ignore', 'pipe', 'inherit'],
    })
    children.push(child)
    await new Promise<void>((resolve, reject) => {
      child.stdout?.on('data', (data: Buffer) => (data.toString().includes('held') ? resolve() : undefined))
      child.on('exit', (code) => reject(new Error(`the holder exited first (${code})`)))
    })
    let settled = false
    const answer = waiter.packuments.get('cold-pkg').finally(() => (settled = true))
    // While the holder lives, the waiter waits (its bound here is the uplink timeout: 10 minutes).
    await new Promise((resolve) => setTimeout(resolve, 300))
    expect(settled).toBe(false)
    expect(upstream.count('/cold-pkg')).toBe(0)
    child.kill('SIGKILL')
    expect([...(await answer).view.versions.keys()]).toEqual(['1.0.0'])
    expect(upstream.count('/cold-pkg')).toBe(1)
  })

  it('a turn held past the wait is not waited for any longer: the waiter runs all the same', async () => {
    const [a, b] = [await instance(), await instance()]
    let release = () => undefined as void
    let started = () => undefined as void
    const holds = new Promise<void>((resolve) => (started = resolve))
    const holding = a.store.packages.withFetchTurn('pkg', 0, () => {
      started()
      return new Promise<void>((resolve) => (release = resolve))
    })
    await holds
    let ran = false
    await b.store.packages.withFetchTurn('pkg', 200, () => Promise.resolve((ran = true)))
    expect(ran).toBe(true)
    release()
    await holding
    // Ended and announced: the next turn is had at once, even with no wait at all.
    expect(await b.store.packages.withFetchTurn('pkg', 0, () => Promise.resolve('turn'))).toBe('turn')
  })

  it('a turn is free again once its holder threw, and a run in the same process never waits for its own', async () => {
    const [a, b] = [await instance(), await instance()]
    await expect(a.store.packages.withFetchTurn('pkg', 0, () => Promise.reject(new Error('uplink broke')))).rejects.toThrow('uplink broke')
    const order: string[] = []
    await a.store.packages.withFetchTurn('pkg', 60_000, async () => {
      order.push('outer')
      await a.store.packages.withFetchTurn('pkg', 60_000, () => Promise.resolve(order.push('inner')))
    })
    expect(order).toEqual(['outer', 'inner'])
    expect(await b.store.packages.withFetchTurn('pkg', 60_000, () => Promise.resolve('free'))).toBe('free')
  })
})

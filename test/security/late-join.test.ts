import { createHash, randomBytes } from 'node:crypto'
import { createServer, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { cleanupRegistries, startRegistry, type RunningRegistry } from '../helpers/server.js'

/**
 * A tarball bigger than what a shared download keeps in memory for late joiners (16 MiB): a
 * client that joins past that point is not replayed from memory (several such downloads at once
 * would fill it), but gets the stored, verified copy once the download completes.
 */
const SIZE = 20 * 1024 * 1024

describe('a late joiner of a download too big to replay', () => {
  let uplink: Server
  let registry: RunningRegistry
  const bytes = randomBytes(SIZE)
  const integrity = `sha512-${createHash('sha512').update(bytes).digest('base64')}`
  let paused: ServerResponse | null = null
  let release: () => void = () => undefined
  let requests = 0

  beforeAll(async () => {
    uplink = createServer((req, res) => {
      if (req.url === '/big') {
        const tarball = `http://127.0.0.1:${(uplink.address() as AddressInfo).port}/big/-/big-1.0.0.tgz`
        return void res.end(JSON.stringify({ name: 'big', 'dist-tags': { latest: '1.0.0' }, versions: { '1.0.0': { name: 'big', version: '1.0.0', dist: { tarball, integrity } } } }))
      }
      if (req.url === '/big/-/big-1.0.0.tgz') {
        requests++
        res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': SIZE })
        // 18 MiB go out, then the rest waits until the test lets it go.
        res.write(bytes.subarray(0, 18 * 1024 * 1024))
        paused = res
        release = () => res.end(bytes.subarray(18 * 1024 * 1024))
        return
      }
      res.writeHead(404)
      res.end()
    })
    await new Promise<void>((resolve) => uplink.listen(0, '127.0.0.1', resolve))
    registry = await startRegistry({ upstreamUrl: `http://127.0.0.1:${(uplink.address() as AddressInfo).port}/` })
  })
  afterAll(async () => {
    await cleanupRegistries()
    uplink.closeAllConnections()
    uplink.close()
  })

  it('waits for the stored copy and gets the same verified bytes, from one uplink request', async () => {
    await (await fetch(`${registry.url}big`)).arrayBuffer()
    const first = fetch(`${registry.url}big/-/big-1.0.0.tgz`).then(async (res) => ({ status: res.status, body: Buffer.from(await res.arrayBuffer()) }))
    // The registry has read past the replay limit once the uplink's write drained into it.
    await expect.poll(() => paused !== null && paused.writableLength === 0, { timeout: 20_000 }).toBe(true)
    await new Promise((resolve) => setTimeout(resolve, 500))
    const late = fetch(`${registry.url}big/-/big-1.0.0.tgz`).then(async (res) => ({ status: res.status, body: Buffer.from(await res.arrayBuffer()) }))
    await new Promise((resolve) => setTimeout(resolve, 300))
    release()
    for (const answer of await Promise.all([first, late])) {
      expect(answer.status).toBe(200)
      expect(answer.body.equals(bytes)).toBe(true)
    }
    expect(requests).toBe(1)
    // The late one was answered from the store (a hit), not replayed from the download's memory (a miss).
    await registry.waitForOutput(/GET \/big\/-\/big-1\.0\.0\.tgz 200 .* hit/, 10_000)
  })
})

import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { Readable } from 'node:stream'
import { gzipSync } from 'node:zlib'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import type { UplinkConfig } from '../../../src/core/config/types.js'
import { UpstreamClient } from '../../../src/core/upstream/client.js'
import { startFakeUpstream, type Fault, type FakeUpstream } from '../../helpers/fake-upstream.js'
import { buildPackage, type BuiltPackage } from '../../helpers/packages.js'

/**
 * How the uplink client treats an uplink that fails after its headers: every such failure is
 * an EUPLINK error that counts against the circuit breaker, whatever the timing, and the
 * half-open probe always reaches the request that takes it.
 */
const uplink = (url: string, extra: Partial<UplinkConfig> = {}): UplinkConfig => ({
  name: 'up',
  url,
  // Short: `timeout` is the headers and between-chunks limit, `deadline` the whole exchange.
  timeout: 500,
  deadline: 1_500,
  maxPackumentSize: 1024 * 1024,
  maxTarballSize: 1024 * 1024,
  tarballOrigins: [],
  maxage: 0,
  failTimeout: 60_000,
  maxFails: 1,
  cache: true,
  headers: {},
  strictSsl: true,
  ...extra,
})

async function drain(body: Readable): Promise<Buffer> {
  const parts: Buffer[] = []
  for await (const part of body as AsyncIterable<Buffer>) parts.push(part)
  return Buffer.concat(parts)
}

describe('uplink client under faults', () => {
  let upstream: FakeUpstream
  let pkg: BuiltPackage
  let clients: UpstreamClient[] = []
  const client = (extra: Partial<UplinkConfig> = {}, now?: () => number) => {
    const made = new UpstreamClient({ up: uplink(upstream.url, extra) }, now ? { now } : {})
    clients.push(made)
    return made
  }

  beforeAll(async () => {
    // Padding makes the packument and tarball long enough for a drip to outlast every limit.
    pkg = await buildPackage({ name: 'alpha', version: '1.0.0', padding: 32 * 1024 })
    upstream = await startFakeUpstream({ packages: [pkg] })
  })
  afterEach(async () => {
    upstream.fault(null)
    upstream.failWith(null)
    upstream.setGzip(false)
    await Promise.all(clients.map((c) => c.close()))
    clients = []
  })
  afterAll(async () => {
    await upstream.stop()
  })

  it('after fail_timeout, a caller that asks available() first still gets the probe, and its success closes the circuit', async () => {
    let now = 0
    const up = client({ maxFails: 2, failTimeout: 3_000 }, () => now)
    upstream.failWith(503)
    await expect(up.packument('up', 'alpha')).rejects.toMatchObject({ code: 'EUPLINK' })
    await expect(up.packument('up', 'alpha')).rejects.toMatchObject({ code: 'EUPLINK' })
    expect(up.available('up')).toBe(false)
    upstream.failWith(null)
    now = 3_000
    // The registry asks first (packuments, tarballs, sync), then sends.
    expect(up.available('up')).toBe(true)
    expect((await up.packument('up', 'alpha')).status).toBe('ok')
    expect(up.available('up')).toBe(true)
    expect((await up.packument('up', 'alpha')).status).toBe('ok')
  })

  const bodyFaults: Fault[] = [
    { body: 'hang' },
    { body: 'drip', ms: 200 },
    { body: 'truncate' },
    { body: 'reset' },
    { body: 'wrong-bytes' },
    { body: 'long-length' },
  ]

  it.each(bodyFaults)('a packument body that fails after 200 headers ($body) is an EUPLINK failure the breaker counts', async (fault) => {
    const up = client()
    upstream.fault(fault, 'packuments')
    await expect(up.packument('up', 'alpha')).rejects.toMatchObject({ code: 'EUPLINK' })
    // max_fails 1: that one failure opened the circuit.
    expect(up.available('up')).toBe(false)
  })

  it.each(bodyFaults.filter((f) => 'body' in f && f.body !== 'wrong-bytes' && f.body !== 'truncate'))(
    'a tarball body that fails after 200 headers ($body) errors the stream and counts against the breaker',
    async (fault) => {
      const up = client()
      upstream.fault(fault, 'tarballs')
      const { body } = await up.tarball('up', upstream.tarballUrl('alpha', '1.0.0'))
      await expect(drain(body)).rejects.toMatchObject({ code: 'EUPLINK' })
      expect(up.available('up')).toBe(false)
    },
  )

  it('a tarball body that fails before anyone reads it is no uncaught error: the reader gets it when it starts', async () => {
    const up = client()
    upstream.fault({ body: 'reset' }, 'tarballs')
    const { body } = await up.tarball('up', upstream.tarballUrl('alpha', '1.0.0'))
    // Nobody reads yet (as while a download first checks the disk's room): the reset lands now.
    await new Promise((resolve) => body.once('close', resolve))
    await expect(drain(body)).rejects.toMatchObject({ code: 'EUPLINK' })
  })

  it('a tarball that arrives whole closes the half-open circuit only once its body is complete', async () => {
    let now = 0
    const up = client({ failTimeout: 1_000 }, () => now)
    upstream.failWith(500)
    await expect(up.packument('up', 'alpha')).rejects.toMatchObject({ code: 'EUPLINK' })
    upstream.failWith(null)
    now = 1_000
    const { body } = await up.tarball('up', upstream.tarballUrl('alpha', '1.0.0'))
    // Headers are in, the body is not: the probe is still out.
    expect(up.available('up')).toBe(false)
    expect((await drain(body)).equals(pkg.tarball)).toBe(true)
    expect(up.available('up')).toBe(true)
  })

  it('429 counts as a failure; a 404 is an answer', async () => {
    const up = client()
    upstream.fault({ status: 429, retryAfter: 1 })
    await expect(up.packument('up', 'alpha')).rejects.toMatchObject({ code: 'EUPLINK' })
    expect(up.available('up')).toBe(false)
    upstream.fault(null)
    const healthy = client()
    expect((await healthy.packument('up', 'missing')).status).toBe('not-found')
    expect(healthy.available('up')).toBe(true)
  })
})

describe('uplink client limits', () => {
  let server: Server
  let url: string
  let handler: (path: string, res: import('node:http').ServerResponse) => void = () => undefined
  const seen: Array<{ path: string; authorization?: string }> = []
  let clients: UpstreamClient[] = []
  const client = (extra: Partial<UplinkConfig> = {}) => {
    const made = new UpstreamClient({ up: uplink(url, { maxFails: 1, ...extra }) })
    clients.push(made)
    return made
  }

  beforeAll(async () => {
    server = createServer((req, res) => {
      seen.push({ path: req.url ?? '', ...(req.headers.authorization ? { authorization: req.headers.authorization } : {}) })
      handler(req.url ?? '', res)
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`
  })
  afterEach(async () => {
    seen.length = 0
    await Promise.all(clients.map((c) => c.close()))
    clients = []
  })
  afterAll(async () => {
    server.closeAllConnections()
    await new Promise((resolve) => server.close(resolve))
  })

  it('refuses a packument whose Content-Length is over max_packument_size before reading it, without counting a failure', async () => {
    handler = (_path, res) => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': 2 * 1024 * 1024 })
      res.write('{')
    }
    const up = client()
    await expect(up.packument('up', 'big')).rejects.toMatchObject({ code: 'ETOOLARGE', message: expect.stringMatching(/larger than 1048576 bytes/) })
    expect(up.available('up')).toBe(true)
  })

  it('stops inflating a gzip bomb at max_packument_size', async () => {
    const bomb = gzipSync(Buffer.alloc(8 * 1024 * 1024, 0x20))
    handler = (_path, res) => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-encoding': 'gzip', 'content-length': bomb.length })
      res.end(bomb)
    }
    await expect(client().packument('up', 'bomb')).rejects.toMatchObject({ code: 'ETOOLARGE', message: expect.stringMatching(/larger than/) })
  })

  it('cuts an endless tarball at max_tarball_size', async () => {
    handler = (_path, res) => {
      res.writeHead(200, { 'content-type': 'application/octet-stream' })
      const chunk = Buffer.alloc(64 * 1024)
      const pump = () => {
        while (!res.destroyed && res.write(chunk));
        if (!res.destroyed) res.once('drain', pump)
      }
      pump()
    }
    const { body } = await client().tarball('up', `${url}endless/-/endless-1.0.0.tgz`)
    await expect(drain(body)).rejects.toMatchObject({ code: 'ETOOLARGE', message: expect.stringMatching(/larger than 1048576 bytes/) })
  })

  it('sends the uplink headers to its own origin only, and refuses tarballs elsewhere unless listed in tarball_origins', async () => {
    handler = (_path, res) => {
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': 3 })
      res.end('abc')
    }
    const foreign = url.replace('127.0.0.1', 'localhost')
    const up = client({ headers: { authorization: 'Bearer secret' } })
    await expect(up.tarball('up', `${foreign}x/-/x-1.0.0.tgz`)).rejects.toMatchObject({ code: 'EUPLINK', message: expect.stringMatching(/outside its own origin/) })
    expect(seen).toEqual([])
    await drain((await up.tarball('up', `${url}x/-/x-1.0.0.tgz`)).body)
    const listed = client({ headers: { authorization: 'Bearer secret' }, tarballOrigins: [new URL(foreign).origin] })
    await drain((await listed.tarball('up', `${foreign}x/-/x-1.0.0.tgz`)).body)
    expect(seen).toEqual([{ path: '/x/-/x-1.0.0.tgz', authorization: 'Bearer secret' }, { path: '/x/-/x-1.0.0.tgz' }])
  })

  it('keeps control characters of an uplink-chosen URL out of its error messages', async () => {
    handler = (_path, res) => {
      res.writeHead(418)
      res.end()
    }
    const error = await client()
      .tarball('up', `${url}x/-/x.tgz?\r\n[fake] admin logged in`)
      .catch((e: unknown) => e as Error)
    expect((error as Error).message).toMatch(/answered 418/)
    expect((error as Error).message).not.toMatch(/[\r\n]/)
  })
})

import { readFile } from 'node:fs/promises'
import http from 'node:http'
import https from 'node:https'
import net, { type AddressInfo } from 'node:net'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { UplinkConfig } from '../../../src/core/config/types.js'
import { UpstreamClient } from '../../../src/core/upstream/client.js'
import { REPO_ROOT } from '../../helpers/clients.js'
import { startFakeUpstream, type FakeUpstream } from '../../helpers/fake-upstream.js'
import { buildPackage } from '../../helpers/packages.js'
import { rejection } from '../../helpers/errors.js'

const uplink = (url: string, extra: Partial<UplinkConfig> = {}): UplinkConfig => ({
  name: 'up',
  url,
  timeout: 5000,
  deadline: 20_000,
  maxPackumentSize: 10 * 1024 * 1024,
  maxTarballSize: 10 * 1024 * 1024,
  tarballOrigins: [],
  maxage: 60_000,
  failTimeout: 60_000,
  maxFails: 3,
  cache: true,
  headers: {},
  strictSsl: true,
  ...extra,
})

const listen = (server: net.Server) =>
  new Promise<number>((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)))

describe('uplink connections', () => {
  let upstream: FakeUpstream
  let tls: https.Server
  let tlsUrl: string
  let ca: string
  let proxy: http.Server
  let proxyUrl: string
  const tunnels: string[] = []

  beforeAll(async () => {
    upstream = await startFakeUpstream({ packages: [await buildPackage({ name: 'alpha', version: '1.0.0' })] })
    const dir = path.join(REPO_ROOT, 'fixtures', 'tls')
    ca = await readFile(path.join(dir, 'cert.pem'), 'utf8')
    tls = https.createServer({ cert: ca, key: await readFile(path.join(dir, 'key.pem')) }, (req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' })
      res.end(JSON.stringify({ name: 'alpha', versions: {} }))
    })
    tlsUrl = `https://127.0.0.1:${await listen(tls)}/`
    // A forward proxy that only tunnels (CONNECT), as corporate proxies do.
    proxy = http.createServer((_req, res) => res.writeHead(405).end())
    proxy.on('connect', (req, socket, head) => {
      tunnels.push(String(req.url))
      const [host, port] = String(req.url).split(':')
      const target = net.connect(Number(port), host, () => {
        socket.write('HTTP/1.1 200 Connection Established\r\n\r\n')
        target.write(head)
        target.pipe(socket)
        socket.pipe(target)
      })
      target.on('error', () => socket.destroy())
      socket.on('error', () => target.destroy())
    })
    proxyUrl = `http://127.0.0.1:${await listen(proxy)}`
  })
  afterAll(async () => {
    await upstream.stop()
    tls.close()
    tls.closeAllConnections()
    proxy.close()
    proxy.closeAllConnections()
  })

  it('trusts an uplink whose certificate is signed by the configured CA', async () => {
    const client = new UpstreamClient({ up: uplink(tlsUrl, { ca }) })
    expect((await client.packument('up', 'alpha')).status).toBe('ok')
    await client.close()
  })

  it('refuses an unknown certificate, unless strict_ssl is off', async () => {
    const strict = new UpstreamClient({ up: uplink(tlsUrl) })
    await expect(strict.packument('up', 'alpha')).rejects.toMatchObject({ code: 'EUPLINKDOWN' })
    await strict.close()
    const lax = new UpstreamClient({ up: uplink(tlsUrl, { strictSsl: false }) })
    expect((await lax.packument('up', 'alpha')).status).toBe('ok')
    await lax.close()
  })

  it('goes through the configured proxy, and around it for no_proxy hosts', async () => {
    const proxied = new UpstreamClient({ up: uplink(upstream.url, { httpProxy: proxyUrl, httpsProxy: proxyUrl }) })
    expect((await proxied.packument('up', 'alpha')).status).toBe('ok')
    await proxied.close()
    expect(tunnels).toEqual([`127.0.0.1:${upstream.port}`])
    const bypass = new UpstreamClient({ up: uplink(upstream.url, { httpProxy: proxyUrl, noProxy: '127.0.0.1' }) })
    expect((await bypass.packument('up', 'alpha')).status).toBe('ok')
    await bypass.close()
    expect(tunnels).toHaveLength(1)
  })

  it('decompresses gzip answers and sends conditional headers', async () => {
    upstream.setGzip(true)
    const client = new UpstreamClient({ up: uplink(upstream.url) })
    const first = await client.packument('up', 'alpha')
    expect(first.status).toBe('ok')
    if (first.status !== 'ok') return
    expect((first.value.doc as { name: string }).name).toBe('alpha')
    expect((await client.packument('up', 'alpha', { etag: first.value.etag })).status).toBe('not-modified')
    expect((await client.packument('up', 'missing')).status).toBe('not-found')
    await client.close()
    upstream.setGzip(false)
  })

  it('opens the circuit after max_fails failures and answers at once while open', async () => {
    upstream.failWith(500)
    const client = new UpstreamClient({ up: uplink(upstream.url, { maxFails: 2 }) })
    expect(await rejection(client.packument('up', 'alpha'))).toMatchObject({ code: 'EUPLINK', status: 502 })
    await expect(client.packument('up', 'alpha')).rejects.toMatchObject({ code: 'EUPLINK' })
    expect(client.available('up')).toBe(false)
    const before = upstream.requests.length
    expect(await rejection(client.packument('up', 'alpha'))).toMatchObject({ status: 503 })
    expect(upstream.requests.length).toBe(before)
    upstream.failWith(null)
    await client.close()
  })
})

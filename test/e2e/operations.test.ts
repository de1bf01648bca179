import { execFileSync } from 'node:child_process'
import { mkdir } from 'node:fs/promises'
import path from 'node:path'
import parsePrometheusTextFormat, { type MetricFamily } from 'parse-prometheus-text-format'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { cleanupTempDirs, makeProject, makeTempDir, runNpm } from '../helpers/clients.js'
import { startFakeUpstream, type FakeUpstream } from '../helpers/fake-upstream.js'
import { remount } from '../faults/tmpfs.js'
import { buildPackage } from '../helpers/packages.js'
import { publishBody } from '../helpers/publish.js'
import { cleanupRegistries, startRegistry, type RunningRegistry } from '../helpers/server.js'

/**
 * Watching the registry as an operator does: `/-/metrics` read by a Prometheus text parser after
 * a scripted run of installs and a publish, its optional protection, `/-/health` (and its 503
 * when the storage turns read-only), and JSON log lines a shipper can parse.
 */

async function adduser(registry: RunningRegistry, name: string): Promise<string> {
  const res = await fetch(`${registry.url}-/user/org.couchdb.user:${name}`, {
    method: 'PUT',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ name, password: 'ops-Horse-battery', type: 'user', roles: [], date: new Date().toISOString() }),
  })
  const body = (await res.json()) as { token?: string }
  if (res.status !== 201 || !body.token) throw new Error(`adduser: ${res.status} ${JSON.stringify(body)}`)
  return body.token
}

async function scrape(url: string, headers: Record<string, string> = {}): Promise<Map<string, MetricFamily>> {
  const res = await fetch(`${url}-/metrics`, { headers })
  expect(res.status).toBe(200)
  expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/)
  return new Map(parsePrometheusTextFormat(await res.text()).map((family) => [family.name, family]))
}

/** The value of the sample whose labels include `labels` (0 when there is none). */
function value(families: Map<string, MetricFamily>, name: string, labels: Record<string, string> = {}): number {
  const family = families.get(name)
  if (!family) throw new Error(`no metric ${name}`)
  const sample = family.metrics.find((m) => Object.entries(labels).every(([k, v]) => m.labels?.[k] === v))
  return sample ? Number(sample.value ?? sample.count) : 0
}

describe('metrics, health and JSON logs', () => {
  let upstream: FakeUpstream
  let registry: RunningRegistry

  beforeAll(async () => {
    upstream = await startFakeUpstream({ packages: [await buildPackage({ name: 'obs-dep', version: '1.0.0' }), await buildPackage({ name: 'obs-app', version: '2.0.0', dependencies: { 'obs-dep': '^1.0.0' } })] })
    registry = await startRegistry({ upstreamUrl: upstream.url, config: { log: { level: 'http', format: 'json' } } })
  })
  afterAll(async () => {
    await cleanupRegistries()
    await upstream?.stop()
    await cleanupTempDirs()
  })

  it('counts a scripted run of installs and a publish, and logs it as JSON lines', { timeout: 120_000 }, async () => {
    for (let i = 0; i < 2; i++) {
      const project = await makeProject({ 'obs-app': '^2.0.0' })
      const install = await runNpm(['install'], { cwd: project, registry: registry.url })
      expect(install.code, install.stderr).toBe(0)
    }
    const token = await adduser(registry, 'ops')
    const pkg = await buildPackage({ name: 'obs-private', version: '1.0.0' })
    const publish = await fetch(`${registry.url}obs-private`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify(publishBody(pkg)),
    })
    expect(publish.status).toBe(201)

    const m = await scrape(registry.url)
    expect(value(m, 'sinopia_http_requests_total', { route: 'tarball', status: '200' })).toBe(4)
    expect(value(m, 'sinopia_http_requests_total', { route: 'publish', method: 'PUT', status: '201' })).toBe(1)
    expect(value(m, 'sinopia_cache_total', { outcome: 'miss' })).toBeGreaterThanOrEqual(4)
    expect(value(m, 'sinopia_cache_total', { outcome: 'hit' })).toBeGreaterThanOrEqual(2)
    expect(value(m, 'sinopia_publishes_total', { kind: 'publish' })).toBe(1)
    expect(value(m, 'sinopia_http_response_bytes_total', { route: 'tarball' })).toBeGreaterThan(0)
    expect(value(m, 'sinopia_uplink_circuit_open', { uplink: 'npmjs' })).toBe(0)
    // Two packuments and two tarballs fetched; the second install is served from the store.
    expect(value(m, 'sinopia_uplink_requests_total', { uplink: 'npmjs', outcome: 'ok' })).toBeGreaterThanOrEqual(4)
    expect(value(m, 'sinopia_uplink_requests_total', { uplink: 'npmjs', outcome: 'error' })).toBe(0)
    // The index takes the publish in the background (a search waits for it; a scrape does not).
    await expect.poll(async () => value(await scrape(registry.url), 'sinopia_search_index_packages'), { timeout: 10_000 }).toBe(3)
    expect(value(m, 'process_resident_memory_bytes')).toBeGreaterThan(10 * 1024 * 1024)
    expect(m.has('nodejs_eventloop_lag_seconds')).toBe(true)
    // (This parser folds a histogram's label sets into one; its buckets are checked, not per route.)
    expect(m.get('sinopia_http_request_duration_seconds')?.type).toBe('HISTOGRAM')
    expect(Object.keys(m.get('sinopia_http_request_duration_seconds')?.metrics[0]?.buckets ?? {})).toContain('+Inf')

    // The store's size is counted in the background at start: after a restart it shows the three blobs.
    await registry.restart()
    await expect.poll(async () => value(await scrape(registry.url), 'sinopia_store_blobs'), { timeout: 10_000 }).toBe(3)

    const lines = registry
      .output()
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as Record<string, unknown>)
    const tarball = lines.find((l) => l.path === '/obs-dep/-/obs-dep-1.0.0.tgz')
    expect(tarball).toMatchObject({ level: 'http', method: 'GET', status: 200, cache: 'miss', msg: expect.stringContaining('GET /obs-dep/-/obs-dep-1.0.0.tgz 200') })
    expect(Object.keys(tarball ?? {}).sort()).toEqual(['bytes', 'cache', 'id', 'level', 'method', 'ms', 'msg', 'path', 'status', 'time'])
    expect(new Date(String(tarball?.time)).toISOString()).toBe(tarball?.time)
    expect(lines.find((l) => l.method === 'PUT' && l.path === '/obs-private')).toMatchObject({ status: 201, user: 'ops' })
    expect(registry.output()).not.toContain(token)
  })

  it('health reports the storage and each uplink', async () => {
    const res = await fetch(`${registry.url}-/health`)
    expect(res.status).toBe(200)
    expect(await res.json()).toMatchObject({ status: 'ok', storage: { writable: true }, uplinks: { npmjs: { state: 'closed' } } })
  })

  it('metrics can be limited to addresses and to a bearer token, or turned off', async () => {
    const guarded = await startRegistry({ config: { metrics: { token: 'sc-rape' } } })
    expect((await fetch(`${guarded.url}-/metrics`)).status).toBe(401)
    expect((await fetch(`${guarded.url}-/metrics`, { headers: { authorization: 'Bearer wrong' } })).status).toBe(401)
    await scrape(guarded.url, { authorization: 'Bearer sc-rape' })
    const elsewhere = await startRegistry({ config: { metrics: { allow: ['10.0.0.0/8'] } } })
    expect((await fetch(`${elsewhere.url}-/metrics`)).status).toBe(403)
    const off = await startRegistry({ config: { metrics: { enabled: false } } })
    expect((await fetch(`${off.url}-/metrics`)).status).toBe(404)
  })

  it('health turns 503 when the storage becomes read-only, and 200 again when it is writable', { timeout: 60_000 }, async (context) => {
    if (process.getuid?.() !== 0) {
      context.skip('mounting a tmpfs needs root (CI runs as root)')
      return
    }
    const mount = path.join(await makeTempDir('sinopia-ro-'), 'storage')
    await mkdir(mount)
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=8m', 'tmpfs', mount])
    try {
      const onTmpfs = await startRegistry({ storage: mount })
      const health = async () => (await fetch(`${onTmpfs.url}-/health`)).status
      expect(await health()).toBe(200)
      await remount(mount, 'ro')
      await expect.poll(health, { timeout: 20_000, interval: 250 }).toBe(503)
      const body = (await (await fetch(`${onTmpfs.url}-/health`)).json()) as { storage: { error?: string } }
      expect(body.storage.error).toBe('EROFS')
      await remount(mount, 'rw')
      await expect.poll(health, { timeout: 20_000, interval: 250 }).toBe(200)
      await onTmpfs.cleanup()
    } finally {
      execFileSync('umount', ['-l', mount])
    }
  })
})

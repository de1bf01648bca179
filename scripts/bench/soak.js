import { createHash } from 'node:crypto'
import { readdirSync } from 'node:fs'
import http from 'node:http'
import os from 'node:os'
import { performance } from 'node:perf_hooks'
import { setTimeout as delay } from 'node:timers/promises'
import { BIG_PACKAGE, MID_TARBALL, buildFixtures, prng } from './fixtures.js'
import { ABBREVIATED, request as send } from './http.js'
import { addUser, publishBody } from './publish.js'
import { launchServer, readMemory } from './server.js'
import { growth, kindStats } from './soak-stats.js'
import { startUpstream } from './upstream.js'

export const SOAK_SAMPLE_S = 10
const PUBLISH_EVERY_MS = 3_000
const SEARCH_EVERY_MS = 1_000
/** Closed-loop clients per kind of read: few, so the run measures the server's drift, not a saturated core. */
const WORKERS = { 'packument full': 1, 'packument abbreviated': 2, tarball: 2, '304 not modified': 2 }
/** A bound on every loop besides the time. */
const MAX_REQUESTS_PER_LOOP = 5_000_000
const PUBLISHED = 'soak-pkg'

/**
 * The soak mode of the bench: mixed load for `seconds` against a real `serve` with the fake
 * uplink, all on 127.0.0.1: full and abbreviated packuments, tarballs (one of 300 KiB and the
 * small ones of every version of the big package, so the store keeps filling), 304s (If-None-Match
 * on a packument and a tarball), a publish every 3 s (its version must be listed, and its
 * tarball served, by the next read) and a search every second. The server's RSS and open file
 * descriptors are sampled every 10 s from /proc. Every response is checked (status, and the bytes
 * of tarballs against their digests). Returns the results object (see renderSoak).
 */
export async function runSoak({ root, dir, seconds, log, cleanups, stopped, onServer, startupTimeoutMs = 20_000 }) {
  const began = performance.now()
  const upstream = await startUpstream()
  cleanups.push(() => upstream.close())
  const fixtures = buildFixtures(upstream.url, { quick: true })
  upstream.serve(fixtures.routes)
  const server = await launchServer({ root, dir, upstreamUrl: upstream.url, timeoutMs: startupTimeoutMs })
  cleanups.push(() => server.stop())
  onServer(server)
  const { url } = await server.ready
  const agent = new http.Agent({ keepAlive: true, maxSockets: 32 })
  cleanups.push(async () => agent.destroy())
  const results = {
    date: new Date().toISOString(),
    environment: { node: process.version, platform: `${process.platform} ${os.release()}`, cpus: os.cpus().length, loadAverageAtStart: os.loadavg() },
    mode: { soak: true, seconds, sampleS: SOAK_SAMPLE_S, workers: WORKERS, publishEveryMs: PUBLISH_EVERY_MS, searchEveryMs: SEARCH_EVERY_MS },
    server: { url, pid: server.pid },
    kinds: {},
    samples: [],
    growth: null,
    problems: [],
    serverOutput: [],
    loadS: null,
    elapsedS: null,
  }
  log(`soak: server up at ${url} (pid ${server.pid}); ${seconds} s of mixed load`)

  // Warm-up: every document stored once, the ETags and digests the checks need.
  const full = await send(`${url}${BIG_PACKAGE}`, { headers: { accept: 'application/json' }, agent })
  const abbreviated = await send(`${url}${BIG_PACKAGE}`, { headers: { accept: ABBREVIATED }, agent })
  if (full.status !== 200 || abbreviated.status !== 200) throw new Error(`warm-up: ${BIG_PACKAGE} answered ${full.status} / ${abbreviated.status}`)
  const versions = Object.values(JSON.parse(full.body.toString('utf8')).versions).map((m) => ({ path: new URL(m.dist.tarball).pathname, shasum: m.dist.shasum }))
  const mid = fixtures.info.tarballs.find((t) => t.name === MID_TARBALL)
  const midPath = `${MID_TARBALL}/-/${mid.file}`
  await send(url + midPath, { agent })
  const midStored = await send(url + midPath, { agent })
  if (midStored.status !== 200 || !midStored.headers.etag) throw new Error(`warm-up: ${midPath} answered ${midStored.status} without an ETag`)
  const token = await addUser(url, agent, 'soak')

  // The time counts from here: startup and warm-up are not part of the soak.
  const loadStart = performance.now()
  const end = loadStart + seconds * 1000
  const running = () => !stopped() && performance.now() < end && server.alive()
  const stats = {}
  const kind = (name) => (stats[name] ??= kindStats())
  /** One timed request of `name`; `check(response)` returns a problem or null. */
  const timed = async (name, target, options, check) => {
    const t = performance.now()
    let response
    try {
      response = await send(target, { ...options, agent })
    } catch (error) {
      kind(name).record(performance.now() - t, 'error')
      kind(name).fail(error.message)
      return null
    }
    kind(name).record(performance.now() - t, response.status)
    const problem = check(response)
    if (problem) kind(name).fail(problem)
    return response
  }
  const status = (want) => (r) => (r.status === want ? null : `status ${r.status}, expected ${want}: ${r.body.toString('utf8').slice(0, 200)}`)
  const sameLength = (bytes) => (r) => status(200)(r) ?? (r.body.length === bytes ? null : `${r.body.length} bytes, expected ${bytes}`)
  const sha1 = (shasum) => (r) => status(200)(r) ?? (createHash('sha1').update(r.body).digest('hex') === shasum ? null : 'tarball bytes do not match dist.shasum')

  const loop = async (body) => {
    for (let i = 0; i < MAX_REQUESTS_PER_LOOP && running(); i++) await body(i)
  }
  const every = async (ms, body) => {
    for (let i = 0; i < MAX_REQUESTS_PER_LOOP && running(); i++) {
      const t = performance.now()
      await body(i)
      const wait = Math.min(ms - (performance.now() - t), end - performance.now())
      if (wait > 0 && running()) await delay(wait)
    }
  }
  const rand = prng(0x50a4)
  const loops = [
    ...Array.from({ length: WORKERS['packument full'] }, () =>
      loop(() => timed('packument full', `${url}${BIG_PACKAGE}`, { headers: { accept: 'application/json' } }, sameLength(full.body.length))),
    ),
    ...Array.from({ length: WORKERS['packument abbreviated'] }, () =>
      loop(() => timed('packument abbreviated', `${url}${BIG_PACKAGE}`, { headers: { accept: ABBREVIATED } }, sameLength(abbreviated.body.length))),
    ),
    ...Array.from({ length: WORKERS.tarball }, () =>
      loop((i) => {
        if (i % 2 === 0) return timed('tarball', url + midPath, {}, sha1(mid.shasum))
        const v = rand.pick(versions)
        return timed('tarball', url + v.path.slice(1), {}, sha1(v.shasum))
      }),
    ),
    ...Array.from({ length: WORKERS['304 not modified'] }, () =>
      loop((i) =>
        i % 2 === 0
          ? timed('304 not modified', `${url}${BIG_PACKAGE}`, { headers: { accept: ABBREVIATED, 'if-none-match': abbreviated.headers.etag } }, status(304))
          : timed('304 not modified', url + midPath, { headers: { 'if-none-match': midStored.headers.etag } }, status(304)),
      ),
    ),
    every(PUBLISH_EVERY_MS, (i) => publishAndRead(url, token, `1.0.${i}`, timed, kind)),
    every(SEARCH_EVERY_MS, () =>
      timed('search', `${url}-/v1/search?text=soak&size=20`, {}, (r) => status(200)(r) ?? (Array.isArray(JSON.parse(r.body.toString('utf8')).objects) ? null : 'no objects list')),
    ),
  ]

  const sample = () => {
    const memory = readMemory(server.pid)
    let fds = null
    try {
      fds = readdirSync(`/proc/${server.pid}/fd`).length
    } catch {
      // No /proc (not Linux) or the server is gone: the sample says so with null.
    }
    const requests = Object.values(stats).reduce((a, k) => a + k.requests, 0)
    results.samples.push({ tS: Math.round((performance.now() - loadStart) / 100) / 10, rssKb: memory?.rssKb ?? null, fds, requests })
  }
  sample()
  const sampler = setInterval(sample, SOAK_SAMPLE_S * 1000)
  try {
    await Promise.all(loops)
  } finally {
    clearInterval(sampler)
  }
  if (server.alive()) sample()
  else results.problems.push(`the server exited during the run: ${JSON.stringify(await server.exited)}`)
  if (stopped()) results.problems.push('interrupted')

  const ranS = (performance.now() - loadStart) / 1000
  const order = [...Object.keys(WORKERS), 'publish', 'search']
  for (const [name, k] of Object.entries(stats).sort(([a], [b]) => order.indexOf(a) - order.indexOf(b))) {
    results.kinds[name] = k.summary(ranS)
    if (k.errors > 0) results.problems.push(`${name}: ${k.errors} of ${k.requests} failed (${k.errorSamples[0]})`)
  }
  for (const name of order) {
    if (!results.kinds[name]?.requests) results.problems.push(`${name}: no request completed`)
  }
  results.growth = { rssKb: growth(results.samples, 'rssKb'), fds: growth(results.samples, 'fds') }
  const { stdout, stderr } = server.output()
  results.serverOutput = [...stdout.split('\n').filter((line) => !line.includes('listening on')), ...stderr.split('\n')].map((l) => l.trim()).filter(Boolean).slice(-30)
  results.elapsedS = Math.round((performance.now() - began) / 100) / 10
  results.loadS = Math.round(ranS * 10) / 10
  return results
}

/**
 * Publishes `version` of the soak package, then checks the next reads: the version is listed
 * and its tarball served with the published bytes.
 */
async function publishAndRead(url, token, version, timed, kind) {
  const { body, file, shasum } = publishBody(url, PUBLISHED, version, 'soak test package')
  const headers = { 'content-type': 'application/json', authorization: `Bearer ${token}` }
  const put = await timed('publish', `${url}${PUBLISHED}`, { method: 'PUT', headers, body }, (r) =>
    r.status === 201 ? null : `status ${r.status}: ${r.body.toString('utf8').slice(0, 200)}`,
  )
  if (put?.status !== 201) return
  const doc = await timed('packument abbreviated', `${url}${PUBLISHED}`, { headers: { accept: ABBREVIATED } }, (r) => (r.status === 200 ? null : `status ${r.status}`))
  if (doc?.status === 200 && !JSON.parse(doc.body.toString('utf8')).versions?.[version]) kind('publish').fail(`${version} not listed by the read right after its publish`)
  await timed('tarball', `${url}${PUBLISHED}/-/${file}`, {}, (r) =>
    r.status !== 200 ? `just published ${file}: status ${r.status}` : createHash('sha1').update(r.body).digest('hex') === shasum ? null : `just published ${file}: bytes differ`,
  )
}

import http from 'node:http'
import os from 'node:os'
import { performance } from 'node:perf_hooks'
import { gzipSync } from 'node:zlib'
import { digests, manifest, packument, prng, sentence, timeline } from './fixtures.js'
import { ABBREVIATED, get } from './http.js'
import { launchServer, readMemory, sampleMemory } from './server.js'
import { startUpstream } from './upstream.js'
import { CACHED_BYTES_BOUND, rssBound } from '../../dist/core/cache-bounds.js'

/** Per package: versions (each a realistic manifest of ~1.2 kB) and README sentences (~4 kB). */
const VERSIONS = 20
const README_SENTENCES = 20
const CLIENTS = 16
const ROUNDS = 2

const nameOf = (i) => `outage-pkg-${i}`
const versionOf = (v) => `1.${v}.0`

/**
 * The outage mode of the bench: the memory `serve` takes when its uplink is down and clients
 * ask for every package it has cached. A fake uplink serves `packages` packages; a first server
 * caches each (its packument and its latest tarball) and stops; the uplink stops too. A second
 * server, started on that store while the uplink refuses connections, is asked for every
 * packument, full and abbreviated, `ROUNDS` times: each answer must be a 200 that offers the
 * stored latest version and nothing else. Reports the second server's peak RSS (VmHWM, its whole
 * life) and its RSS at the end. Counts and time are bounded by `packages`.
 */
export async function runOutage({ root, dir, packages, log, cleanups, stopped, onServer, startupTimeoutMs = 20_000 }) {
  const began = performance.now()
  const upstream = await startUpstream()
  let upstreamOpen = true
  cleanups.push(async () => {
    if (upstreamOpen) await upstream.close()
  })
  const { routes, bytes } = buildPackages(upstream.url, packages)
  upstream.serve(routes)
  const agent = new http.Agent({ keepAlive: true, maxSockets: CLIENTS })
  cleanups.push(async () => agent.destroy())
  const results = {
    date: new Date().toISOString(),
    environment: { node: process.version, platform: `${process.platform} ${os.release()}`, cpus: os.cpus().length, loadAverageAtStart: os.loadavg() },
    mode: { outage: true, packages, versionsPerPackage: VERSIONS, clients: CLIENTS, rounds: ROUNDS },
    fixtures: { packumentBytes: bytes },
    fill: null,
    outage: null,
    problems: [],
    elapsedS: null,
  }
  const problem = (text) => {
    if (results.problems.length < 20) results.problems.push(text)
  }

  // Fill: the store gets every package the way a working uplink puts it there.
  const filler = await launchServer({ root, dir, upstreamUrl: upstream.url, timeoutMs: startupTimeoutMs })
  onServer(filler)
  cleanups.push(() => filler.stop())
  const filled = await filler.ready
  log(`outage: caching ${packages} packages through ${filled.url}`)
  let t = performance.now()
  await eachName(packages, stopped, async (name) => {
    const doc = await send(`${filled.url}${name}`, ABBREVIATED, agent)
    if (doc.status !== 200) return problem(`fill: ${name} answered ${doc.status}`)
    const latest = versionOf(VERSIONS - 1)
    const tarball = await send(`${filled.url}${name}/-/${name}-${latest}.tgz`, '*/*', agent)
    if (tarball.status !== 200) problem(`fill: ${name}@${latest} tarball answered ${tarball.status}`)
  })
  results.fill = { seconds: round((performance.now() - t) / 1000), peakRssMb: mb(readMemory(filler.pid)?.hwmKb) }
  await filler.stop()
  agent.destroy()

  // Outage: the uplink is gone (connection refused); a fresh server, so its peak is the outage's alone,
  // for which every copy is stale (maxage 0): each is served offline, not as a fresh hit.
  await upstream.close()
  upstreamOpen = false
  const server = await launchServer({ root, dir, upstreamUrl: upstream.url, timeoutMs: startupTimeoutMs, maxage: 0 })
  onServer(server)
  cleanups.push(() => server.stop())
  const { url } = await server.ready
  // Started: listening, with its search index of the store built (it grows with the store, not with
  // what is served); the caches are empty. The bound is taken from here.
  await indexed(url, packages, stopped)
  const startedKb = readMemory(server.pid)?.rssKb ?? null
  const sampler = sampleMemory(server.pid)
  cleanups.push(async () => sampler.stop())
  log(`outage: uplink down; ${ROUNDS} rounds of ${packages} packages x 2 forms against ${url} (pid ${server.pid})`)
  t = performance.now()
  let requests = 0
  const outageAgent = new http.Agent({ keepAlive: true, maxSockets: CLIENTS })
  cleanups.push(async () => outageAgent.destroy())
  for (let round = 0; round < ROUNDS && !stopped(); round++) {
    await eachName(packages, stopped, async (name) => {
      for (const accept of ['application/json', ABBREVIATED]) {
        requests++
        const answer = await send(`${url}${name}`, accept, outageAgent)
        const check = answer.status === 200 ? offeredOnly(answer.body, VERSIONS - 1) : `status ${answer.status}`
        if (check) problem(`outage: ${name} (${accept}): ${check}`)
      }
    })
  }
  const memory = readMemory(server.pid)
  const boundKb = startedKb === null ? null : rssBound(startedKb * 1024) / 1024
  results.outage = {
    requests,
    seconds: round((performance.now() - t) / 1000),
    startedRssMb: mb(startedKb),
    cachedBytesBoundMb: mb(CACHED_BYTES_BOUND / 1024),
    rssBoundMb: mb(boundKb),
    growthOverCaches: startedKb === null || memory?.hwmKb == null ? null : round2((memory.hwmKb - startedKb) / (CACHED_BYTES_BOUND / 1024)),
    peakRssMb: mb(memory?.hwmKb),
    sampledPeakRssMb: mb(sampler.stop()),
    endRssMb: mb(memory?.rssKb),
    alive: server.alive(),
  }
  if (!server.alive()) problem('the server exited during the outage')
  if (boundKb !== null && memory?.hwmKb != null && memory.hwmKb > boundKb) {
    problem(`peak RSS ${mb(memory.hwmKb)} MB is over the memory bound ${mb(boundKb)} MB (src/core/cache-bounds.ts rssBound)`)
  }
  results.elapsedS = round((performance.now() - began) / 1000)
  return results
}

export function renderOutage(results) {
  const { mode, fixtures, fill, outage } = results
  const lines = [
    `outage: ${mode.packages} cached packages (${mode.versionsPerPackage} versions each, ${(fixtures.packumentBytes / 1e6).toFixed(0)} MB of packuments), uplink down`,
    `  fill through a working uplink: ${fill?.seconds ?? '-'} s, that server's peak RSS ${fill?.peakRssMb ?? '-'} MB`,
  ]
  if (outage) {
    lines.push(
      `  offline: ${outage.requests} requests (full and abbreviated) in ${outage.seconds} s`,
      `  peak RSS (VmHWM) ${outage.peakRssMb ?? '-'} MB (sampled ${outage.sampledPeakRssMb ?? '-'} MB); RSS at the end ${outage.endRssMb ?? '-'} MB`,
      `  RSS once started (search index built) ${outage.startedRssMb ?? '-'} MB; caches' byte budgets ${outage.cachedBytesBoundMb} MB; ` +
        `growth over start ${outage.growthOverCaches ?? '-'} x the budgets; bound ${outage.rssBoundMb ?? '-'} MB`,
    )
  }
  lines.push(results.problems.length === 0 ? '  no problems' : `  problems:\n${results.problems.map((p) => `    ${p}`).join('\n')}`)
  return `${lines.join('\n')}\n`
}

/** Packuments of `count` packages; of each, only the latest version's tarball is served. */
function buildPackages(upstreamUrl, count) {
  const rand = prng(0x0ff1)
  const base = upstreamUrl.replace(/\/$/, '')
  const routes = new Map()
  let bytes = 0
  for (let i = 0; i < count; i++) {
    const name = nameOf(i)
    const manifests = {}
    for (let v = 0; v < VERSIONS; v++) {
      const version = versionOf(v)
      const path = `/${name}/-/${name}-${version}.tgz`
      const tarball = gzipSync(`${name}@${version}`)
      if (v === VERSIONS - 1) routes.set(path, { body: tarball, type: 'application/octet-stream' })
      manifests[version] = manifest(rand, name, version, { ...digests(tarball), tarball: base + path })
    }
    const doc = packument(rand, name, manifests, timeline(VERSIONS))
    doc.readme = `# ${name}\n\n${Array.from({ length: README_SENTENCES }, () => sentence(rand, 30)).join('\n\n')}\n`
    const body = Buffer.from(JSON.stringify(doc))
    bytes += body.length
    routes.set(`/${name}`, { body, type: 'application/json' })
  }
  return { routes, bytes }
}

/** Waits (bounded) until the server's search index holds all `count` packages. */
async function indexed(url, count, stopped) {
  const until = performance.now() + 120_000
  while (performance.now() < until && !stopped()) {
    const answer = await get(`${url}-/v1/search?text=outage-pkg&size=1`, { timeoutMs: 10_000 }).catch(() => null)
    if (answer?.status === 200 && JSON.parse(answer.body.toString('utf8')).total >= count) return
    await new Promise((resolve) => setTimeout(resolve, 250))
  }
}

/** Null when the document offers exactly the stored latest version, else what is wrong. */
function offeredOnly(body, latestIndex) {
  const doc = JSON.parse(body.toString('utf8'))
  const versions = Object.keys(doc.versions ?? {})
  const want = versionOf(latestIndex)
  return versions.length === 1 && versions[0] === want ? null : `offers ${versions.join(', ') || 'nothing'}, want only ${want}`
}

/** `fn(name)` for every package, `CLIENTS` at a time, until `stopped()`. */
async function eachName(count, stopped, fn) {
  let next = 0
  await Promise.all(
    Array.from({ length: CLIENTS }, async () => {
      while (next < count && !stopped()) await fn(nameOf(next++))
    }),
  )
}

function send(url, accept, agent) {
  return get(url, { headers: { accept }, agent, timeoutMs: 30_000 })
}

const mb = (kb) => (kb == null ? null : Math.round(kb / 1024))
const round = (n) => Math.round(n * 10) / 10
const round2 = (n) => Math.round(n * 100) / 100

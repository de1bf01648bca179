import http from 'node:http'
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { performance } from 'node:perf_hooks'
import { documentFixture, prng, tarballFixture } from './fixtures.js'
import { ABBREVIATED, get } from './http.js'
import { bytesForNginx, checkNginx, discardResponseBodies, measure, warm } from './load.js'
import { ensureNginx, startNginx } from './nginx.js'
import { isolatedNpm, median, runNpm } from './npmci.js'
import { mainThreadProfile, renderProfile } from './profile.js'
import { buildProject } from './project.js'
import { addUser, publishLoad } from './publish.js'
import { launchServer, readCpuSeconds, readMainThreadCpuSeconds, readMemory } from './server.js'
import { startUpstream } from './upstream.js'

/** Packages of the generated project: with the second majors npm nests, ~700 get installed. */
const PROJECT_PACKAGES = 660
const WARM_ROUNDS = 3
const HOT_ROUNDS = 2
const HOT_CONNECTIONS = 50
const HUGE_CONNECTIONS = 10
/** Each npm run is stopped after this; the whole npm part is bounded by it times the run count (9). */
const NPM_TIMEOUT_MS = 180_000

/**
 * The documents of the hot rows, sized like the two a TypeScript project asks for most: a
 * `typescript`-like one (~3,400 versions, each with its changelog: ~11 MB) and an
 * `@types/node`-like one (~2,100 versions without: ~4.5 MB); and the 40 MB one (~11,800
 * versions with changelogs) of the throughput row.
 */
const DOCUMENTS = {
  typescript: { name: 'typescript-like', versions: 3400, notes: true },
  typesNode: { name: 'types-node-like', versions: 2100, notes: false },
  huge: { name: 'huge-document', versions: 11_800, notes: true },
}
const HOT_TARBALL = { name: 'hot-tarball', bytes: 316 * 1000 }

/** The issue's targets for the client's view of the registry (issue 13, second table). */
export const TARGETS = {
  coldCi: 1.05,
  warmCi: 1.05,
  publishP50Ms: 50,
  publishP99Ms: 200,
  hugeRatio: 0.8,
  packumentRatio: 1.0,
  tarballRatio: 0.8,
  hwmKb: 160 * 1024,
}

/**
 * The client mode of the bench: one `serve` on an empty storage folder proxying a fake uplink on
 * 127.0.0.1, and nginx over the same bytes, measured in one run, in this order:
 * 1. cold `npm ci` of a ~700-package project through the server (nothing stored) between two
 *    runs of the same `npm ci` straight from the fake uplink (the lockfile made against the
 *    uplink, so the store stays empty until the cold run);
 * 2. warm `npm ci` through the server against nginx serving the project's tarballs (the
 *    lockfile's install asks for no packument), alternating, `WARM_ROUNDS` rounds, each with a fresh npm cache;
 * 3. the hot rows (full and abbreviated packument of the typescript-like and types-node-like
 *    documents, their first GET a cold fill; the 316 kB tarball), server then nginx per row,
 *    `HOT_ROUNDS` rounds;
 * 4. 100 publishes by 10 concurrent publishers on the storage folder: p50, p99;
 * 5. the server's VmHWM so far: the lifetime row;
 * 6. the 40 MB document (cold fill, then 10 connections, server then nginx), and VmHWM again.
 * Returns the results object (see renderClient).
 */
export async function runClient({ root, dir, log, cleanups, stopped, onServer, track, only = null, duration = 7, startupTimeoutMs = 20_000, profileDir = null }) {
  const began = performance.now()
  const results = {
    date: new Date().toISOString(),
    environment: { node: process.version, platform: `${process.platform} ${os.release()}`, cpus: os.cpus().length, loadAverageAtStart: loadAverage() },
    mode: { duration, hotConnections: HOT_CONNECTIONS, hugeConnections: HUGE_CONNECTIONS, warmRounds: WARM_ROUNDS, hotRounds: HOT_ROUNDS },
    fixtures: {},
    server: null,
    npm: null,
    hot: [],
    publish: null,
    huge: null,
    hwmKb: {},
    coldFillMs: {},
    profile: null,
    targets: [],
    problems: [],
    elapsedS: null,
  }

  // As in the main bench: autocannon builds a string of every body unless told not to, which
  // caps it far below either server on documents of megabytes.
  results.mode.bodiesDiscarded = discardResponseBodies()
  log('client: building the fixtures (project, hot documents, 40 MB document)')
  const upstream = await startUpstream()
  cleanups.push(() => upstream.close())
  // Only what the phases to run need: the 40 MB document alone takes ~30 s to build on a loaded machine.
  const wanted = (name) => !only || only.test(name)
  const project = buildProject(upstream.url, { count: wanted('cold-ci') || wanted('warm-ci') ? PROJECT_PACKAGES : 1 })
  upstream.serve(project.routes)
  const rand = prng(0xc11e)
  const routes = new Map()
  const docs = {}
  for (const [key, spec] of Object.entries(DOCUMENTS)) {
    if (wanted(key === 'huge' ? 'huge' : 'hot')) docs[key] = documentFixture(upstream.url, spec.name, { ...spec, rand, routes })
  }
  const tarball = tarballFixture(upstream.url, HOT_TARBALL.name, HOT_TARBALL.bytes, { rand, routes })
  upstream.serve(routes)
  routes.clear()
  results.fixtures = { project: project.info, documents: docs, tarball: { name: tarball.name, bytes: tarball.bytes } }

  const found = ensureNginx({ timeoutMs: 180_000, log })
  if (!found.bin) throw new Error(`the client mode compares with nginx, and there is none: ${found.notes.join('; ')}`)

  if (profileDir) await mkdir(profileDir, { recursive: true })
  const nodeArgs = profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : []
  const server = await launchServer({ root, dir, upstreamUrl: upstream.url, timeoutMs: startupTimeoutMs, nodeArgs })
  onServer(server)
  cleanups.push(() => server.stop())
  const { url } = await server.ready
  // Profiled, the CPU and latency figures include the profiler's own cost.
  results.server = { url, pid: server.pid, profiled: Boolean(profileDir) }
  const hwm = (phase) => (results.hwmKb[phase] = readMemory(server.pid)?.hwmKb ?? null)
  hwm('started')
  log(`client: server up at ${url} (pid ${server.pid})`)

  const nginxFor = async (label, files) => {
    const prefix = await mkdtemp(path.join(os.tmpdir(), `sinopia-bench-client-${label}-`))
    cleanups.push(() => rm(prefix, { recursive: true, force: true }))
    const started = await startNginx({ bin: found.bin, prefix, files })
    cleanups.push(() => started.stop())
    return started
  }

  // A phase that fails is reported as a problem and the others still run: the table shows what was measured.
  const phase = async (name, fn, run = wanted(name)) => {
    if (stopped() || !run) return
    try {
      await fn()
    } catch (error) {
      results.problems.push(`${name}: ${error?.message ?? error}`)
    }
  }
  /** The first GET of a document: its cold fill (slow on a loaded machine: bounded by 3 minutes, not the 20 s of a warm GET). */
  const coldFill = async (name, headers) => {
    const t = performance.now()
    const first = await get(`${url}${name}`, { headers, timeoutMs: 180_000 })
    results.coldFillMs[name] = Math.round(performance.now() - t)
    if (first.status !== 200) results.problems.push(`cold fill of ${name}: answered ${first.status}`)
  }

  // The cold run fills the store the warm runs read: it runs whenever either is asked for.
  await phase(
    'cold-ci',
    async () => {
      results.npm = await npmRows({ dir, project, upstream, url, serverPid: server.pid, nginxFor, log, track, stopped, warmRounds: wanted('warm-ci') ? WARM_ROUNDS : 0, problems: results.problems })
      hwm('after npm ci')
    },
    wanted('cold-ci') || wanted('warm-ci'),
  )

  await phase('hot', async () => {
    // The hot rows, after a cold fill of each document.
    const hot = [
      ...[docs.typescript, docs.typesNode].flatMap((doc) => [
        { name: `${doc.name} full`, kind: 'packument', path: `/${doc.name}`, nginxPath: `/${doc.name}/full`, headers: { accept: 'application/json' } },
        { name: `${doc.name} abbreviated`, kind: 'packument', path: `/${doc.name}`, nginxPath: `/${doc.name}/abbreviated`, headers: { accept: ABBREVIATED } },
      ]),
      { name: `tarball ${Math.round(tarball.bytes / 1000)} kB`, kind: 'tarball', path: `/${tarball.name}/-/${tarball.file}`, nginxPath: `/${tarball.file}`, headers: { accept: 'application/octet-stream' } },
    ]
    for (const doc of [docs.typescript, docs.typesNode]) await coldFill(doc.name, { accept: 'application/json' })
    const warmed = await warm(url, hot)
    results.problems.push(...warmed.problems.map((p) => `warm-up ${p}`))
    hwm('after cold fills')
    const copies = await bytesForNginx(url, hot)
    const nginx = await nginxFor('hot', copies.files)
    results.problems.push(...(await checkNginx(nginx.url, hot, copies.expected)))
    for (const scenario of hot) results.hot.push({ name: scenario.name, kind: scenario.kind, bytes: copies.expected[scenario.name].body.length, rounds: [] })
    for (let round = 0; round < HOT_ROUNDS && !stopped(); round++) {
      for (const [i, scenario] of hot.entries()) {
        if (stopped()) break
        const pair = await sideBySide({ url, nginxUrl: nginx.url, scenario, connections: HOT_CONNECTIONS, duration, log, problems: results.problems })
        results.hot[i].rounds.push(pair)
      }
    }
    await nginx.stop()
    hwm('after hot rows')
  })

  await phase('publish', async () => {
    log('client: 100 publishes by 10 concurrent publishers')
    const agent = new http.Agent({ keepAlive: true, maxSockets: 20 })
    cleanups.push(async () => agent.destroy())
    const token = await addUser(url, agent, 'bench-client')
    results.publish = await publishLoad([{ url }], 'bench-client-pub', token, agent, stopped)
    results.problems.push(...results.publish.problems.map((p) => `publish: ${p}`))
    hwm('after publish')
  })
  // The lifetime row: everything but the 40 MB document, which is measured last and reported apart.
  hwm('before 40 MB')

  await phase('huge', async () => {
    const scenario = { name: `${docs.huge.name} full`, path: `/${docs.huge.name}`, nginxPath: '/huge/full', headers: { accept: 'application/json' } }
    log(`client: cold fill of the ${(docs.huge.bytes / 1e6).toFixed(1)} MB document`)
    await coldFill(docs.huge.name, scenario.headers)
    hwm('after 40 MB cold fill')
    const copies = await bytesForNginx(url, [scenario])
    const nginx = await nginxFor('huge', copies.files)
    results.problems.push(...(await checkNginx(nginx.url, [scenario], copies.expected)))
    const pair = await sideBySide({ url, nginxUrl: nginx.url, scenario, connections: HUGE_CONNECTIONS, duration, log, problems: results.problems })
    await nginx.stop()
    results.huge = { name: scenario.name, bytes: copies.expected[scenario.name].body.length, coldMs: results.coldFillMs[docs.huge.name], ...pair }
    hwm('after 40 MB')
  })
  if (!server.alive()) results.problems.push(`the server exited during the run: ${JSON.stringify(await server.exited)}`)
  else if (profileDir) {
    // The profile is written when the server exits: stop it now (SIGTERM, graceful).
    await server.stop()
    results.profile = await mainThreadProfile(profileDir, server.pid)
    if (!results.profile) results.problems.push(`no CPU profile appeared in ${profileDir} (did the server exit cleanly?)`)
  }

  results.targets = clientTargets(results)
  results.elapsedS = Math.round((performance.now() - began) / 100) / 10
  return results
}

/** The server's tarball answers so far from its metrics, `{ count, sumS }`, or null (metrics off or unreadable). */
async function tarballLatency(url) {
  try {
    const answer = await get(`${url}-/metrics`)
    if (answer.status !== 200) return null
    const text = answer.body.toString()
    const value = (metric) => Number(new RegExp(`^${metric}\\{route="tarball"\\} (\\S+)$`, 'm').exec(text)?.[1] ?? 0)
    return { count: value('sinopia_http_request_duration_seconds_count'), sumS: value('sinopia_http_request_duration_seconds_sum') }
  } catch {
    return null
  }
}

/** One row on the server, then on nginx: `{ sinopia, nginx, ratio }` (req/s server / nginx). */
async function sideBySide({ url, nginxUrl, scenario, connections, duration, log, problems }) {
  const pair = {}
  for (const [side, base, at] of [
    ['sinopia', url, scenario.path],
    ['nginx', nginxUrl, scenario.nginxPath],
  ]) {
    log(`client: ${scenario.name} on ${side}: ${duration} s, ${connections} connections`)
    const r = await measure(base + at.slice(1), scenario, { connections, duration, track: () => undefined })
    pair[side] = { reqPerSec: r.reqPerSec, mbPerSec: Math.round(r.mbPerSec), p50Ms: r.latencyMs.p50, p99Ms: r.latencyMs.p99, requests: r.requests }
    if (r.errors + r.non2xx > 0) problems.push(`${side} ${scenario.name}: ${r.errors} errors, ${r.non2xx} non-2xx`)
    await new Promise((resolve) => setTimeout(resolve, 300))
  }
  pair.ratio = pair.nginx.reqPerSec > 0 ? round2(pair.sinopia.reqPerSec / pair.nginx.reqPerSec) : null
  return pair
}

/**
 * The npm rows. The lockfile is made by `npm install --package-lock-only` straight against the
 * fake uplink, so nothing reaches the server before its cold run; each project folder has the
 * lockfile with its own host. Every run has a fresh npm cache.
 */
async function npmRows({ dir, project, upstream, url, serverPid, nginxFor, log, track, stopped, warmRounds, problems }) {
  const out = { installed: null, cold: { upstream: [], sinopia: null }, warm: { sinopia: [], nginx: [] } }
  const folder = async (label, registryUrl) => {
    const cwd = path.join(dir, `project-${label}`)
    await mkdir(cwd, { recursive: true })
    await writeFile(path.join(cwd, 'package.json'), `${JSON.stringify({ name: `bench-${label}`, version: '1.0.0', private: true, dependencies: project.rootDependencies }, null, 2)}\n`)
    const { home, args } = await isolatedNpm(path.join(dir, `npm-${label}`), registryUrl)
    return { cwd, home, args, registryUrl }
  }
  const direct = await folder('upstream', upstream.url)
  log(`client: npm install --package-lock-only of ${Object.keys(project.rootDependencies).length} root dependencies from the fake uplink`)
  const lock = await runNpm(['install', '--package-lock-only', `--cache=${path.join(dir, 'npm-cache-lock')}`, ...direct.args], { cwd: direct.cwd, home: direct.home, track, timeoutMs: NPM_TIMEOUT_MS })
  await rm(path.join(dir, 'npm-cache-lock'), { recursive: true, force: true })
  if (lock.code !== 0) {
    problems.push(`npm install --package-lock-only failed (${lock.code}): ${lock.output.slice(-1500)}`)
    return out
  }
  const lockText = await readFile(path.join(direct.cwd, 'package-lock.json'), 'utf8')
  out.installed = Object.keys(JSON.parse(lockText).packages ?? {}).filter((key) => key.includes('node_modules/')).length
  const through = await folder('sinopia', url)
  await writeFile(path.join(through.cwd, 'package-lock.json'), lockText.replaceAll(upstream.url, url))

  let n = 0
  const ci = async (target, what) => {
    const cache = path.join(dir, `npm-cache-${n++}`)
    await rm(path.join(target.cwd, 'node_modules'), { recursive: true, force: true })
    const run = await runNpm(['ci', `--cache=${cache}`, ...target.args], { cwd: target.cwd, home: target.home, track, timeoutMs: NPM_TIMEOUT_MS })
    await rm(cache, { recursive: true, force: true })
    await rm(path.join(target.cwd, 'node_modules'), { recursive: true, force: true })
    if (run.code !== 0) {
      problems.push(`npm ci ${what} failed (${run.code}): ${run.output.slice(-800)}`)
      return null
    }
    log(`client: npm ci ${what}: ${run.ms} ms`)
    return run.ms
  }

  // Cold: between two runs from the uplink, so a drift of the machine's load shows in both.
  out.cold.upstream.push(await ci(direct, 'from the fake uplink'))
  const uplinkBefore = upstream.counts()
  // The server's CPU over the cold run, all threads and the event loop's alone, and how long it
  // took to answer a tarball on average (its own metrics): steadier than the wall-clock ratio on
  // a loaded machine. npm keeps ~15 requests open, so the install goes at 15 / that latency.
  const cpuBefore = [readCpuSeconds(serverPid), readMainThreadCpuSeconds(serverPid)]
  const tarballsBefore = await tarballLatency(url)
  if (!stopped()) out.cold.sinopia = await ci(through, 'through the server, cold')
  const cpuAfter = [readCpuSeconds(serverPid), readMainThreadCpuSeconds(serverPid)]
  const tarballsAfter = await tarballLatency(url)
  out.cold.uplinkRequests = sum(upstream.counts()) - sum(uplinkBefore)
  const spent = (at) => (cpuBefore[at] === null || cpuAfter[at] === null ? null : round2(cpuAfter[at] - cpuBefore[at]))
  out.cold.serverCpuS = spent(0)
  out.cold.serverMainThreadCpuS = spent(1)
  out.cold.serverCpuMsPerFill = out.cold.serverCpuS === null || !out.cold.uplinkRequests ? null : round2((out.cold.serverCpuS * 1000) / out.cold.uplinkRequests)
  const answered = tarballsBefore && tarballsAfter ? tarballsAfter.count - tarballsBefore.count : 0
  out.cold.tarballs = tarballsBefore && tarballsAfter ? answered : null
  out.cold.tarballMeanMs = answered > 0 ? Math.round(((tarballsAfter.sumS - tarballsBefore.sumS) * 1000) / answered) : null
  if (!stopped()) out.cold.upstream.push(await ci(direct, 'from the fake uplink'))
  out.cold.upstream = out.cold.upstream.filter((ms) => ms !== null)

  // Warm: nginx with the project's tarballs at the server's paths. `npm ci` of a lockfile with
  // `resolved` and `integrity` asks for no packument (the server's counts show none either).
  if (!stopped() && warmRounds > 0) {
    const tarballs = [...project.routes].filter(([urlPath]) => urlPath.includes('/-/'))
    const nginx = await nginxFor('ci', tarballs.map(([urlPath, { body }]) => ({ urlPath, body })))
    const fromNginx = await folder('nginx', nginx.url)
    await writeFile(path.join(fromNginx.cwd, 'package-lock.json'), lockText.replaceAll(upstream.url, nginx.url))
    const uplinkWarm = upstream.counts()
    for (let round = 0; round < warmRounds && !stopped(); round++) {
      out.warm.sinopia.push(await ci(through, `through the server, warm (round ${round + 1})`))
      out.warm.nginx.push(await ci(fromNginx, `from nginx (round ${round + 1})`))
    }
    out.warm.uplinkRequests = sum(upstream.counts()) - sum(uplinkWarm)
    await nginx.stop()
  }
  out.warm.sinopia = out.warm.sinopia.filter((ms) => ms !== null)
  out.warm.nginx = out.warm.nginx.filter((ms) => ms !== null)
  const upstreamMean = out.cold.upstream.length ? out.cold.upstream.reduce((a, b) => a + b, 0) / out.cold.upstream.length : null
  out.cold.ratio = out.cold.sinopia !== null && upstreamMean ? round2(out.cold.sinopia / upstreamMean) : null
  out.warm.medians = { sinopia: out.warm.sinopia.length ? median(out.warm.sinopia) : null, nginx: out.warm.nginx.length ? median(out.warm.nginx) : null }
  out.warm.ratio = out.warm.medians.sinopia && out.warm.medians.nginx ? round2(out.warm.medians.sinopia / out.warm.medians.nginx) : null
  return out
}

/** The table's rows: `{ what, value, target, met }` (met null where nothing was measured). */
export function clientTargets(results) {
  const rows = []
  const row = (what, value, target, met) => rows.push({ what, value, target, met: value === null || value === undefined ? null : met })
  const { npm, publish, huge } = results
  row('cold npm ci through the registry / from the fake uplink', npm?.cold?.ratio ?? null, `<= ${TARGETS.coldCi}x`, npm?.cold?.ratio <= TARGETS.coldCi)
  row('warm npm ci through the registry / from nginx (medians)', npm?.warm?.ratio ?? null, `<= ${TARGETS.warmCi}x`, npm?.warm?.ratio <= TARGETS.warmCi)
  row('publish p50, 10 concurrent publishers (folder), ms', publish?.p50Ms ?? null, `<= ${TARGETS.publishP50Ms} ms`, publish?.p50Ms <= TARGETS.publishP50Ms)
  row('publish p99, 10 concurrent publishers (folder), ms', publish?.p99Ms ?? null, `<= ${TARGETS.publishP99Ms} ms`, publish?.p99Ms <= TARGETS.publishP99Ms)
  row(`40 MB document full, ${HUGE_CONNECTIONS} connections, req/s / nginx`, huge?.ratio ?? null, `>= ${TARGETS.hugeRatio}x`, huge?.ratio >= TARGETS.hugeRatio)
  for (const hot of results.hot) {
    const bar = hot.kind === 'tarball' ? TARGETS.tarballRatio : TARGETS.packumentRatio
    const ratios = hot.rounds.map((r) => r.ratio)
    const worst = ratios.length && ratios.every((r) => r !== null) ? Math.min(...ratios) : null
    row(`hot ${hot.name}, req/s / nginx, worst of ${ratios.length} rounds (${ratios.join(', ')})`, worst, `>= ${bar}x every round`, worst >= bar)
  }
  const hwmKb = results.hwmKb['before 40 MB'] ?? null
  row('server VmHWM over the bench (cold fills of 10 MB documents included), MiB', hwmKb === null ? null : round1(hwmKb / 1024), `<= ${TARGETS.hwmKb / 1024} MiB`, hwmKb <= TARGETS.hwmKb)
  return rows
}

export function renderClient(results) {
  const lines = []
  const { environment, npm, fixtures } = results
  lines.push(`client mode (issue 13, the client's view of the registry), ${results.date}, node ${environment.node}, ${environment.cpus} cpus, load ${environment.loadAverageAtStart.join(' ')}`)
  const docs = Object.values(fixtures.documents ?? {})
    .map((d) => `${d.name} ${d.versions} versions / ${(d.bytes / 1e6).toFixed(1)} MB`)
    .join(', ')
  lines.push(`fixtures: project of ${fixtures.project?.packages} packages (${npm?.installed ?? '?'} installed), ${docs}, tarball ${fixtures.tarball?.bytes} bytes`)
  if (npm) {
    lines.push(`npm ci, ms: cold through the server ${npm.cold.sinopia ?? '-'} (uplink requests ${npm.cold.uplinkRequests ?? '-'}; server CPU ${npm.cold.serverCpuS ?? '-'} s, event loop ${npm.cold.serverMainThreadCpuS ?? '-'} s, ${npm.cold.serverCpuMsPerFill ?? '-'} ms per uplink request; ${npm.cold.tarballs ?? '-'} tarballs answered in ${npm.cold.tarballMeanMs ?? '-'} ms on average), from the fake uplink ${npm.cold.upstream.join(', ') || '-'}`)
    lines.push(`            warm through the server ${npm.warm.sinopia.join(', ') || '-'} (uplink requests ${npm.warm.uplinkRequests ?? '-'}), from nginx ${npm.warm.nginx.join(', ') || '-'}`)
  }
  for (const hot of results.hot) {
    const cells = hot.rounds.map((r) => `${fmt(r.sinopia.reqPerSec)} vs ${fmt(r.nginx.reqPerSec)} req/s (p99 ${r.sinopia.p99Ms} vs ${r.nginx.p99Ms} ms)`)
    lines.push(`hot ${hot.name} (${hot.bytes} bytes): ${cells.join('; ')}`)
  }
  if (results.huge) {
    const h = results.huge
    lines.push(`${h.name} (${h.bytes} bytes): cold fill ${h.coldMs} ms; ${fmt(h.sinopia.reqPerSec)} vs nginx ${fmt(h.nginx.reqPerSec)} req/s (${h.sinopia.mbPerSec} vs ${h.nginx.mbPerSec} MB/s)`)
  }
  if (results.publish) {
    const p = results.publish
    lines.push(`publish: ${p.publishes} by 10 publishers, ${p.failed} failed, ${p.perSec}/s, p50 ${p.p50Ms} p99 ${p.p99Ms} max ${p.maxMs} ms (alone: p50 ${p.alone.p50Ms} p99 ${p.alone.p99Ms} ms)`)
  }
  lines.push(`cold fills, ms: ${Object.entries(results.coldFillMs).map(([name, ms]) => `${name} ${ms}`).join(', ') || '-'}`)
  lines.push(`server VmHWM, MiB: ${Object.entries(results.hwmKb).map(([phase, kb]) => `${phase} ${kb === null ? '-' : round1(kb / 1024)}`).join(', ')}`)
  lines.push('')
  const width = Math.max(...results.targets.map((t) => t.what.length))
  lines.push(`${'figure'.padEnd(width)}  ${'value'.padStart(8)}  ${'target'.padEnd(20)}  result`)
  for (const t of results.targets) {
    lines.push(`${t.what.padEnd(width)}  ${String(t.value ?? '-').padStart(8)}  ${t.target.padEnd(20)}  ${t.met === null ? 'not measured' : t.met ? 'met' : 'MISSED'}`)
  }
  if (results.problems.length) lines.push('', 'problems:', ...results.problems.map((p) => `  ${p}`))
  if (results.profile) lines.push('', renderProfile(results.profile.summary, `server CPU profile ${results.profile.file}`))
  lines.push('', `elapsed ${results.elapsedS} s`)
  return `${lines.join('\n')}\n`
}

function sum(counts) {
  return Object.values(counts).reduce((a, b) => a + b, 0)
}

function loadAverage() {
  return os.loadavg().map((n) => Math.round(n * 100) / 100)
}

const fmt = (n) => (n >= 100 ? Math.round(n) : Math.round(n * 10) / 10)
const round1 = (n) => Math.round(n * 10) / 10
const round2 = (n) => Math.round(n * 100) / 100

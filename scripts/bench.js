#!/usr/bin/env node
// Measures the built server (`npm run bench` builds first) against a fake uplink on 127.0.0.1,
// side by side with nginx serving the very bytes sinopia served: cold fetches shared by
// concurrent clients, warm throughput and latency of packuments and tarballs (sinopia, then
// nginx, same autocannon settings), peak RSS, and `npm ci` through the server against
// `npm ci --offline` from npm's own cache. Prints every figure with its ratio and target.
//   node scripts/bench.js [--quick] [--json FILE] [--profile DIR] [--npm-profile DIR] [--no-nginx] [--no-npm-ci]
//                         [--stock-autocannon] [--nginx-workers N] [--duration S] [--only REGEX]
// --profile DIR runs the server under `node --cpu-prof` and summarizes the profile it writes
// on exit; --npm-profile DIR adds one profiled `npm ci` of each kind and says where npm's main
// thread spent its time; --only runs the load scenarios whose name matches.
//   node scripts/bench.js --soak SECONDS [--json FILE]
// --soak runs only the soak mode (scripts/bench/soak.js), for 10 to 3600 s: mixed load (full and
// abbreviated packuments, tarballs, 304s, a publish every 3 s, a search every second) on a
// server with the quick fixtures; prints the server's RSS and open-fd growth (sampled every
// 10 s) and errors and p99 per kind; JSON to FILE (default bench-results/soak.json).
//   node scripts/bench.js --outage [--packages N] [--json FILE]
// --outage runs only the outage mode (scripts/bench/outage.js): `serve` on a store of N cached
// packages (default 5,000) with the uplink down, asked for all of them; prints its peak RSS (VmHWM).
//   node scripts/bench.js --keepalive [--packages N] [--short-timeout S] [--json FILE]
// --keepalive runs only the keep-alive mode (scripts/bench/keepalive.js): `npm ci` of a flat
// project of N packages (default 2,000) through `serve`, cold and warm, under autocannon load and
// with npm paused twice for S + 2 s (a client stalled by load), with the default keep-alive timeout
// and with S seconds (default 1); counts npm's retries and resets, the server's connections and
// non-2xx. Exit 1 on a reset or failure with the default timeout only (with S they are expected).
// Takes about 4 minutes on 2 loaded cores (each npm ci is stopped after 4 minutes, so at most ~17).
//   node scripts/bench.js --scale SIZES [--keep DIR] [--tarballs-per-package N] [--json FILE]
// --scale runs only the scale mode (scripts/bench/scale.js): for each size (10k, or 10k,30k,100k:
// packages), a synthetic store written through the store interface (N tarballs per package,
// default 10, ten times that for 1 in 100 packages), then serve's start-up, search build, idle RSS,
// warm req/s and search p99, and `storage info`, `verify`, `lock-sync --check` of 2,000 packages and
// `prune --max-size` (10 %) on it; one table with the growth factor. --keep DIR keeps the stores
// there and reuses them. Measured on 2 cores shared with other work (load average 7-11): the store
// is written at ~210 tarballs/s (500/s on an idle machine), so 10k (109,000 tarballs) takes ~8.5 min
// to write and ~10 min to measure (storage info, verify and prune take 1-2 min each at 10k and grow
// linearly). 100k with 10 per package (1.09M tarballs, 13 GB on disk) took 25 min to write at load
// 4 (735 tarballs/s) and 17 min to measure; --tarballs-per-package 1 (109,000 tarballs) writes in
// minutes and measures in ~10. The first start on a store builds the search snapshot (101-107 s at
// 100k packages), later starts load it (7.5-8.5 s).
//   node scripts/bench.js --bundle [--packages N] [--json FILE]
// --bundle runs only the bundle mode (scripts/bench/bundle.js): sizes and times of `bundle create`
// (cold, then from the warm store), `bundle verify` and `bundle import` (into an empty store with no
// uplink, then again) for the bench project's lockfile of N packages (default 615), as the built CLI,
// three rounds. About a minute on 2 loaded cores (each command is stopped after 5 minutes).
//   node scripts/bench.js --client [--duration S] [--only PHASES] [--profile DIR] [--json FILE]
// --client runs only the client mode (scripts/bench/client.js; issue 13's table of the client's
// view of the registry): cold `npm ci` of a ~700-package project through an empty server against
// the same `npm ci` straight from the fake uplink; warm `npm ci` through the server against nginx
// serving the same tarballs; the hot rows (full and abbreviated packuments of a typescript-like
// 11 MB and a types-node-like 4.5 MB document, a 316 kB tarball) against nginx, two rounds;
// publish p50/p99 of 10 concurrent publishers; the server's VmHWM over all of it; then the full
// packument of a 40 MB document at 10 connections against nginx. One table, target and
// met/missed per row. --only cold-ci|warm-ci|hot|publish|huge (a regex) runs only those phases.
// 12-20 minutes on 2 cores at load 20 (9 npm runs of 30-70 s each, each stopped after 3 min;
// cold fills of 30-60 s; every load row 7 s).
//   node scripts/bench.js --backend postgres [--duration S] [--profile DIR] [--json FILE] [--publish-only]
// --backend runs only the backend mode (scripts/bench/backend.js): a throwaway PostgreSQL cluster
// on 127.0.0.1 (scripts/bench/postgres.js, as the tests start it), one `serve` on a folder and two
// on one database; warm req/s of the main bench's packument and tarball rows for fs x1, pg x1
// and pg x2 (S s per cell, default 5) with their ratio to fs x1 (target >= 0.8);
// publish p50/p99 of 10 concurrent publishers (target p99 <= 200 ms); and the delay until a
// version published on one PostgreSQL instance is listed by the other. --profile DIR profiles
// the first PostgreSQL instance. About 2.5 minutes; --publish-only runs the publish rows alone
// (no reads, no visibility), to compare changes to the publish path in well under a minute.
// Exit status: 1 on errors (failed requests, wrong bytes, a crash), 0 otherwise, whether or not
// the ratio targets are met (they are reported, not enforced).
import { existsSync } from 'node:fs'
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { performance } from 'node:perf_hooks'
import { gzipSync } from 'node:zlib'
import { parseOptions } from './bench/args.js'
import { coldBurst, packumentCheck, tarballCheck } from './bench/cold.js'
import { buildFixtures } from './bench/fixtures.js'
import { get } from './bench/http.js'
import { bytesForNginx, checkNginx, discardResponseBodies, measure, scenarios, warm } from './bench/load.js'
import { renderKeepalive, runKeepalive } from './bench/keepalive.js'
import { ensureNginx, startNginx } from './bench/nginx.js'
import { npmCiComparison } from './bench/npmci.js'
import { mainThreadProfile, renderProfile } from './bench/profile.js'
import { buildProject } from './bench/project.js'
import { evaluateTargets, renderReport } from './bench/report.js'
import { launchServer, readCpuSeconds, readMemory, readProc, sampleMemory } from './bench/server.js'
import { renderBundle, runBundle } from './bench/bundle.js'
import { renderOutage, runOutage } from './bench/outage.js'
import { parseSizes, renderScale, runScale } from './bench/scale.js'
import { renderBackend, runBackend } from './bench/backend.js'
import { renderClient, runClient } from './bench/client.js'
import { runSoak } from './bench/soak.js'
import { renderSoak } from './bench/soak-stats.js'
import { stopList } from './bench/stops.js'
import { countsSince, startUpstream } from './bench/upstream.js'

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const USAGE = [
  'usage: node scripts/bench.js [--quick] [--json FILE] [--profile DIR] [--npm-profile DIR] [--no-nginx] [--no-npm-ci] [--stock-autocannon] [--nginx-workers N] [--duration S] [--only REGEX]',
  '       node scripts/bench.js --soak SECONDS [--json FILE]   mixed load for 10..3600 s (packuments, tarballs, 304s, a publish every 3 s,',
  '                                                           a search every second); server RSS and open fds every 10 s; errors and p99 per kind',
  '       node scripts/bench.js --outage [--packages N] [--json FILE]   serve N cached packages (default 5000) with the uplink down; peak RSS',
  '       node scripts/bench.js --keepalive [--packages N] [--short-timeout S] [--json FILE]   npm ci of N packages (default 2000), cold and warm,',
  '                                                           under load and paused twice for S + 2 s, with the default keep-alive timeout',
  '                                                           and with S s (default 1); npm retries and resets, server connections and',
  '                                                           non-2xx; exit 1 on a reset with the default. About 4 min (each npm ci is',
  '                                                           stopped after 4 min, so at most ~17 min in all)',
  '       node scripts/bench.js --scale 10k[,30k,100k] [--keep DIR] [--tarballs-per-package N] [--json FILE]   a synthetic store of',
  '                                                           each size (N tarballs per package, default 10); start-up, search, RSS,',
  '                                                           req/s and the maintenance commands; one table with the growth factor',
  '       node scripts/bench.js --bundle [--packages N] [--json FILE]   bundle create (cold, warm), verify and import of the bench',
  '                                                           project\'s lockfile of N packages (default 615): sizes and times',
  '       node scripts/bench.js --client [--duration S] [--only PHASES] [--profile DIR] [--json FILE]   issue 13\'s client table:',
  '                                                           cold and warm npm ci (vs the uplink, vs nginx), hot rows and a',
  '                                                           40 MB document vs nginx, publish p50/p99, server VmHWM; target and',
  '                                                           met/missed per row. --only cold-ci,',
  '                                                           warm-ci, hot, publish, huge (a regex). About 12-20 min on 2 loaded cores',
  '       node scripts/bench.js --backend postgres [--duration S] [--profile DIR] [--json FILE] [--publish-only]   folder vs',
  '                                                           PostgreSQL (1 and 2 instances): warm req/s, publish p50/p99,',
  '                                                           cross-instance visibility (--publish-only: the publish rows alone)',
].join('\n')
const STARTUP_TIMEOUT_MS = 20_000
const COLD_CLIENTS = 50
const MEMORY_TARGET_KB = 200 * 1024

const options = parseOptions(
  {
    quick: { type: 'boolean', default: false },
    json: { type: 'string' },
    profile: { type: 'string' },
    'npm-profile': { type: 'string' },
    'no-nginx': { type: 'boolean', default: false },
    'no-npm-ci': { type: 'boolean', default: false },
    'stock-autocannon': { type: 'boolean', default: false },
    'nginx-workers': { type: 'string', default: '1' },
    duration: { type: 'string' },
    only: { type: 'string' },
    soak: { type: 'string' },
    outage: { type: 'boolean', default: false },
    keepalive: { type: 'boolean', default: false },
    bundle: { type: 'boolean', default: false },
    packages: { type: 'string' },
    'short-timeout': { type: 'string', default: '1' },
    scale: { type: 'string' },
    keep: { type: 'string' },
    'tarballs-per-package': { type: 'string', default: '10' },
    backend: { type: 'string' },
    'publish-only': { type: 'boolean', default: false },
    client: { type: 'boolean', default: false },
  },
  USAGE,
)
const nginxWorkers = Number(options['nginx-workers'])
const durationOverride = options.duration === undefined ? null : Number(options.duration)
if (!Number.isInteger(nginxWorkers) || nginxWorkers < 1 || (durationOverride !== null && !(durationOverride > 0 && durationOverride <= 60))) {
  console.error(`--nginx-workers takes a whole number >= 1, --duration seconds in (0, 60]\n${USAGE}`)
  process.exit(2)
}
const soakSeconds = options.soak === undefined ? null : Number(options.soak)
if (soakSeconds !== null && !(Number.isInteger(soakSeconds) && soakSeconds >= 10 && soakSeconds <= 3600)) {
  console.error(`--soak takes whole seconds in [10, 3600]\n${USAGE}`)
  process.exit(2)
}
const packageCount = Number(options.packages ?? (options.keepalive ? 2000 : options.bundle ? 615 : 5000))
if (!(Number.isInteger(packageCount) && packageCount >= 1 && packageCount <= 100_000)) {
  console.error(`--packages takes a whole number in [1, 100000]\n${USAGE}`)
  process.exit(2)
}
const shortTimeoutS = Number(options['short-timeout'])
if (!(Number.isInteger(shortTimeoutS) && shortTimeoutS >= 1 && shortTimeoutS <= 30)) {
  console.error(`--short-timeout takes whole seconds in [1, 30]\n${USAGE}`)
  process.exit(2)
}
const scaleSizes = options.scale === undefined ? null : parseSizes(options.scale)
const perPackage = Number(options['tarballs-per-package'])
if ((options.scale !== undefined && !scaleSizes) || !(Number.isInteger(perPackage) && perPackage >= 1 && perPackage <= 100)) {
  console.error(`--scale takes sizes like 10k or 10k,100k (100 to 1m packages), --tarballs-per-package a whole number in [1, 100]\n${USAGE}`)
  process.exit(2)
}
if (options.backend !== undefined && options.backend !== 'postgres') {
  console.error(`--backend takes postgres (the only store besides the default folder)\n${USAGE}`)
  process.exit(2)
}
const mode = {
  quick: options.quick,
  duration: durationOverride ?? (options.quick ? 1 : 7),
  connections: options.quick ? 10 : 50,
  nginxWorkers,
  npmCi: !options.quick && !options['no-npm-ci'],
  npmCiRounds: 3,
  npmCiBudgetMs: 150_000,
}
const modeName = options.client ? 'client' : scaleSizes ? 'scale' : options.backend ? 'backend' : options.bundle ? 'bundle' : options.keepalive ? 'keepalive' : options.outage ? 'outage' : soakSeconds === null ? 'bench' : 'soak'
const jsonFile = path.resolve(options.json ?? path.join(ROOT, `bench-results/${modeName}.json`))
const profileDir = options.profile ? path.resolve(options.profile) : null
const npmProfileDir = options['npm-profile'] ? path.resolve(options['npm-profile']) : null

let stopLoad = null
let server = null
let nginx = null
let interrupted = false
// Everything started is stopped through here, last started first, once, whatever ends the run.
const cleanups = stopList({
  onSignal: () => {
    interrupted = true
    stopLoad?.()
  },
})
// Last resort if the process ends any other way: never leave the server or nginx running.
process.on('exit', () => {
  if (server?.alive()) process.kill(server.pid, 'SIGKILL')
  nginx?.killNow()
})

/** The tarball row measured with `metrics: {enabled: false}` and with metrics on, one after the other. */
async function metricsCost(server, url, scenario) {
  const sides = {}
  for (const [side, extra] of [['off', ['metrics:', '  enabled: false']], ['on', []]]) {
    await server.reconfigure(extra)
    // The endpoint answers 404 exactly while the counting is off.
    const want = side === 'off' ? 404 : 200
    const deadline = Date.now() + 10_000
    while ((await get(`${url}-/metrics`)).status !== want) {
      if (Date.now() > deadline) return { problem: `the metrics switch did not apply within 10 s (${side})` }
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
    log(`load ${scenario.name} with metrics ${side}: ${mode.duration} s, ${mode.connections} connections`)
    const result = await measure(url + scenario.path.slice(1), scenario, { connections: mode.connections, duration: mode.duration, track: (stop) => (stopLoad = stop) })
    sides[side] = { reqPerSec: result.reqPerSec, p99: result.latencyMs.p99, errors: result.errors + result.non2xx }
    await new Promise((resolve) => setTimeout(resolve, 300))
  }
  return { scenario: scenario.name, ...sides, ratio: sides.off.reqPerSec > 0 ? Math.round((sides.on.reqPerSec / sides.off.reqPerSec) * 1000) / 1000 : null }
}

async function main() {
  const began = performance.now()
  if (!existsSync(path.join(ROOT, 'dist/commands/serve.js'))) {
    throw new Error('dist/ is missing: run `npm run build` first (`npm run bench` does both)')
  }
  if (soakSeconds !== null) return alone('sinopia-soak-', runSoak, renderSoak, { seconds: soakSeconds })
  if (options.outage) return alone('sinopia-outage-', runOutage, renderOutage, { packages: packageCount })
  if (scaleSizes) return alone('sinopia-scale-', runScale, renderScale, { sizes: scaleSizes, perPackage, keep: options.keep })
  if (options.client) return alone('sinopia-client-', runClient, renderClient, {
      duration: durationOverride ?? 7,
      track: (stop) => (stopLoad = stop),
      only: options.only ? new RegExp(options.only, 'i') : null,
      profileDir,
    })
  if (options.backend) return alone('sinopia-backend-', runBackend, renderBackend, { duration: durationOverride ?? 5, profileDir, publishOnly: options['publish-only'] })
  if (options.keepalive) return alone('sinopia-keepalive-', runKeepalive, renderKeepalive, { packages: packageCount, shortTimeoutS })
  if (options.bundle) return alone('sinopia-bundle-', runBundle, renderBundle, { packages: packageCount })
  const results = {
    date: new Date().toISOString(),
    environment: {
      node: process.version,
      platform: `${process.platform} ${os.release()}`,
      cpus: os.cpus().length,
      cpu: os.cpus()[0]?.model,
      loadAverageAtStart: os.loadavg().map((n) => Math.round(n * 100) / 100),
    },
    mode,
    client: null,
    fixtures: null,
    server: null,
    nginx: null,
    cold: [],
    warmUp: null,
    scenarios: [],
    gzipOnceMs: {},
    upstreamDuringLoad: null,
    npmCi: null,
    memory: null,
    targets: [],
    profile: null,
    notes: [],
    serverOutput: [],
    problems: [],
    elapsedS: null,
  }

  // The client: autocannon, with its per-chunk string building switched off unless asked.
  const discarding = options['stock-autocannon'] ? false : discardResponseBodies()
  results.client = {
    tool: 'autocannon',
    version: JSON.parse(await readFile(path.join(ROOT, 'node_modules/autocannon/package.json'), 'utf8')).version,
    bodiesDiscarded: discarding,
  }
  if (!options['stock-autocannon'] && !discarding) {
    results.notes.push('could not switch off autocannon\'s body strings (its internals changed?): the client may cap binary rows near 60 MB/s')
  }

  const dir = await mkdtemp(path.join(os.tmpdir(), 'sinopia-bench-'))
  cleanups.push(() => rm(dir, { recursive: true, force: true }))
  const upstream = await startUpstream()
  cleanups.push(() => upstream.close())
  const fixtures = buildFixtures(upstream.url, { quick: mode.quick })
  upstream.serve(fixtures.routes)
  const project = mode.npmCi ? buildProject(upstream.url) : null
  if (project) upstream.serve(project.routes)
  results.fixtures = { ...fixtures.info, project: project?.info ?? null }
  const { packument, tarballs } = fixtures.info

  if (profileDir) await mkdir(profileDir, { recursive: true })
  const nodeArgs = profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : []
  server = await launchServer({ root: ROOT, dir, upstreamUrl: upstream.url, timeoutMs: STARTUP_TIMEOUT_MS, nodeArgs })
  cleanups.push(() => server.stop())
  const { url, startupMs } = await server.ready
  const sampler = sampleMemory(server.pid)
  cleanups.push(async () => sampler.stop())
  results.server = { url, pid: server.pid, startupMs, profiled: Boolean(profileDir) }
  log(`server up at ${url} (pid ${server.pid}) in ${startupMs} ms; packument ${packument.versions} versions / ${(packument.bytes / 1e6).toFixed(2)} MB`)

  // Cold: fresh storage, nothing fetched yet. The tarball is asked for before its packument,
  // as a lockfile install does.
  const big = tarballs.at(-1)
  const cold = [
    {
      name: `${packument.name} packument`,
      path: `/${packument.name}`,
      headers: { accept: 'application/json' },
      check: packumentCheck({ versions: packument.versions, serverUrl: url }),
      uplinkCalls: [`packument:${packument.name}`],
    },
    {
      name: `${big.name} tarball`,
      path: `/${big.name}/-/${big.file}`,
      headers: {},
      check: tarballCheck(big),
      uplinkCalls: [`packument:${big.name}`, `tarball:${big.name}`],
    },
  ]
  for (const c of cold) {
    const result = await coldBurst({
      url: url + c.path.slice(1),
      clients: COLD_CLIENTS,
      upstream,
      headers: c.headers,
      check: c.check,
      uplinkKeys: c.uplinkCalls,
    })
    result.name = c.name
    result.peakRssKb = sampler.window()
    results.cold.push(result)
    for (const problem of result.problems) results.problems.push(`cold ${c.name}: ${problem}`)
    // Exactly one uplink request of each expected kind, and none of any other.
    for (const key of new Set([...c.uplinkCalls, ...Object.keys(result.upstreamRequests)])) {
      const n = result.upstreamRequests[key] ?? 0
      const want = c.uplinkCalls.includes(key) ? 1 : 0
      if (n !== want) results.problems.push(`cold ${c.name}: ${COLD_CLIENTS} concurrent clients caused ${n} uplink requests ${key}, expected ${want}`)
    }
    log(`cold ${c.name}: ${result.allAnsweredMs} ms, uplink ${JSON.stringify(result.upstreamRequests)}, all answered ${result.afterUplinkMs} ms after the uplink's answer`)
  }

  let list = scenarios({ packageName: packument.name, tarballs })
  if (options.only) {
    const only = new RegExp(options.only, 'i')
    list = list.filter((s) => only.test(s.name))
    if (list.length === 0) throw new Error(`--only ${options.only} matches no scenario`)
  }
  results.warmUp = await warm(url, list)
  results.problems.push(...results.warmUp.problems.map((p) => `warm-up ${p}`))
  // From here on everything is cached: the uplink must not be asked again.
  const beforeLoad = upstream.counts()

  // What one gzip of each document costs: the bar the gzip rows' CPU per response is held to.
  const copies = await bytesForNginx(url, list)
  for (const file of copies.files) {
    if (!file.gzip) continue
    const t = performance.now()
    gzipSync(file.body, { level: 6 })
    results.gzipOnceMs[file.urlPath] = Math.round((performance.now() - t) * 10) / 10
  }

  // nginx over the same bytes.
  let found = { bin: null }
  if (!options['no-nginx']) {
    found = ensureNginx({ timeoutMs: mode.quick ? 30_000 : 180_000, log })
    results.nginx = { bin: found.bin, version: found.version ?? null, workers: mode.nginxWorkers, notes: found.notes, url: null }
    results.notes.push(...found.notes)
    if (found.bin) {
      const prefix = await mkdtemp(path.join(os.tmpdir(), 'sinopia-bench-nginx-'))
      cleanups.push(() => rm(prefix, { recursive: true, force: true }))
      try {
        const started = await startNginx({ bin: found.bin, prefix, files: copies.files, workers: mode.nginxWorkers })
        nginx = started
        cleanups.push(() => started.stop())
        results.nginx.url = nginx.url
        results.nginx.pid = nginx.pid
        log(`nginx ${found.version} up at ${nginx.url} (pid ${nginx.pid}, ${mode.nginxWorkers} worker(s)), serving sinopia's bytes`)
        const mismatches = await checkNginx(nginx.url, list, copies.expected)
        results.problems.push(...mismatches)
      } catch (error) {
        results.notes.push(`nginx rows skipped: ${error.message}`)
        nginx = null
      }
    } else {
      results.notes.push('nginx rows skipped: no nginx (see the notes above)')
    }
  } else {
    results.notes.push('nginx rows skipped: --no-nginx')
  }

  for (const scenario of list) {
    if (interrupted) break
    const row = {
      name: scenario.name,
      target: scenario.target,
      issueRow: scenario.issueRow,
      gzip: Boolean(scenario.headers['accept-encoding']),
      nginxPath: scenario.nginxPath,
      bytes: copies.expected[scenario.name].body.length,
      sinopia: null,
      nginx: null,
    }
    results.scenarios.push(row)
    for (const side of nginx ? ['sinopia', 'nginx'] : ['sinopia']) {
      if (interrupted) break
      if (side === 'sinopia' && !server.alive()) {
        results.problems.push(`the server exited during the run: ${JSON.stringify(await server.exited)}`)
        break
      }
      const target = side === 'sinopia' ? url + scenario.path.slice(1) : nginx.url + scenario.nginxPath.slice(1)
      const pid = side === 'sinopia' ? server.pid : nginx.pid
      log(`load ${scenario.name} on ${side}: ${mode.duration} s, ${mode.connections} connections`)
      sampler.window()
      const cpu = cpuMeter(pid, side === 'nginx')
      const result = await measure(target, scenario, { connections: mode.connections, duration: mode.duration, track: (stop) => (stopLoad = stop) })
      if (side === 'sinopia') result.peakRssKb = sampler.window()
      Object.assign(result, cpu())
      result.serverCpuMsPerResponse = result.requests > 0 && result.serverCpuS !== null ? Math.round((result.serverCpuS * 1e5) / result.requests) / 100 : null
      row[side] = result
      if (result.errors + result.non2xx > 0) {
        results.problems.push(
          `${side} ${scenario.name}: ${result.errors} errors (${result.timeouts} of them timeouts), ${result.non2xx} non-2xx (${JSON.stringify(result.statusCodes)})`,
        )
      }
      if (result.requests === 0) results.problems.push(`${side} ${scenario.name}: no request completed`)
      // Let the sockets of the run close before the next one starts.
      await new Promise((resolve) => setTimeout(resolve, 300))
    }
  }
  // What the metrics cost on the hot tarball row: the same run with the counting off (a live
  // config reload), then on again, so the two sides are measured back to back.
  const tarballRow = list.find((s) => s.name.startsWith('tarball'))
  if (tarballRow && !interrupted && server.alive()) results.metricsCost = await metricsCost(server, url, tarballRow)
  results.upstreamDuringLoad = countsSince(beforeLoad, upstream.counts())
  if (nginx) {
    await nginx.stop()
    nginx = null
  }
  // Gzip served from a stored body: the bytes of two GETs are the same object's, and the server
  // spends far less CPU per gzip response than one gzip of the document costs.
  for (const scenario of list.filter((s) => s.headers['accept-encoding'])) {
    const [a, b] = [await get(url + scenario.path.slice(1), { headers: scenario.headers }), await get(url + scenario.path.slice(1), { headers: scenario.headers })]
    if (!a.body.equals(b.body) || a.headers.etag !== b.headers.etag) results.problems.push(`${scenario.name}: two gzip answers differ`)
  }

  if (mode.npmCi && !interrupted) {
    const before = upstream.counts()
    const ci = await npmCiComparison({
      dir,
      registryUrl: url,
      rootDependencies: project.rootDependencies,
      // nginx with the project's tarballs at the paths sinopia serves them at.
      startStatic: found.bin
        ? async () => {
            const prefix = await mkdtemp(path.join(os.tmpdir(), 'sinopia-bench-nginx-ci-'))
            cleanups.push(() => rm(prefix, { recursive: true, force: true }))
            const files = [...project.routes].filter(([p]) => p.includes('/-/')).map(([urlPath, { body }]) => ({ urlPath, body }))
            const started = await startNginx({ bin: found.bin, prefix, files, workers: mode.nginxWorkers })
            nginx = started
            cleanups.push(() => started.stop())
            return started
          }
        : null,
      serverCpuSeconds: () => readCpuSeconds(server.pid),
      rounds: mode.npmCiRounds,
      profileDir: npmProfileDir,
      // What is left of ~4.7 minutes for the whole run, but at least a minute.
      budgetMs: Math.max(60_000, Math.min(mode.npmCiBudgetMs, 280_000 - (performance.now() - began))),
      log,
      track: (stop) => (stopLoad = stop),
      stopped: () => interrupted,
    })
    results.npmCi = ci
    results.problems.push(...ci.problems)
    results.npmCi.peakRssKb = sampler.window()
    // The install fills the server (cold); the ci runs must not go to the uplink at all.
    results.npmCi.uplinkRequestsDuringInstall = Object.values(countsSince(before, upstream.counts())).reduce((a, b) => a + b, 0)
  }
  if (interrupted) results.problems.push('interrupted')

  const memory = server.alive() ? readMemory(server.pid) : null
  const sampledKb = sampler.stop()
  results.memory = memory?.hwmKb
    ? { peakKb: memory.hwmKb, source: 'VmHWM', sampledPeakKb: sampledKb, targetKb: MEMORY_TARGET_KB }
    : { peakKb: sampledKb || null, source: 'VmRSS sampled every 200 ms', sampledPeakKb: sampledKb, targetKb: MEMORY_TARGET_KB }
  // The server logs warnings to stdout and Node's own warnings go to stderr: keep both.
  const { stdout, stderr } = server.output()
  const said = [...stdout.split('\n').filter((line) => !line.includes('listening on')), ...stderr.split('\n')]
  results.serverOutput = said.map((line) => line.trim()).filter(Boolean).slice(-30)

  if (profileDir) {
    // The profile is written when the server exits: stop it now (SIGTERM, graceful).
    await server.stop()
    // The main thread's (the view worker writes a profile of its own).
    results.profile = await mainThreadProfile(profileDir, server.pid)
    if (!results.profile) results.notes.push(`no CPU profile appeared in ${profileDir} (did the server exit cleanly?)`)
  }

  results.targets = evaluateTargets(results)
  results.elapsedS = Math.round((performance.now() - began) / 100) / 10
  await mkdir(path.dirname(jsonFile), { recursive: true })
  await writeFile(jsonFile, `${JSON.stringify(results, null, 2)}\n`)
  process.stdout.write(`\n${renderReport(results)}`)
  if (results.profile) console.log(`\n${renderProfile(results.profile.summary, `server CPU profile ${results.profile.file}`)}`)
  console.log(`\nJSON: ${path.relative(process.cwd(), jsonFile) || jsonFile}`)
  return results.problems.length === 0 ? 0 : 1
}

/**
 * A mode that runs alone (`--soak`: scripts/bench/soak.js, `--outage`: scripts/bench/outage.js,
 * `--keepalive`: scripts/bench/keepalive.js, `--backend`: scripts/bench/backend.js):
 * `run` gets its own temp folder and `settings`; its results go to the JSON file, `render`'s text to stdout.
 */
async function alone(prefix, run, render, settings) {
  const dir = await mkdtemp(path.join(os.tmpdir(), prefix))
  cleanups.push(() => rm(dir, { recursive: true, force: true }))
  const results = await run({
    root: ROOT,
    dir,
    log,
    cleanups,
    stopped: () => interrupted,
    onServer: (started) => (server = started),
    startupTimeoutMs: STARTUP_TIMEOUT_MS,
    ...settings,
  })
  await mkdir(path.dirname(jsonFile), { recursive: true })
  await writeFile(jsonFile, `${JSON.stringify(results, null, 2)}\n`)
  process.stdout.write(`\n${render(results)}`)
  console.log(`\nJSON: ${path.relative(process.cwd(), jsonFile) || jsonFile}`)
  return results.problems.length === 0 ? 0 : 1
}

/**
 * CPU use of a server (with its children: nginx's workers) and of this process (autocannon's
 * client) from now until the returned function is called: % of one core, and server seconds.
 * Tells whether the server or the client was the limit.
 */
function cpuMeter(pid, withChildren) {
  const wall = performance.now()
  const read = () => (withChildren ? groupCpuSeconds(pid) : readCpuSeconds(pid))
  const server = read()
  const client = process.cpuUsage()
  return () => {
    const seconds = (performance.now() - wall) / 1000
    const serverNow = read()
    const used = process.cpuUsage(client)
    const serverCpuS = server === null || serverNow === null ? null : serverNow - server
    return {
      serverCpuS,
      serverCpuPct: serverCpuS === null ? null : Math.round((serverCpuS / seconds) * 100),
      clientCpuPct: Math.round(((used.user + used.system) / 1e6 / seconds) * 100),
    }
  }
}

/** CPU seconds of `pid` and its direct children (nginx's master and workers). */
function groupCpuSeconds(pid) {
  let total = readCpuSeconds(pid)
  if (total === null) return null
  const children = (readProc(pid, `task/${pid}/children`) ?? '').trim().split(/\s+/).filter(Boolean)
  for (const child of children) total += readCpuSeconds(Number(child)) ?? 0
  return total
}

function log(message) {
  console.error(`[bench] ${message}`)
}

let code = 1
try {
  code = await main()
} catch (error) {
  console.error(`bench failed: ${error?.stack ?? error}`)
} finally {
  await cleanups.stopAll()
}
process.exit(code)

#!/usr/bin/env node
// Measures the built server (`npm run bench` builds first) against a fake uplink on 127.0.0.1:
// cold fetches shared by concurrent clients, then warm throughput of packuments and a tarball.
//   node scripts/bench.js [--quick] [--json FILE]
import { existsSync } from 'node:fs'
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { performance } from 'node:perf_hooks'
import { parseArgs } from 'node:util'
import { coldBurst, packumentCheck, tarballCheck } from './bench/cold.js'
import { buildFixtures } from './bench/fixtures.js'
import { measure, scenarios, warm } from './bench/load.js'
import { renderReport } from './bench/report.js'
import { launchServer, readCpuSeconds, readMemory, sampleMemory } from './bench/server.js'
import { countsSince, startUpstream } from './bench/upstream.js'

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const USAGE = 'usage: node scripts/bench.js [--quick] [--json FILE]'
const STARTUP_TIMEOUT_MS = 20_000
const COLD_CLIENTS = 50

let options
try {
  options = parseArgs({
    options: { quick: { type: 'boolean', default: false }, json: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
  }).values
} catch (error) {
  console.error(`${error.message}\n${USAGE}`)
  process.exit(2)
}
if (options.help) {
  console.log(USAGE)
  process.exit(0)
}
const mode = { quick: options.quick, duration: options.quick ? 2 : 10, connections: options.quick ? 10 : 50 }
const jsonFile = path.resolve(options.json ?? path.join(ROOT, 'bench-results/bench.json'))

// Everything started is stopped through here, last started first, once, whatever ends the run.
const cleanups = []
let cleaning = null
function cleanup() {
  cleaning ??= (async () => {
    for (const step of cleanups.reverse()) await step().catch(() => undefined)
  })()
  return cleaning
}
let stopLoad = null
let server = null
let interrupted = false
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => {
    console.error(`\n${signal}: stopping`)
    interrupted = true
    stopLoad?.()
    void cleanup().then(() => process.exit(130))
  })
}
// Last resort if the process ends any other way: never leave the server running.
process.on('exit', () => {
  if (server?.alive()) process.kill(server.pid, 'SIGKILL')
})

async function main() {
  if (!existsSync(path.join(ROOT, 'dist/commands/serve.js'))) {
    throw new Error('dist/ is missing: run `npm run build` first (`npm run bench` does both)')
  }
  const results = {
    date: new Date().toISOString(),
    environment: { node: process.version, platform: `${process.platform} ${os.release()}`, cpus: os.cpus().length, cpu: os.cpus()[0]?.model },
    mode,
    fixtures: null,
    server: null,
    cold: [],
    warmUp: null,
    scenarios: [],
    upstreamDuringLoad: null,
    memory: null,
    serverOutput: [],
    problems: [],
  }

  const dir = await mkdtemp(path.join(os.tmpdir(), 'sinopia-bench-'))
  cleanups.push(() => rm(dir, { recursive: true, force: true }))
  const upstream = await startUpstream()
  cleanups.push(() => upstream.close())
  const fixtures = buildFixtures(upstream.url)
  upstream.serve(fixtures.routes)
  results.fixtures = fixtures.info
  const { packument, tarball } = fixtures.info

  server = await launchServer({ root: ROOT, dir, upstreamUrl: upstream.url, timeoutMs: STARTUP_TIMEOUT_MS })
  cleanups.push(() => server.stop())
  const { url, startupMs } = await server.ready
  const sampler = sampleMemory(server.pid)
  cleanups.push(async () => sampler.stop())
  results.server = { url, pid: server.pid, startupMs }
  log(`server up at ${url} (pid ${server.pid}) in ${startupMs} ms; fixtures ${packument.versions} versions / ${(packument.bytes / 1e6).toFixed(2)} MB`)

  // Cold: fresh storage, nothing fetched yet. The tarball is asked for before its packument,
  // as a lockfile install does.
  const cold = [
    {
      name: `${packument.name} packument`,
      path: `/${packument.name}`,
      headers: { accept: 'application/json' },
      check: packumentCheck({ versions: packument.versions, serverUrl: url }),
      uplinkCalls: [`packument:${packument.name}`],
    },
    {
      name: `${tarball.name} tarball`,
      path: `/${tarball.name}/-/${tarball.file}`,
      headers: {},
      check: tarballCheck(tarball),
      uplinkCalls: [`packument:${tarball.name}`, `tarball:${tarball.name}`],
    },
  ]
  for (const c of cold) {
    const result = await coldBurst({ url: url + c.path.slice(1), clients: COLD_CLIENTS, upstream, headers: c.headers, check: c.check })
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
    log(`cold ${c.name}: ${result.allAnsweredMs} ms, uplink ${JSON.stringify(result.upstreamRequests)}`)
  }

  const beforeLoad = upstream.counts()
  const list = scenarios({ packageName: packument.name, tarballName: tarball.name, tarballFile: tarball.file })
  results.warmUp = await warm(url, list)
  results.problems.push(...results.warmUp.problems.map((p) => `warm-up ${p}`))

  for (const scenario of list) {
    if (interrupted) break
    if (!server.alive()) {
      results.problems.push(`the server exited during the run: ${JSON.stringify(await server.exited)}`)
      break
    }
    log(`load ${scenario.name}: ${mode.duration} s, ${mode.connections} connections`)
    sampler.window()
    const cpu = cpuMeter(server.pid)
    const result = await measure(url, scenario, { connections: mode.connections, duration: mode.duration, track: (stop) => (stopLoad = stop) })
    result.peakRssKb = sampler.window()
    Object.assign(result, cpu())
    results.scenarios.push(result)
    if (result.errors + result.non2xx > 0) {
      results.problems.push(
        `${scenario.name}: ${result.errors} errors (${result.timeouts} of them timeouts), ${result.non2xx} non-2xx (${JSON.stringify(result.statusCodes)})`,
      )
    }
    if (result.requests === 0) results.problems.push(`${scenario.name}: no request completed`)
  }
  results.upstreamDuringLoad = countsSince(beforeLoad, upstream.counts())

  const memory = server.alive() ? readMemory(server.pid) : null
  const sampledKb = sampler.stop()
  results.memory = memory?.hwmKb
    ? { peakKb: memory.hwmKb, source: 'VmHWM', sampledPeakKb: sampledKb }
    : { peakKb: sampledKb || null, source: 'VmRSS sampled every 200 ms', sampledPeakKb: sampledKb }
  // The server logs warnings to stdout and Node's own warnings go to stderr: keep both.
  const { stdout, stderr } = server.output()
  const said = [...stdout.split('\n').filter((line) => !line.includes('listening on')), ...stderr.split('\n')]
  results.serverOutput = said.map((line) => line.trim()).filter(Boolean).slice(-30)

  await mkdir(path.dirname(jsonFile), { recursive: true })
  await writeFile(jsonFile, `${JSON.stringify(results, null, 2)}\n`)
  process.stdout.write(`\n${renderReport(results)}`)
  console.log(`\nJSON: ${path.relative(process.cwd(), jsonFile) || jsonFile}`)
  return results.problems.length === 0 ? 0 : 1
}

/**
 * CPU use of the server and of this process (autocannon's client) from now until the returned
 * function is called, in % of one core: tells whether the server or the client was the limit.
 */
function cpuMeter(pid) {
  const wall = performance.now()
  const server = readCpuSeconds(pid)
  const client = process.cpuUsage()
  return () => {
    const seconds = (performance.now() - wall) / 1000
    const serverNow = readCpuSeconds(pid)
    const used = process.cpuUsage(client)
    return {
      serverCpuPct: server === null || serverNow === null ? null : Math.round(((serverNow - server) / seconds) * 100),
      clientCpuPct: Math.round(((used.user + used.system) / 1e6 / seconds) * 100),
    }
  }
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
  await cleanup()
}
process.exit(code)

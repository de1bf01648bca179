import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { performance } from 'node:perf_hooks'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { ABBREVIATED } from './http.js'
import { countNpmLog, countServerLog } from './keepalive-logs.js'
import { measure } from './load.js'
import { isolatedNpm, runNpm } from './npmci.js'
import { flatLockfile, startFlatProject } from './project.js'
import { launchServer } from './server.js'

/** The extra load during each `npm ci`: this many autocannon connections on one small packument. */
const LOAD_CONNECTIONS = 4
/** One `npm ci` is stopped after this long (its load with it): bounds the whole mode. */
const NPM_TIMEOUT_MS = 240_000
const PROJECT = { name: 'bench-keepalive', version: '1.0.0' }
/**
 * When each `npm ci` is paused (SIGSTOP, then SIGCONT): once the server has been asked for these
 * shares of the project's tarballs in the run. A client stalled by load (starved of CPU, a long GC)
 * leaves its keep-alive sockets idle meanwhile, then reuses them at once. Each pause lasts the
 * short setting's timeout plus STALL_EXTRA_S, so the short setting's server closes them
 * meanwhile and the default's does not. (By progress, not by time: under load npm can spend
 * many seconds queueing its requests before the first one leaves.)
 */
const STALLS_AT = [0.25, 0.6]
const STALL_EXTRA_S = 2
const PROGRESS_POLL_MS = 200
/** Counts the server's connections from inside it (see the file); the server's own code stays as it is. */
const PRELOAD = pathToFileURL(path.join(path.dirname(fileURLToPath(import.meta.url)), 'connections-preload.js')).href

/**
 * The keep-alive mode of the bench: does a long `npm ci` get a reset when it reuses a socket the
 * server is closing as idle? A flat project of `packages` packages (one version each at the top
 * of node_modules, real integrity) is served by the fake uplink; its package-lock.json points at
 * the server under test. For each server setting (the default keep-alive timeout, then
 * `shortTimeoutS` seconds) a fresh `serve` on an empty store gets `npm ci` twice, cold (the server
 * fetches from the uplink) and warm (from its store), each with a fresh npm cache and npm's own
 * socket settings (maxsockets not set), while autocannon keeps LOAD_CONNECTIONS connections busy
 * on the same server and npm is paused twice (see STALLS_AT). Counted per run: npm's retries and
 * resets (from its debug logs), the connections the server accepted and how many carried more than one request (a preload in the
 * server counts them), and per setting the server's non-2xx answers and aborted responses (from
 * its JSON request log).
 * A reset in the default setting is a problem; in the short one it is what the mode can see.
 */
export async function runKeepalive({ root, dir, packages, shortTimeoutS, log, cleanups, stopped, onServer, startupTimeoutMs = 20_000 }) {
  const began = performance.now()
  const { upstream, project } = await startFlatProject(packages, cleanups)
  const results = {
    date: new Date().toISOString(),
    environment: { node: process.version, platform: `${process.platform} ${os.release()}`, cpus: os.cpus().length, loadAverageAtStart: os.loadavg() },
    mode: { keepalive: true, packages, loadConnections: LOAD_CONNECTIONS, npmTimeoutS: NPM_TIMEOUT_MS / 1000, npm: null, npmMaxsockets: null },
    fixtures: project.info,
    settings: [],
    problems: [],
    elapsedS: null,
  }
  log(`keepalive: ${packages} packages (${(project.info.tarballBytes / 1e6).toFixed(1)} MB of tarballs) on the fake uplink ${upstream.url}`)
  const settings = [
    { label: 'default', keepAliveS: null, extra: [], resetsAreProblems: true },
    { label: `${shortTimeoutS} s`, keepAliveS: shortTimeoutS, extra: ['server:', `  keepAliveTimeout: ${shortTimeoutS}`], resetsAreProblems: false },
  ]
  results.mode.stalls = { atShare: STALLS_AT, seconds: shortTimeoutS + STALL_EXTRA_S }
  for (const [i, setting] of settings.entries()) {
    if (stopped()) break
    const outcome = await oneSetting({
      root,
      dir: path.join(dir, `setting-${i}`),
      upstream,
      project,
      setting,
      stallS: shortTimeoutS + STALL_EXTRA_S,
      results,
      log,
      cleanups,
      stopped,
      onServer,
      startupTimeoutMs,
    })
    results.settings.push(outcome)
    for (const run of outcome.runs) {
      if (run.code !== 0 && setting.resetsAreProblems) results.problems.push(`${setting.label}: npm ci ${run.phase} failed (${run.code}): ${run.output}`)
      if (run.npm.resets > 0 && setting.resetsAreProblems) {
        results.problems.push(`${setting.label}: npm ci ${run.phase} saw ${run.npm.resets} reset(s): ${run.npm.examples.join(' | ')}`)
      }
    }
  }
  if (stopped()) results.problems.push('interrupted')
  results.elapsedS = Math.round((performance.now() - began) / 100) / 10
  return results
}

/** One server with one keep-alive setting: a cold and a warm `npm ci` under load, then its request log. */
async function oneSetting({ root, dir, upstream, project, setting, stallS, results, log, cleanups, stopped, onServer, startupTimeoutMs }) {
  const serverLog = path.join(dir, 'server-log.jsonl')
  await mkdir(dir, { recursive: true })
  const server = await launchServer({
    root,
    dir,
    upstreamUrl: upstream.url,
    timeoutMs: startupTimeoutMs,
    nodeArgs: ['--import', PRELOAD],
    extra: setting.extra,
    log: ['log:', '  type: file', `  path: ${JSON.stringify(serverLog)}`, '  format: json', '  level: http'],
  })
  onServer(server)
  cleanups.push(() => server.stop())
  const { url } = await server.ready
  const cwd = path.join(dir, 'project')
  await mkdir(cwd, { recursive: true })
  await writeFile(path.join(cwd, 'package.json'), `${JSON.stringify({ ...PROJECT, private: true, dependencies: project.rootDependencies }, null, 2)}\n`)
  await writeFile(path.join(cwd, 'package-lock.json'), `${JSON.stringify(flatLockfile(project, PROJECT, url), null, 2)}\n`)
  const { home, args } = await isolatedNpm(dir, url, { loglevel: 'http' })
  if (results.mode.npm === null) {
    results.mode.npm = (await runNpm(['--version'], { cwd, home })).output
    results.mode.npmMaxsockets = (await runNpm(['config', 'get', 'maxsockets', ...args], { cwd, home })).output
  }
  const loadTarget = `${url}${encodeURIComponent(project.latest.keys().next().value)}`

  const runs = []
  for (const phase of ['cold', 'warm']) {
    if (stopped()) break
    await rm(path.join(cwd, 'node_modules'), { recursive: true, force: true })
    const cache = path.join(dir, `npm-cache-${phase}`)
    const logsDir = path.join(dir, `npm-logs-${phase}`)
    log(`keepalive ${setting.label}: npm ci ${phase} through ${url} with ${LOAD_CONNECTIONS} autocannon connections on ${loadTarget}`)
    const before = await connections(dir)
    const stopLoad = startLoad(loadTarget)
    let stalls = null
    const run = await runNpm(['ci', `--cache=${cache}`, `--logs-dir=${logsDir}`, '--logs-max=1000', ...args], {
      cwd,
      home,
      timeoutMs: NPM_TIMEOUT_MS,
      onSpawn: (child) => {
        const want = STALLS_AT.map((share) => (before?.tarballs ?? 0) + Math.ceil(share * project.info.packages))
        stalls = stallNpm(child, stallS, want, async () => (await connections(dir))?.tarballs ?? 0)
        cleanups.push(async () => stalls.end())
      },
    })
    const stalled = stalls?.end() ?? 0
    const load = await stopLoad()
    const npm = countNpmLog(await readLogs(logsDir))
    // The preload writes its counts every 200 ms: wait for a write after the run's last request.
    await new Promise((resolve) => setTimeout(resolve, 500))
    const after = await connections(dir)
    runs.push({
      phase,
      seconds: Math.round(run.ms / 100) / 10,
      code: run.code,
      output: run.code === 0 ? '' : run.output.slice(-800),
      npm,
      stalls: stalled,
      server: after && before ? { connections: after.connections - before.connections, reused: after.reused - before.reused } : null,
      load: { requests: load.requests, reqPerSec: Math.round(load.reqPerSec), p99Ms: load.latencyMs.p99, errors: load.errors + load.non2xx },
    })
    log(`keepalive ${setting.label}: ${phase} ${run.ms} ms, exit ${run.code}, ${npm.fetches} fetches, ${npm.retries} retries, ${npm.resets} resets; load ${load.requests} requests`)
    await rm(cache, { recursive: true, force: true })
  }
  await rm(path.join(cwd, 'node_modules'), { recursive: true, force: true })
  // The log file is flushed when the server exits.
  await server.stop()
  const served = countServerLog(await readFile(serverLog, 'utf8').catch(() => ''))
  return { label: setting.label, keepAliveS: setting.keepAliveS, resetsAreProblems: setting.resetsAreProblems, runs, server: served }
}

/**
 * Pauses npm (`child`) for `seconds` each time `served()` (the server's tarball count) reaches
 * the next of `thresholds`. `end()` stops watching, resumes npm if it is paused (a stopped
 * process would never see the SIGTERM of a timeout or of an interrupted bench) and returns how
 * many pauses were made.
 */
function stallNpm(child, seconds, thresholds, served) {
  let made = 0
  let paused = null
  let reading = false
  const resume = () => {
    if (paused) {
      clearTimeout(paused)
      child.kill('SIGCONT')
    }
    paused = null
  }
  const poll = setInterval(async () => {
    if (paused || reading || made >= thresholds.length || child.exitCode !== null || child.signalCode !== null) return
    reading = true
    const count = await served()
    reading = false
    if (count < thresholds[made] || paused || child.exitCode !== null) return
    child.kill('SIGSTOP')
    made++
    paused = setTimeout(() => {
      paused = null
      child.kill('SIGCONT')
    }, seconds * 1000)
  }, PROGRESS_POLL_MS)
  const end = () => {
    clearInterval(poll)
    resume()
    return made
  }
  child.once('close', () => clearInterval(poll))
  return { end }
}

/** The connection counts the preload in the server last wrote, or null. */
async function connections(dir) {
  try {
    return JSON.parse(await readFile(path.join(dir, 'connections.json'), 'utf8'))
  } catch {
    return null
  }
}

/** autocannon on `url` until the returned function is called; that resolves its figures. */
function startLoad(url) {
  let stop = () => undefined
  const done = measure(url, { name: 'keepalive load', headers: { accept: ABBREVIATED } }, {
    connections: LOAD_CONNECTIONS,
    duration: NPM_TIMEOUT_MS / 1000,
    track: (fn) => {
      if (fn) stop = fn
    },
  })
  return () => {
    stop()
    return done
  }
}

/** The text of every debug log npm wrote into `logsDir` (it starts a new file every 50,000 entries). */
async function readLogs(logsDir) {
  const files = (await readdir(logsDir).catch(() => [])).filter((f) => f.endsWith('.log')).sort()
  const texts = await Promise.all(files.map((f) => readFile(path.join(logsDir, f), 'utf8')))
  return texts.join('\n')
}

export function renderKeepalive(results) {
  const { mode } = results
  const columns = [
    ['server keepAliveTimeout', 24, 'left'],
    ['run', 6, 'left'],
    ['seconds', 9],
    ['fetches', 9],
    ['retries', 9],
    ['resets', 8],
    ['pauses', 8],
    ['conns', 8],
    ['reused', 8],
    ['load req', 10],
  ]
  const row = (cells) => cells.map((cell, i) => (columns[i][2] === 'left' ? String(cell).padEnd(columns[i][1]) : String(cell).padStart(columns[i][1]))).join('')
  const lines = [
    `keepalive: npm ci of ${mode.packages} packages, fresh npm cache each run, npm ${mode.npm ?? '?'} (maxsockets ${mode.npmMaxsockets ?? '?'}), ` +
      `${mode.loadConnections} autocannon connections on the server meanwhile`,
    `  ${row(columns.map(([title]) => title))}`,
  ]
  for (const setting of results.settings) {
    for (const run of setting.runs) {
      lines.push(
        `  ${row([
          setting.keepAliveS === null ? 'default' : `${setting.keepAliveS} s`,
          run.phase,
          run.code === 0 ? run.seconds : `fail ${run.seconds}`,
          run.npm.fetches,
          run.npm.retries,
          run.npm.resets,
          run.stalls,
          run.server?.connections ?? '-',
          run.server?.reused ?? '-',
          run.load.requests,
        ])}`,
      )
    }
    const non2xx = Object.entries(setting.server.non2xx)
    lines.push(
      `    server log (${setting.label}): ${setting.server.requests} requests, ${setting.server.tarballs} tarballs, ` +
        `non-2xx ${non2xx.length ? non2xx.map(([status, n]) => `${status} x${n}`).join(', ') : '0'}, aborted ${setting.server.aborted}`,
    )
    for (const run of setting.runs) {
      const codes = Object.entries(run.npm.codes)
      if (codes.length) lines.push(`    npm ${run.phase} error codes: ${codes.map(([c, n]) => `${c} x${n}`).join(', ')}`)
      for (const example of run.npm.examples) lines.push(`      ${example}`)
    }
  }
  lines.push(
    `  pauses: times npm was stopped for ${mode.stalls.seconds} s (once ${mode.stalls.atShare.map((share) => `${share * 100}%`).join(' and ')} of the tarballs were asked for), its sockets idle meanwhile`,
    '  conns: connections the server accepted during the run (npm and the 4 load connections); reused: those that carried more than one request',
    `  took ${results.elapsedS} s; load average at start ${results.environment.loadAverageAtStart.map((n) => n.toFixed(2)).join(' ')}`,
    results.problems.length === 0 ? '  no resets with the default keep-alive' : `  problems:\n${results.problems.map((p) => `    ${p}`).join('\n')}`,
  )
  return `${lines.join('\n')}\n`
}

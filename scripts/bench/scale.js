import { spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { performance } from 'node:perf_hooks'
import { ABBREVIATED, get } from './http.js'
import { measure } from './load.js'
import { configYaml, launchServer, readCpuSeconds, readMemory } from './server.js'
import { indexOf, isLocal, nameOf, packageOf, restoreTarballs, scaleLockfile, searchRequests, versionCount, versionOf, writeScaleStore } from './scale-store.js'
import { startUpstream } from './upstream.js'

/** Every load row: 10 connections (the issue's search row; the same for the others so rows compare). */
const CONNECTIONS = 10
const LOAD_SECONDS = 5
/** Packages of the lockfile lock-sync --check reads. */
const LOCK_PACKAGES = 2000
/** Commands run by the bench are stopped after this long (a figure then reads as "> limit"). */
const COMMAND_TIMEOUT_MS = 20 * 60_000
/** Config lines of every run: cached copies never go stale (the uplink is a fake that knows nothing), no uplink search. */
const EXTRA = ['search:', '  uplink: false']

/** The rows of the issue's first table: key, label, unit, target at 100k (text) and how to judge growth. */
export const ROWS = [
  ['listenMs', 'serve: spawn until listening', 'ms', '-'],
  ['firstPackumentMs', 'serve: spawn until it answers a packument', 'ms', '<= 1 s'],
  ['searchCompleteMs', 'time until search finds every package', 'ms', '<= 30 s'],
  ['idleRssMb', 'server RSS idle after start-up (VmRSS)', 'MiB', '<= 300 MiB'],
  ['tarballRps', 'warm tarball req/s (one hot)', 'req/s', '>= 0.9 x 10k'],
  ['packumentRps', 'warm packument req/s (one hot, abbreviated)', 'req/s', '>= 0.9 x 10k'],
  ['spreadRps', 'warm packument req/s (1,000 packages, abbreviated)', 'req/s', '-'],
  ['searchP99Ms', 'npm search p99, 10 connections (45 texts in turn)', 'ms', '<= 50 ms'],
  ['searchRps', 'npm search req/s, 10 connections', 'req/s', '-'],
  ['searchCpuMs', 'npm search server CPU per request', 'ms', '-'],
  ['infoS', '`storage info` time', 's', '<= 10 s'],
  ['infoRssMb', '`storage info` peak RSS', 'MiB', '<= 200 MiB'],
  ['verifyS', '`verify` time', 's', '-'],
  ['verifyMbps', '`verify` MB/s of blob content', 'MB/s', '-'],
  ['sha512sumMbps', '`sha512sum` MB/s, the content files', 'MB/s', '-'],
  ['verifyVsContentX', '`verify` time / `sha512sum` of the content files', 'x', '-'],
  ['sha512sumAllS', '`sha512sum` of every file verify reads (content, index, documents)', 's', '-'],
  ['warmReadS', 'reading every file verify reads once before it (page cache warm-up)', 's', '-'],
  ['verifyVsAllX', '`verify` time / `sha512sum` of every file it reads', 'x', '<= 1.5 x'],
  ['verifyRssMb', '`verify` peak RSS', 'MiB', '<= 200 MiB'],
  ['lockCheckS', '`lock-sync --check`, 2,000 packages', 's', '<= 1.5 x 10k'],
  ['lockCheckRssMb', '`lock-sync --check` peak RSS', 'MiB', '-'],
  ['pruneS', '`prune --max-size` removing 10 %', 's', '<= 60 s'],
  ['pruneRssMb', '`prune --max-size` peak RSS', 'MiB', '<= 250 MiB'],
]

/** `10k,30k` -> [{ label: '10k', packages: 10000 }, ...]; null when any part is not a size. */
export function parseSizes(text) {
  const sizes = []
  for (const part of String(text).split(',')) {
    const match = /^(\d+(?:\.\d+)?)([km]?)$/i.exec(part.trim())
    if (!match) return null
    const packages = Math.round(Number(match[1]) * { '': 1, k: 1000, m: 1_000_000 }[match[2].toLowerCase()])
    if (!(packages >= 100 && packages <= 1_000_000)) return null
    sizes.push({ label: part.trim(), packages })
  }
  return sizes
}

/**
 * The scale mode: for each size, writes (or, with `keep`, reuses) a synthetic store of that many
 * packages through the store interface, then measures the rows of issue 13's first table on it.
 * The store of each size lives in `<keep or dir>/<label>/`; without `keep` it goes at the end.
 */
export async function runScale({ root, dir, sizes, perPackage, keep, log, cleanups, stopped, onServer, startupTimeoutMs = 20_000 }) {
  const began = performance.now()
  const base = keep ? path.resolve(keep) : dir
  const results = {
    date: new Date().toISOString(),
    environment: { node: process.version, platform: `${process.platform} ${os.release()}`, cpus: os.cpus().length, loadAverageAtStart: os.loadavg() },
    mode: { scale: sizes.map((s) => s.label), perPackage, connections: CONNECTIONS, loadSeconds: LOAD_SECONDS, keep: keep ?? null },
    sizes: [],
    problems: [],
    elapsedS: null,
  }
  // The fake uplink knows no package: every stored copy is fresh (maxage Infinity), so none is asked for.
  const upstream = await startUpstream()
  cleanups.push(() => upstream.close())
  const upstreamUrl = upstream.url.replace(/\/$/, '')
  for (const size of sizes) {
    if (stopped()) break
    const sizeDir = path.join(base, size.label)
    await mkdir(sizeDir, { recursive: true })
    log(`scale ${size.label}: writing ${size.packages} packages (${perPackage} tarballs each, 10x for 1 in 100) into ${sizeDir}`)
    const store = await writeScaleStore({ root: sizeDir, distDir: path.join(root, 'dist'), packages: size.packages, perPackage, upstreamUrl, log, stopped })
    log(`scale ${size.label}: ${store.reused ? 'reused' : 'written'}: ${store.tarballs} tarballs, ${store.seconds} s (${store.blobsPerSecond} tarballs/s)`)
    const figures = await measureSize({ root, sizeDir, size, perPackage, upstream, upstreamUrl, log, cleanups, stopped, onServer, startupTimeoutMs, problems: results.problems })
    results.sizes.push({ ...size, store, figures })
  }
  if (!keep) await rm(base, { recursive: true, force: true })
  results.elapsedS = Math.round((performance.now() - began) / 1000)
  return results
}

async function measureSize({ root, sizeDir, size, perPackage, upstream, log, cleanups, stopped, onServer, startupTimeoutMs, problems }) {
  const figures = {}
  const problem = (text) => problems.push(`${size.label}: ${text}`)
  const before = upstream.counts()
  const spawned = performance.now()
  const server = await launchServer({ root, dir: sizeDir, upstreamUrl: upstream.url, timeoutMs: startupTimeoutMs, maxage: 'Infinity', extra: EXTRA })
  onServer(server)
  cleanups.push(() => server.stop())
  const { url, startupMs } = await server.ready
  figures.listenMs = startupMs
  const hot = nameOf(2)
  // Asked at once after the listening line, then every 10 ms until it answers.
  for (;;) {
    const answer = await get(`${url}${hot}`, { headers: { accept: ABBREVIATED } }).catch(() => null)
    if (answer?.status === 200) break
    if (performance.now() - spawned > startupTimeoutMs) {
      problem(`no packument within ${startupTimeoutMs} ms (last: ${answer?.status ?? 'error'})`)
      break
    }
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
  figures.firstPackumentMs = Math.round(performance.now() - spawned)
  log(`scale ${size.label}: listening after ${figures.listenMs} ms, first packument after ${figures.firstPackumentMs} ms`)

  // Every package listed by an empty query: the index has read them all.
  const deadline = performance.now() + 10 * 60_000
  let total = 0
  while (!stopped()) {
    const answer = await get(`${url}-/v1/search?text=&size=1`).catch(() => null)
    total = answer?.status === 200 ? JSON.parse(answer.body.toString('utf8')).total : 0
    if (total >= size.packages || performance.now() > deadline) break
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  figures.searchCompleteMs = Math.round(performance.now() - spawned)
  if (total < size.packages) problem(`search found ${total} of ${size.packages} packages after ${figures.searchCompleteMs} ms`)
  log(`scale ${size.label}: search finds all ${total} packages after ${figures.searchCompleteMs} ms`)
  // Idle: the start-up work is done (index built, the background blob count too, give it a few seconds).
  await new Promise((resolve) => setTimeout(resolve, 5000))
  figures.idleRssMb = mb(readMemory(server.pid)?.rssKb)
  figures.idleHwmMb = mb(readMemory(server.pid)?.hwmKb)

  const hotVersion = versionOf(versionCount(2, perPackage) - 1)
  const spread = Array.from({ length: 1000 }, (_, n) => ({ method: 'GET', path: `/${nameOf(Math.floor((n * size.packages) / 1000))}` }))
  const rows = [
    ['tarballRps', `${url}${hot}/-/${hot}-${hotVersion}.tgz`, { accept: 'application/octet-stream' }],
    ['packumentRps', `${url}${hot}`, { accept: ABBREVIATED }],
    ['spreadRps', url, { accept: ABBREVIATED }, spread],
    // Many texts in turn, not one: remembered answers must not be all the row measures.
    ['searchRps', url, { accept: 'application/json' }, searchRequests()],
  ]
  for (const [key, target, headers, requests] of rows) {
    if (stopped()) break
    const result = await loadRow({ url, target, headers, requests, pid: server.pid, problem, key })
    figures[key] = Math.round(result.reqPerSec)
    if (key === 'searchRps') {
      figures.searchP99Ms = result.latencyMs.p99
      figures.searchCpuMs = result.cpuMsPerRequest
    }
    log(`scale ${size.label}: ${key} ${figures[key]} req/s, p99 ${result.latencyMs.p99} ms${result.cpuMsPerRequest == null ? '' : `, server CPU ${result.cpuMsPerRequest} ms a request`}`)
  }
  const uplinkCalls = Object.values(countsSince(before, upstream.counts())).reduce((a, b) => a + b, 0)
  if (uplinkCalls > 0) problem(`the server asked the uplink ${uplinkCalls} times: the store was not taken as fresh`)
  await server.stop()

  // The commands, each alone on the store (the server stopped), timed with /usr/bin/time.
  const config = path.join(sizeDir, 'config.yaml')
  await writeFile(config, configYaml(path.join(sizeDir, 'storage'), upstream.url, EXTRA, { maxage: 'Infinity' }))
  const cli = (args, cwd = sizeDir) => timed([process.execPath, path.join(root, 'bin/run.js'), ...args, '--config', config], cwd)
  if (!stopped()) {
    const info = await cli(['storage', 'info', '--json'])
    figures.infoS = info.seconds
    figures.infoRssMb = info.rssMb
    if (info.code !== 0) problem(`storage info exited ${info.code}: ${info.stderr.slice(-300)}`)
    else figures.info = JSON.parse(info.stdout)
    log(`scale ${size.label}: storage info ${info.seconds} s, ${info.rssMb} MiB`)
  }
  if (!stopped()) {
    // The same files as verify's floor below, read once first: verify and sha512sum then both
    // read from the page cache (verify went first before, and sha512sum was timed on what it had read).
    const warm = await timed(['sh', '-c', 'find blobs/content-v2 blobs/entries packages -type f -print0 | xargs -0 cat > /dev/null'], path.join(sizeDir, 'storage'))
    figures.warmReadS = warm.seconds
    const verify = await cli(['verify', '--json'])
    figures.verifyS = verify.seconds
    figures.verifyRssMb = verify.rssMb
    if (verify.code !== 0) problem(`verify exited ${verify.code}: ${verify.stderr.slice(-300)}`)
    const bytes = figures.info?.blobs?.bytes ?? 0
    const sums = await timed(['sh', '-c', "find blobs/content-v2 -type f -print0 | xargs -0 sha512sum > /dev/null"], path.join(sizeDir, 'storage'))
    // verify also reads every entries file and parses every package document: the same bytes,
    // hashed by sha512sum, are its floor as much as the content alone is.
    const all = await timed(['sh', '-c', 'find blobs/content-v2 blobs/entries packages -type f -print0 | xargs -0 sha512sum > /dev/null'], path.join(sizeDir, 'storage'))
    figures.verifyMbps = rate(bytes, verify.seconds)
    figures.sha512sumMbps = rate(bytes, sums.seconds)
    figures.sha512sumS = sums.seconds
    figures.sha512sumAllS = all.seconds
    figures.verifyVsContentX = sums.seconds > 0 ? Math.round((verify.seconds / sums.seconds) * 100) / 100 : null
    figures.verifyVsAllX = all.seconds > 0 ? Math.round((verify.seconds / all.seconds) * 100) / 100 : null
    log(`scale ${size.label}: verify ${verify.seconds} s, ${verify.rssMb} MiB; sha512sum ${sums.seconds} s over ${(bytes / 1e6).toFixed(1)} MB of content, ${all.seconds} s over every file verify reads`)
  }
  if (!stopped()) {
    const project = path.join(sizeDir, 'project')
    await mkdir(project, { recursive: true })
    const lock = scaleLockfile({ packages: size.packages, perPackage, count: LOCK_PACKAGES, registryUrl: 'http://127.0.0.1:4873/' })
    await writeFile(path.join(project, 'package-lock.json'), `${JSON.stringify(lock, null, 2)}\n`)
    const check = await cli(['lock-sync', '--check', '--json'], project)
    figures.lockCheckS = check.seconds
    figures.lockCheckRssMb = check.rssMb
    if (check.code !== 0) problem(`lock-sync --check exited ${check.code}: ${check.stdout.slice(0, 300)}${check.stderr.slice(-300)}`)
    log(`scale ${size.label}: lock-sync --check ${check.seconds} s, ${check.rssMb} MiB`)
  }
  if (!stopped() && figures.info) {
    // Local tarballs never go: 90 % of the cached ones' bytes is the limit.
    const cachedBytes = cachedTarballBytes(size.packages, perPackage)
    const limit = Math.floor(cachedBytes * 0.9)
    const prune = await cli(['prune', '--max-size', String(limit), '--grace', '0s', '--yes', '--json'])
    figures.pruneS = prune.seconds
    figures.pruneRssMb = prune.rssMb
    if (prune.code !== 0) problem(`prune exited ${prune.code}: ${prune.stderr.slice(-300)}`)
    const removed = prune.code === 0 ? JSON.parse(prune.stdout).removed : []
    figures.pruneRemoved = removed.length
    log(`scale ${size.label}: prune --max-size ${prune.seconds} s, ${prune.rssMb} MiB, removed ${removed.length} tarballs; writing them again`)
    if (removed.some((r) => isLocal(indexOf(r.name)))) problem('prune removed a tarball published here')
    await restoreTarballs({ root: sizeDir, distDir: path.join(root, 'dist'), specs: removed })
  }
  return figures
}

/**
 * One load row: a warm-up GET, then CONNECTIONS connections for LOAD_SECONDS on `target` (or
 * `requests` in turn). Adds the server's CPU time per request (from /proc; on a shared machine
 * it moves less with the load than the latencies do).
 */
export async function loadRow({ url, target, headers, requests, pid, problem, key, connections = CONNECTIONS, seconds = LOAD_SECONDS }) {
  const warm = await get(requests ? url + requests[0].path.slice(1) : target, { headers })
  if (warm.status !== 200) problem(`${key}: warm-up GET answered ${warm.status}`)
  const cpuBefore = readCpuSeconds(pid)
  const result = await measure(target, { name: key, headers, ...(requests ? { requests } : {}) }, { connections, duration: seconds, track: () => undefined })
  const cpuAfter = readCpuSeconds(pid)
  if (result.errors + result.non2xx > 0) problem(`${key}: ${result.errors} errors, ${result.non2xx} non-2xx`)
  const cpuMsPerRequest = cpuBefore === null || cpuAfter === null || result.requests === 0 ? null : Math.round(((cpuAfter - cpuBefore) * 1000 * 100) / result.requests) / 100
  return { ...result, cpuMsPerRequest }
}

/** Bytes of the tarballs of cached (not local) packages, as the store was written. */
function cachedTarballBytes(packages, perPackage) {
  let bytes = 0
  for (let i = 0; i < packages; i++) {
    if (isLocal(i)) continue
    for (const t of packageOf(i, perPackage, '').tarballs) bytes += t.bytes.length
  }
  return bytes
}

/** Runs `argv` under /usr/bin/time (when present): `{ code, seconds, rssMb, stdout, stderr }`. */
async function timed(argv, cwd) {
  const metrics = path.join(os.tmpdir(), `sinopia-scale-time-${process.pid}-${Date.now()}`)
  const useTime = existsSync('/usr/bin/time')
  const command = useTime ? ['/usr/bin/time', '-o', metrics, '-f', '%e %M', ...argv] : argv
  const started = performance.now()
  const child = spawn(command[0], command.slice(1), { cwd, stdio: ['ignore', 'pipe', 'pipe'] })
  let stdout = ''
  let stderr = ''
  child.stdout.setEncoding('utf8').on('data', (chunk) => (stdout += chunk))
  child.stderr.setEncoding('utf8').on('data', (chunk) => (stderr = (stderr + chunk).slice(-20_000)))
  const timer = setTimeout(() => child.kill('SIGKILL'), COMMAND_TIMEOUT_MS)
  const code = await new Promise((resolve) => child.once('close', (c) => resolve(c)))
  clearTimeout(timer)
  const seconds = Math.round((performance.now() - started) / 100) / 10
  let rssMb = null
  if (useTime) {
    const [, maxKb] = (await readFile(metrics, 'utf8').catch(() => '')).trim().split('\n').at(-1).split(' ')
    rssMb = maxKb ? mb(Number(maxKb)) : null
    await rm(metrics, { force: true })
  }
  return { code, seconds, rssMb, stdout, stderr }
}

function countsSince(before, after) {
  const out = {}
  for (const [key, n] of Object.entries(after)) if (n - (before[key] ?? 0) > 0) out[key] = n - (before[key] ?? 0)
  return out
}

const mb = (kb) => (kb == null ? null : Math.round(kb / 1024))
const rate = (bytes, seconds) => (seconds > 0 ? Math.round((bytes / 1e6 / seconds) * 10) / 10 : null)

/** The table: one column per size, the growth factor (last / first) and the issue's target at 100k. */
export function renderScale(results) {
  const sizes = results.sizes
  const header = ['figure', ...sizes.map((s) => `${s.label} (${s.store.tarballs} tarballs)`), ...(sizes.length > 1 ? ['growth'] : []), 'target at 100k']
  const rows = [header]
  for (const [key, label, unit, target] of ROWS) {
    const values = sizes.map((s) => s.figures[key])
    const first = values[0]
    const last = values.at(-1)
    const growth = sizes.length > 1 && typeof first === 'number' && typeof last === 'number' && first > 0 ? `${(last / first).toFixed(2)} x` : '-'
    rows.push([`${label} (${unit})`, ...values.map((v) => (v == null ? '-' : String(v))), ...(sizes.length > 1 ? [growth] : []), target])
  }
  const widths = header.map((_, c) => Math.max(...rows.map((r) => r[c].length)))
  const line = (r) => `| ${r.map((cell, c) => cell.padEnd(widths[c])).join(' | ')} |`
  const out = [
    `scale: ${sizes.map((s) => `${s.label} = ${s.packages} packages, ${s.store.tarballs} tarballs (${(s.store.bytes / 1e6).toFixed(0)} MB); store ${s.store.reused ? 'reused' : `written in ${s.store.seconds} s, ${s.store.blobsPerSecond} tarballs/s`}`).join('; ')}`,
    `load average at start ${results.environment.loadAverageAtStart.map((n) => n.toFixed(2)).join(' ')} on ${results.environment.cpus} cores (shared machine: absolute figures are noisy)`,
    line(rows[0]),
    `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`,
    ...rows.slice(1).map(line),
  ]
  out.push(results.problems.length === 0 ? 'no problems' : `problems:\n${results.problems.map((p) => `  ${p}`).join('\n')}`)
  return `${out.join('\n')}\n`
}

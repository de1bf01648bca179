import http from 'node:http'
import { mkdir, readFile } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { performance } from 'node:perf_hooks'
import { buildFixtures } from './fixtures.js'
import { ABBREVIATED, request } from './http.js'
import { measure, scenarios, warm } from './load.js'
import { createDatabase, startCluster, stopCluster } from './postgres.js'
import { mainThreadProfile, renderProfile } from './profile.js'
import { addUser, percentiles, publishBody, publishLoad } from './publish.js'
import { launchServer, readCpuSeconds, readProc } from './server.js'
import { startUpstream } from './upstream.js'

/** autocannon connections per read row; with two instances, half of them on each at once. */
const CONNECTIONS = 20
const PUBLISHERS = 10
const PUBLISHES_PER_PUBLISHER = 10
const PUBLISHED_PACKAGES = 3
const SERIAL_PUBLISHES = 10
const VISIBILITY_PUBLISHES = 20
/** A bound on each visibility wait: past it the version counts as not seen. */
const VISIBILITY_LIMIT_MS = 10_000
const READ_RATIO_TARGET = 0.8
const PUBLISH_P99_TARGET_MS = 200

/**
 * The backend mode of the bench (issue 14): the PostgreSQL store against the storage folder, in
 * one run. A throwaway PostgreSQL cluster (scripts/bench/postgres.js, as the tests start it) on
 * 127.0.0.1, one `serve` on a storage folder and two on one database (each with its own blob
 * cache), all proxying the quick fixtures of the fake uplink. Measures, for the folder (1
 * instance), PostgreSQL (1 instance) and PostgreSQL (2 instances, half the connections on each
 * at once, req/s summed): warm req/s of the main bench's rows (full and abbreviated packument,
 * plain and gzip; the 300 KiB and 1 MiB tarballs), each row's three cells back to back so the
 * ratios to the folder compare neighbouring runs; the
 * latency of 100 publishes by 10 concurrent publishers (distinct versions of 3 packages); and how
 * long a version published on one instance takes to show in the other's abbreviated packument
 * (polled in a tight loop, bounded). `profileDir` runs the first PostgreSQL instance under
 * `--cpu-prof` and summarizes its profile. `publishOnly` skips the read rows and the visibility
 * delay (and the warm-up they need): the publish rows alone, in well under a minute, to compare
 * a change to the publish path. Returns the results object (see renderBackend).
 */
export async function runBackend({ root, dir, log, cleanups, stopped, onServer, duration = 5, profileDir = null, publishOnly = false, startupTimeoutMs = 20_000 }) {
  const began = performance.now()
  const results = {
    date: new Date().toISOString(),
    environment: { node: process.version, platform: `${process.platform} ${os.release()}`, cpus: os.cpus().length, loadAverageAtStart: loadAverage() },
    mode: { backend: 'postgres', publishOnly, duration, connections: CONNECTIONS, publishers: PUBLISHERS, publishesPerPublisher: PUBLISHES_PER_PUBLISHER, visibilityPublishes: VISIBILITY_PUBLISHES },
    servers: {},
    reads: [],
    publish: [],
    visibility: null,
    targets: [],
    profile: null,
    problems: [],
    elapsedS: null,
  }

  const upstream = await startUpstream()
  cleanups.push(() => upstream.close())
  const fixtures = buildFixtures(upstream.url, { quick: true })
  upstream.serve(fixtures.routes)

  const cluster = path.join(dir, 'postgres')
  log('backend: starting a throwaway PostgreSQL cluster')
  const port = await startCluster(cluster)
  cleanups.push(() => stopCluster(cluster))
  const database = await createDatabase(port, 'sinopia_bench')
  const postmaster = Number((await readFile(path.join(cluster, 'data', 'postmaster.pid'), 'utf8')).split('\n')[0])

  if (profileDir) await mkdir(profileDir, { recursive: true })
  const start = async (name, storage, nodeArgs = []) => {
    const home = path.join(dir, name)
    await mkdir(home, { recursive: true })
    // TMPDIR: a PostgreSQL instance's blob cache goes under its own folder, as on its own host.
    // One htpasswd file for all, as scaled-out instances share it: a token names its user, and an
    // instance that does not know the user refuses the token.
    const extra = ['auth:', '  htpasswd:', `    file: ${JSON.stringify(path.join(dir, 'htpasswd'))}`]
    const server = await launchServer({ root, dir: home, upstreamUrl: upstream.url, timeoutMs: startupTimeoutMs, storage, env: { TMPDIR: home }, nodeArgs, extra })
    onServer(server)
    cleanups.push(() => server.stop())
    const { url, startupMs } = await server.ready
    results.servers[name] = { url, pid: server.pid, startupMs }
    log(`backend: ${name} up at ${url} (pid ${server.pid}) in ${startupMs} ms`)
    return { name, url, pid: server.pid, server }
  }
  const fs = await start('fs', path.join(dir, 'fs', 'storage'))
  // One after the other: the first creates the tables.
  const pgA = await start('pg-a', database, profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : [])
  const pgB = await start('pg-b', database)

  // The main bench's rows: full and abbreviated packuments, plain and gzip, and the 300 KiB and 1 MiB tarballs.
  const list = publishOnly ? [] : scenarios({ packageName: fixtures.info.packument.name, tarballs: fixtures.info.tarballs })
  for (const instance of list.length > 0 ? [fs, pgA, pgB] : []) {
    const warmed = await warm(instance.url, list)
    results.problems.push(...warmed.problems.map((p) => `warm-up on ${instance.name}: ${p}`))
  }

  // Reads: per row, the three setups back to back.
  const setups = [
    ['fs x1', [fs]],
    ['pg x1', [pgA]],
    ['pg x2', [pgA, pgB]],
  ]
  for (const scenario of list) {
    const row = { name: scenario.name, setups: {} }
    results.reads.push(row)
    for (const [label, instances] of setups) {
      if (stopped()) break
      log(`backend: ${scenario.name} on ${label}: ${duration} s, ${CONNECTIONS} connections`)
      row.setups[label] = await readLoad(instances, scenario, { duration, postmaster, usesPg: label !== 'fs x1' })
      const { errors, non2xx } = row.setups[label]
      if (errors + non2xx > 0) results.problems.push(`${label} ${scenario.name}: ${errors} errors, ${non2xx} non-2xx`)
      await new Promise((resolve) => setTimeout(resolve, 300))
    }
    const fsRate = row.setups['fs x1']?.reqPerSec
    for (const label of ['pg x1', 'pg x2']) {
      const setup = row.setups[label]
      if (setup && fsRate > 0) setup.ratioToFs = round2(setup.reqPerSec / fsRate)
    }
  }

  // Publishes: a user on each store (the token made on pg-a is in the database, so pg-b takes it too).
  const agent = new http.Agent({ keepAlive: true, maxSockets: PUBLISHERS * 2 })
  cleanups.push(async () => agent.destroy())
  const tokens = { fs: await addUser(fs.url, agent, 'bench-fs'), pg: await addUser(pgA.url, agent, 'bench-pg') }
  for (const [label, instances, token] of [
    ['fs x1', [fs], tokens.fs],
    ['pg x1', [pgA], tokens.pg],
    ['pg x2', [pgA, pgB], tokens.pg],
  ]) {
    if (stopped()) break
    log(`backend: ${PUBLISHERS * PUBLISHES_PER_PUBLISHER} publishes by ${PUBLISHERS} concurrent publishers on ${label}`)
    const prefix = `bench-pub-${label.replace(/\W+/g, '-')}`
    // CPU per publish (servers, and PostgreSQL's): steadier than latency on a shared machine.
    const usesPg = label !== 'fs x1'
    const serversBefore = instances.map((i) => readCpuSeconds(i.pid) ?? 0)
    const pgBefore = usesPg ? clusterCpuSeconds(postmaster) : null
    const row = await publishLoad(instances, prefix, token, agent, stopped, { publishers: PUBLISHERS, perPublisher: PUBLISHES_PER_PUBLISHER, packages: PUBLISHED_PACKAGES, serial: SERIAL_PUBLISHES })
    const serverCpuS = instances.reduce((sum, i, at) => sum + (readCpuSeconds(i.pid) ?? 0) - (serversBefore[at] ?? 0), 0)
    const all = row.publishes + PUBLISHED_PACKAGES + SERIAL_PUBLISHES
    row.serverCpuMsPerPublish = round2((serverCpuS * 1000) / all)
    row.postgresCpuMsPerPublish = pgBefore === null ? null : round2(((clusterCpuSeconds(postmaster) - pgBefore) * 1000) / all)
    results.publish.push({ setup: label, ...row })
    results.problems.push(...row.problems.map((p) => `publish ${label}: ${p}`))
  }

  if (!stopped() && !publishOnly) {
    log(`backend: ${VISIBILITY_PUBLISHES} publishes on pg-a, each polled for on pg-b`)
    results.visibility = await visibility(pgA.url, pgB.url, tokens.pg, agent, stopped)
    results.problems.push(...results.visibility.problems)
  }

  for (const [name, { server }] of Object.entries({ fs, 'pg-a': pgA, 'pg-b': pgB })) {
    if (!server.alive()) results.problems.push(`${name} exited during the run: ${JSON.stringify(await server.exited)}`)
  }
  if (profileDir) {
    // The profile is written when the server exits.
    await pgA.server.stop()
    results.profile = await mainThreadProfile(profileDir, pgA.pid)
    if (!results.profile) results.problems.push(`no CPU profile appeared in ${profileDir}`)
  }
  results.targets = targets(results)
  results.environment.loadAverageAtEnd = loadAverage()
  results.elapsedS = round1((performance.now() - began) / 1000)
  return results
}

/**
 * `duration` seconds of autocannon on each of `instances` at once, the connections split
 * between them: req/s summed, the worst p99, and the CPU the servers (and PostgreSQL) spent per response.
 */
async function readLoad(instances, scenario, { duration, postmaster, usesPg }) {
  const serversBefore = instances.map((i) => readCpuSeconds(i.pid))
  const pgBefore = usesPg ? clusterCpuSeconds(postmaster) : null
  const runs = await Promise.all(
    instances.map((i) => measure(i.url + scenario.path.slice(1), scenario, { connections: CONNECTIONS / instances.length, duration, track: () => undefined })),
  )
  const serverCpuS = instances.reduce((sum, i, at) => sum + ((readCpuSeconds(i.pid) ?? 0) - (serversBefore[at] ?? 0)), 0)
  const pgCpuS = usesPg ? clusterCpuSeconds(postmaster) - pgBefore : null
  const requests = runs.reduce((sum, r) => sum + r.requests, 0)
  return {
    reqPerSec: Math.round(runs.reduce((sum, r) => sum + r.reqPerSec, 0)),
    p99Ms: Math.max(...runs.map((r) => r.latencyMs.p99)),
    requests,
    serverCpuMsPerResponse: requests > 0 ? round2((serverCpuS * 1000) / requests) : null,
    postgresCpuMsPerResponse: requests > 0 && pgCpuS !== null ? round2((pgCpuS * 1000) / requests) : null,
    errors: runs.reduce((sum, r) => sum + r.errors, 0),
    non2xx: runs.reduce((sum, r) => sum + r.non2xx, 0),
    perInstance: runs.map((r) => ({ url: r.url, reqPerSec: Math.round(r.reqPerSec), p50Ms: r.latencyMs.p50, p99Ms: r.latencyMs.p99 })),
  }
}

/**
 * CPU seconds of the cluster: the postmaster with the sessions it has reaped (cutime, cstime)
 * and the sessions alive now. A session that ends between two readings moves from the second
 * term to the first, so differences stay right.
 */
function clusterCpuSeconds(postmaster) {
  const fields = (pid) => {
    const text = readProc(pid, 'stat')
    return text === null ? null : text.slice(text.lastIndexOf(')') + 2).split(' ').map(Number)
  }
  const own = fields(postmaster)
  if (own === null) return 0
  let ticks = own[11] + own[12] + own[13] + own[14]
  for (const child of (readProc(postmaster, `task/${postmaster}/children`) ?? '').trim().split(/\s+/).filter(Boolean)) {
    const f = fields(Number(child))
    if (f) ticks += f[11] + f[12]
  }
  return ticks / 100
}

/**
 * Publishes on `a`, then reads `b`'s abbreviated packument in a tight loop until the version is
 * listed (at most `VISIBILITY_LIMIT_MS`): the delay from `a`'s 201 to the first read that lists it.
 * A first publish, unmeasured, gets the package into `b`'s caches.
 */
async function visibility(a, b, token, agent, stopped) {
  const name = 'bench-visible'
  const problems = []
  const headers = { 'content-type': 'application/json', authorization: `Bearer ${token}` }
  const publishAndWait = async (version) => {
    const put = await request(`${a}${name}`, { method: 'PUT', headers, body: publishBody(a, name, version).body, agent })
    if (put.status !== 201) return { problem: `publish ${version} on ${a}: status ${put.status}` }
    const acknowledged = performance.now()
    let polls = 0
    while (performance.now() - acknowledged < VISIBILITY_LIMIT_MS) {
      polls++
      const r = await request(`${b}${name}`, { headers: { accept: ABBREVIATED }, agent })
      if (r.status === 200 && JSON.parse(r.body.toString('utf8')).versions?.[version]) return { ms: performance.now() - acknowledged, polls }
    }
    return { problem: `${version} published on ${a} not listed on ${b} within ${VISIBILITY_LIMIT_MS / 1000} s (${polls} reads)` }
  }
  const first = await publishAndWait('0.0.0')
  if (first.problem) problems.push(first.problem)
  const delays = []
  const polls = []
  for (let i = 1; i <= VISIBILITY_PUBLISHES && !stopped(); i++) {
    const seen = await publishAndWait(`0.0.${i}`)
    if (seen.problem) problems.push(seen.problem)
    else {
      delays.push(seen.ms)
      polls.push(seen.polls)
    }
  }
  return { publishes: delays.length, ...percentiles(delays), readsUntilSeen: { min: Math.min(...polls), max: Math.max(...polls) }, problems }
}

function targets(results) {
  const list = []
  for (const row of results.reads) {
    for (const label of ['pg x1', 'pg x2']) {
      const ratio = row.setups[label]?.ratioToFs
      if (ratio != null) list.push({ what: `${row.name} req/s, ${label} / fs x1`, value: ratio, target: `>= ${READ_RATIO_TARGET}`, met: ratio >= READ_RATIO_TARGET })
    }
  }
  for (const row of results.publish) {
    if (row.p99Ms !== null) list.push({ what: `publish p99, ${row.setup}`, value: row.p99Ms, target: `<= ${PUBLISH_P99_TARGET_MS} ms`, met: row.p99Ms <= PUBLISH_P99_TARGET_MS })
  }
  return list
}

export function renderBackend(results) {
  const { mode, environment } = results
  const setups = ['fs x1', 'pg x1', 'pg x2']
  const cell = (text, width) => String(text ?? '-').padStart(width)
  const lines = mode.publishOnly ? ['backend (--publish-only): publish rows only'] : [
    `backend: storage folder (fs) vs PostgreSQL (pg), warm reads of the quick fixtures, ${mode.duration} s per cell, ${mode.connections} autocannon`,
    '  connections (x2: half on each instance at once, req/s summed, worst p99); cpu = server CPU ms per response (+ PostgreSQL\'s)',
    `  ${'row'.padEnd(28)}${setups.map((s) => cell(s, 26)).join('')}`,
  ]
  for (const row of results.reads) {
    const cells = setups.map((label) => {
      const s = row.setups[label]
      if (!s) return cell('-', 26)
      const ratio = s.ratioToFs == null ? '' : ` (${s.ratioToFs.toFixed(2)})`
      return cell(`${s.reqPerSec}/s${ratio} p99 ${s.p99Ms}`, 26)
    })
    lines.push(`  ${row.name.padEnd(28)}${cells.join('')}`)
    const cpu = setups.map((label) => {
      const s = row.setups[label]
      return cell(s ? `cpu ${s.serverCpuMsPerResponse}${s.postgresCpuMsPerResponse == null ? '' : ` + ${s.postgresCpuMsPerResponse}`} ms` : '-', 26)
    })
    lines.push(`  ${''.padEnd(28)}${cpu.join('')}`)
  }
  if (!mode.publishOnly) lines.push(`  (ratio to fs x1 in parentheses; target >= ${READ_RATIO_TARGET})`)
  lines.push(`publish: ${mode.publishers} concurrent publishers x ${mode.publishesPerPublisher} versions of ${PUBLISHED_PACKAGES} packages (target p99 <= ${PUBLISH_P99_TARGET_MS} ms); cpu = server CPU ms per publish (+ PostgreSQL's), the row's unmeasured and one-at-a-time publishes included`)
  for (const row of results.publish) {
    lines.push(
      `  ${row.setup.padEnd(8)} p50 ${cell(row.p50Ms, 6)} ms  p99 ${cell(row.p99Ms, 6)} ms  max ${cell(row.maxMs, 6)} ms  ${cell(row.perSec, 5)}/s  failed ${row.failed}/${row.publishes}` +
        `   one at a time: p50 ${cell(row.alone.p50Ms, 5)} ms, max ${cell(row.alone.maxMs, 5)} ms` +
        `   cpu ${row.serverCpuMsPerPublish ?? '-'}${row.postgresCpuMsPerPublish == null ? '' : ` + ${row.postgresCpuMsPerPublish}`} ms/publish`,
    )
  }
  const v = results.visibility
  if (v) {
    lines.push(
      `visibility: ${v.publishes} publishes on pg-a, pg-b's abbreviated packument read in a tight loop until listed: ` +
        `p50 ${v.p50Ms ?? '-'} ms, max ${v.maxMs ?? '-'} ms after pg-a's 201 (${v.readsUntilSeen.min}-${v.readsUntilSeen.max} reads)`,
    )
  }
  const missed = results.targets.filter((t) => !t.met)
  lines.push(missed.length === 0 ? 'targets: all met' : `targets missed: ${missed.map((t) => `${t.what} ${t.value} (${t.target})`).join('; ')}`)
  lines.push(
    `noise: ${environment.cpus} cores shared with other work, load average ${environment.loadAverageAtStart.join(' ')} at the start and ` +
      `${environment.loadAverageAtEnd?.join(' ') ?? '-'} at the end; the client, the servers and PostgreSQL share them, so x2 cannot double, and ` +
      'one cell\'s req/s can move several-fold between runs: compare within a row (its cells run back to back) and the cpu figures',
  )
  if (results.profile) lines.push(renderProfile(results.profile.summary, `pg-a CPU profile ${results.profile.file}`))
  lines.push(results.problems.length === 0 ? 'no problems' : `problems:\n${results.problems.map((p) => `  ${p}`).join('\n')}`)
  return `${lines.join('\n')}\n`
}

const loadAverage = () => os.loadavg().map((n) => round2(n))
const round1 = (n) => Math.round(n * 10) / 10
const round2 = (n) => Math.round(n * 100) / 100

import { mkdir, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { cleanupTempDirs, makeProject, REPO_ROOT, runNpm, type ClientResult } from '../helpers/clients.js'
import { startFakeUpstream, type Fault, type FaultTarget, type FakeUpstream } from '../helpers/fake-upstream.js'
import { buildPackage, type BuiltPackage } from '../helpers/packages.js'
import { cleanupRegistries, startRegistry, type RunningRegistry } from '../helpers/server.js'

/**
 * Fault injection against a running `serve` with the real npm. For each way an uplink can fail,
 * (a) a project whose packages are all in the store installs (npm install, fresh npm cache, so
 * every packument is asked for and, with maxage 0, revalidated against the failing uplink), and
 * (b) once the uplink recovers, a package the store never saw becomes installable within
 * fail_timeout and a few seconds, without a restart. One registry serves every mode in turn.
 * The measured table goes to test-artifacts/uplink-faults.md.
 */

const FAIL_TIMEOUT_S = 3
const UPLINK = { timeout: '2s', deadline: '4s', fail_timeout: `${FAIL_TIMEOUT_S}s`, max_fails: 2, maxage: 0 }
const CLIENT_TIMEOUT = 90_000
/** How long after recovery an uncached package may take to be served: the breaker's probe, plus slack for a loaded machine. */
const RECOVERY_BOUND_MS = (FAIL_TIMEOUT_S + 5) * 1000

interface Mode {
  name: string
  fault: Fault | 'down'
  target?: FaultTarget
}

const MODES: Mode[] = [
  { name: '500', fault: { status: 500 } },
  { name: '502', fault: { status: 502 } },
  { name: '503', fault: { status: 503 } },
  { name: '429 + Retry-After', fault: { status: 429, retryAfter: 2 } },
  { name: 'hang after headers', fault: { body: 'hang' } },
  { name: 'drip 1 byte / 100 ms', fault: { body: 'drip', ms: 100 } },
  { name: 'truncated JSON', fault: { body: 'truncate' }, target: 'packuments' },
  { name: 'truncated tarball', fault: { body: 'truncate' }, target: 'tarballs' },
  { name: 'reset mid-body', fault: { body: 'reset' } },
  { name: 'wrong bytes', fault: { body: 'wrong-bytes' } },
  { name: 'Content-Length too long', fault: { body: 'long-length' } },
  { name: 'down (connection refused)', fault: 'down' },
]

const slug = (name: string) => name.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '')

function describeRun(result: ClientResult, registry: RunningRegistry, from: number): string {
  return [
    `exit ${result.code}${result.timedOut ? ' (timed out)' : ''}`,
    `--- stderr ---\n${result.stderr.slice(-3000)}`,
    `--- server log ---\n${registry.output().slice(from).slice(-4000)}`,
  ].join('\n')
}

/** Polls until the packument and its tarball are served (200), or `boundMs` passed; ms taken, or null. */
async function servedWithin(registry: RunningRegistry, name: string, boundMs: number): Promise<number | null> {
  const started = performance.now()
  while (performance.now() - started < boundMs) {
    const doc = await fetch(`${registry.url}${name}`).catch(() => null)
    if (doc?.status === 200) {
      const body = (await doc.json()) as { versions: Record<string, { dist: { tarball: string } }> }
      const tarball = await fetch(body.versions['1.0.0']?.dist.tarball ?? '').catch(() => null)
      await tarball?.arrayBuffer()
      if (tarball?.status === 200) return performance.now() - started
    } else {
      await doc?.arrayBuffer()
    }
    await sleep(100)
  }
  return null
}

describe('the circuit closes again after an outage (no restart)', () => {
  let upstream: FakeUpstream
  let registry: RunningRegistry
  beforeAll(async () => {
    upstream = await startFakeUpstream({ packages: [await buildPackage({ name: 'later', version: '1.0.0' })] })
    // Verdaccio keys only: this one also runs against older builds.
    registry = await startRegistry({ upstreamUrl: upstream.url, config: { uplinks: { npmjs: { timeout: '2s', fail_timeout: '2s', max_fails: 2 } } } })
  })
  afterAll(async () => {
    await cleanupRegistries()
    await upstream?.stop()
  })

  it('with max_fails 2 and fail_timeout 2s, a never-cached package is served again once the uplink is back', async () => {
    await upstream.stop()
    for (let i = 0; i < 3; i++) expect((await fetch(`${registry.url}later`)).status).toBeGreaterThanOrEqual(400)
    await upstream.start()
    const ms = await servedWithin(registry, 'later', 10_000)
    expect(ms, registry.output().slice(-3000)).not.toBeNull()
  })
})

describe('uplink fault injection with npm', () => {
  let upstream: FakeUpstream
  let registry: RunningRegistry
  let cachedDeps: Record<string, string>
  const rows: Array<{ mode: string; cachedOk: boolean; cachedS: number; duringFault: number; recoveredS: number | null; installOk: boolean }> = []
  const suiteStarted = performance.now()

  beforeAll(async () => {
    const cached: BuiltPackage[] = await Promise.all([
      buildPackage({ name: 'fault-app', version: '1.0.0', dependencies: { 'fault-lib': '^1.0.0', 'fault-util': '^1.0.0' } }),
      buildPackage({ name: 'fault-lib', version: '1.0.0', dependencies: { 'fault-util': '^1.0.0' }, padding: 16 * 1024 }),
      buildPackage({ name: 'fault-util', version: '1.0.0' }),
      buildPackage({ name: '@faults/scoped', version: '1.0.0', padding: 8 * 1024 }),
    ])
    const fresh = await Promise.all(MODES.map((mode) => buildPackage({ name: `fresh-${slug(mode.name)}`, version: '1.0.0', padding: 4 * 1024 })))
    upstream = await startFakeUpstream({ packages: [...cached, ...fresh] })
    registry = await startRegistry({ upstreamUrl: upstream.url, config: { uplinks: { npmjs: UPLINK } } })
    cachedDeps = { 'fault-app': '^1.0.0', '@faults/scoped': '^1.0.0' }
    // Fill the store once, online.
    const project = await makeProject(cachedDeps)
    const warm = await runNpm(['install'], { cwd: project, registry: registry.url, timeoutMs: CLIENT_TIMEOUT })
    expect(warm.code, describeRun(warm, registry, 0)).toBe(0)
  })
  afterAll(async () => {
    const lines = [
      '| fault mode | cached install ok? | cached install (s) | never-cached package during the fault | uncached package served after recovery (s) | npm install of it ok? |',
      '|---|---|---|---|---|---|',
      ...rows.map((r) => `| ${r.mode} | ${r.cachedOk ? 'yes' : 'NO'} | ${r.cachedS.toFixed(1)} | ${r.duringFault} | ${r.recoveredS === null ? 'NOT within bound' : r.recoveredS.toFixed(1)} | ${r.installOk ? 'yes' : 'NO'} |`),
      '',
      `uplink: ${JSON.stringify(UPLINK)}; suite run time ${((performance.now() - suiteStarted) / 1000).toFixed(0)} s`,
    ]
    await mkdir(path.join(REPO_ROOT, 'test-artifacts'), { recursive: true })
    await writeFile(path.join(REPO_ROOT, 'test-artifacts', 'uplink-faults.md'), `${lines.join('\n')}\n`)
    await cleanupRegistries()
    await upstream?.stop()
    await cleanupTempDirs()
  })

  it.each(MODES)('$name: a cached install succeeds, and an uncached package is installable soon after recovery', { timeout: 180_000 }, async (mode) => {
    const fresh = `fresh-${slug(mode.name)}`
    if (mode.fault === 'down') await upstream.stop()
    else upstream.fault(mode.fault, mode.target)
    const mark = registry.output().length

    // (a) Every package of the project is in the store.
    const project = await makeProject(cachedDeps)
    const started = performance.now()
    const install = await runNpm(['install', '--prefer-online'], { cwd: project, registry: registry.url, timeoutMs: CLIENT_TIMEOUT })
    const cachedS = (performance.now() - started) / 1000
    // What a never-cached package answers while the uplink fails (503 unless the fault spares packuments).
    const during = await fetch(`${registry.url}${fresh}`)
    await during.arrayBuffer()

    // (b) Recovery.
    if (mode.fault === 'down') await upstream.start()
    else upstream.fault(null)
    const ms = await servedWithin(registry, fresh, RECOVERY_BOUND_MS)
    const freshProject = await makeProject({})
    const freshInstall = await runNpm(['install', `${fresh}@1.0.0`], { cwd: freshProject, registry: registry.url, timeoutMs: CLIENT_TIMEOUT })
    rows.push({ mode: mode.name, cachedOk: install.code === 0, cachedS, duringFault: during.status, recoveredS: ms === null ? null : ms / 1000, installOk: freshInstall.code === 0 })

    expect(install.code, describeRun(install, registry, mark)).toBe(0)
    if (mode.target !== 'tarballs') {
      expect(during.status).toBe(503)
      expect(Number(during.headers.get('retry-after'))).toBeGreaterThanOrEqual(1)
    }
    expect(ms, registry.output().slice(mark).slice(-4000)).not.toBeNull()
    expect(freshInstall.code, describeRun(freshInstall, registry, mark)).toBe(0)
  })
})

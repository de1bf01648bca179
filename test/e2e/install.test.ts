import { execFile } from 'node:child_process'
import { access, copyFile, readFile, rm } from 'node:fs/promises'
import path from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { promisify } from 'node:util'
import semver from 'semver'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { cleanupTempDirs, makeProject, makeTempDir, runNpm, runPnpm, runYarn, type ClientResult } from '../helpers/clients.js'
import { startFakeUpstream, type FakeUpstream } from '../helpers/fake-upstream.js'
import type { BuiltPackage } from '../helpers/packages.js'
import { PROJECT_BIN, generateProjectPackages } from '../helpers/project.js'
import { cleanupRegistries, startRegistry, type RunningRegistry } from '../helpers/server.js'

/**
 * End-to-end installs of the generated project (35 packages once resolved) with the real npm,
 * pnpm and yarn classic clients, through `sinopia-cli serve` in front of a fake upstream.
 * The tests of one describe block run in order and share its registry: each builds on the
 * store the previous ones filled.
 */

const TEST_TIMEOUT = 180_000
const CLIENT_TIMEOUT = 150_000

interface Tree {
  version: string
  dependencies: Record<string, Tree>
}

/**
 * Run with `node -e` in a project: requires every root dependency, then, from each package's own
 * file, every dependency its index.js reported, so the tree is what Node resolves at run time.
 * It also checks that each package's own report agrees with what the walk found.
 */
const WALK_SCRIPT = `
const { createRequire } = require('node:module')
const path = require('node:path')
function walk(from, name) {
  const req = createRequire(from)
  const exported = req(name)
  const main = req.resolve(name)
  const dependencies = {}
  for (const [dep, reported] of Object.entries(exported.dependencies).sort()) {
    const child = walk(main, dep)
    if (child.version !== reported) throw new Error(name + ' reports ' + dep + '@' + reported + ' but resolves ' + child.version)
    dependencies[dep] = child
  }
  return { version: exported.version, dependencies }
}
const roots = JSON.parse(process.argv[1])
const base = path.join(process.cwd(), 'package.json')
process.stdout.write(JSON.stringify(Object.fromEntries(roots.map((name) => [name, walk(base, name)]))))
`

async function installedTree(cwd: string, roots: string[]): Promise<Record<string, Tree>> {
  const { stdout } = await promisify(execFile)(process.execPath, ['-e', WALK_SCRIPT, JSON.stringify(roots)], { cwd, timeout: 30_000 })
  return JSON.parse(stdout) as Record<string, Tree>
}

/**
 * The tree every client must produce on a fresh install: each range resolves to its highest
 * matching version. (npm's deduplication could only pick a lower one if a lower version
 * satisfied several ranges; in this graph the highest of a major satisfies all of them.)
 * Manifests list optional dependencies in `dependencies` too, and a peer is resolved like a dependency.
 */
function expectedTree(packages: BuiltPackage[], rootDependencies: Record<string, string>): Record<string, Tree> {
  const resolve = (name: string, range: string): Tree => {
    const candidates = packages.filter((pkg) => pkg.name === name)
    const version = semver.maxSatisfying(candidates.map((pkg) => pkg.version), range)
    const pkg = candidates.find((candidate) => candidate.version === version)
    if (!pkg) throw new Error(`no ${name}@${range} in the generated packages`)
    const deps = { ...pkg.manifest.dependencies, ...pkg.manifest.peerDependencies }
    return { version: pkg.version, dependencies: Object.fromEntries(Object.entries(deps).map(([dep, r]) => [dep, resolve(dep, r)])) }
  }
  return Object.fromEntries(Object.entries(rootDependencies).map(([name, range]) => [name, resolve(name, range)]))
}

/** Installed name@version pairs of an npm lockfile (v3: `packages` keyed by node_modules path). */
async function lockedPackages(cwd: string): Promise<{ ids: string[]; resolved: string[] }> {
  const lock = JSON.parse(await readFile(path.join(cwd, 'package-lock.json'), 'utf8')) as {
    packages: Record<string, { version?: string; resolved?: string }>
  }
  const entries = Object.entries(lock.packages).filter(([key]) => key !== '')
  const ids = entries.map(([key, entry]) => `${key.slice(key.lastIndexOf('node_modules/') + 'node_modules/'.length)}@${entry.version}`)
  return { ids: [...new Set(ids)].sort(), resolved: entries.map(([, entry]) => entry.resolved ?? '') }
}

/** The request lines of the server log (`http  GET /path 200 1.2ms 345b hit`) written since `from`. */
function requestLog(registry: RunningRegistry, from = 0): Array<{ method: string; path: string; status: number; cache: string }> {
  const lines = registry.output().slice(from).split('\n')
  return lines.flatMap((line) => {
    const match = / http\s+([A-Z]+) (\S+) (\d{3}) \S+ \S+ (\S+)/.exec(line)
    return match ? [{ method: match[1] as string, path: match[2] as string, status: Number(match[3]), cache: match[4] as string }] : []
  })
}

function describeRun(result: ClientResult, registry: RunningRegistry, from = 0): string {
  return [
    `exit ${result.code} signal ${result.signal}${result.timedOut ? ' (timed out)' : ''}`,
    `--- stdout ---\n${result.stdout.slice(-4000)}`,
    `--- stderr ---\n${result.stderr.slice(-4000)}`,
    `--- server log ---\n${registry.output().slice(from).slice(-6000)}`,
  ].join('\n')
}

function expectSuccess(result: ClientResult, registry: RunningRegistry, from = 0): void {
  expect(result.code, describeRun(result, registry, from)).toBe(0)
}

async function copyProject(from: string, files: string[]): Promise<string> {
  const dir = await makeTempDir('sinopia-project-')
  for (const file of files) await copyFile(path.join(from, file), path.join(dir, file))
  return dir
}

const isTarball = (url: string) => url.includes('/-/')

describe('npm through the registry, online then with the upstream down', () => {
  // Short, so that by the offline runs every packument is stale and the server must ask the uplink.
  const MAXAGE_MS = 1_000
  let upstream: FakeUpstream
  let registry: RunningRegistry
  let packages: BuiltPackage[]
  let rootDependencies: Record<string, string>
  let roots: string[]
  let expected: Record<string, Tree>
  let online: { project: string; locked: string[]; packumentsFetchedBy: number }
  let offlineProject: string

  beforeAll(async () => {
    ;({ packages, rootDependencies } = await generateProjectPackages())
    roots = Object.keys(rootDependencies)
    expected = expectedTree(packages, rootDependencies)
    upstream = await startFakeUpstream({ packages })
    registry = await startRegistry({ upstreamUrl: upstream.url, config: { uplinks: { npmjs: { maxage: '1s' } } } })
  })
  afterAll(async () => {
    await cleanupRegistries()
    await upstream?.stop()
    await cleanupTempDirs()
  })

  it('npm install resolves the whole project through the server, then npm ci reproduces it from the lockfile with a fresh cache', { timeout: TEST_TIMEOUT }, async () => {
    const project = await makeProject(rootDependencies)
    const install = await runNpm(['install'], { cwd: project, registry: registry.url, timeoutMs: CLIENT_TIMEOUT })
    expectSuccess(install, registry)
    const packumentsFetchedBy = Date.now()

    expect(await installedTree(project, roots)).toEqual(expected)
    expect((await installedTree(project, ['alpha'])).alpha?.dependencies['util-core']?.version).toBe('1.1.0')
    await access(path.join(project, 'node_modules', '.bin', PROJECT_BIN))
    const { ids, resolved } = await lockedPackages(project)
    expect(ids.length).toBeGreaterThanOrEqual(30)
    // Every tarball comes from the server, never from the uplink's own URLs.
    for (const url of resolved) expect(url.startsWith(registry.url), url).toBe(true)
    // The upstream saw each packument and each tarball of the tree exactly once (cold cache, one client).
    const upstreamTarballs = upstream.requests.filter((r) => isTarball(r.url)).map((r) => r.url)
    expect(upstreamTarballs.length).toBe(ids.length)
    expect(new Set(upstreamTarballs).size).toBe(upstreamTarballs.length)
    expect(upstream.count('/util-core/-/util-core-1.0.0.tgz')).toBe(0)
    expect(requestLog(registry).filter((r) => r.status >= 500)).toEqual([])

    const copy = await copyProject(project, ['package.json', 'package-lock.json'])
    upstream.reset()
    const mark = registry.output().length
    const ci = await runNpm(['ci'], { cwd: copy, registry: registry.url, timeoutMs: CLIENT_TIMEOUT })
    expectSuccess(ci, registry, mark)
    expect(await installedTree(copy, roots)).toEqual(expected)
    expect((await lockedPackages(copy)).ids).toEqual(ids)
    // Tarballs were all in the store already.
    expect(upstream.requests.filter((r) => isTarball(r.url)).map((r) => r.url)).toEqual([])
    expect(requestLog(registry, mark).filter((r) => isTarball(r.path)).length).toBeGreaterThanOrEqual(ids.length)

    online = { project: copy, locked: ids, packumentsFetchedBy }
  })

  it('with the upstream stopped, npm ci and then npm install (no lockfile, no node_modules) succeed from the store', { timeout: TEST_TIMEOUT }, async () => {
    expect(online, 'needs the online install of the previous test').toBeDefined()
    await upstream.stop()
    upstream.reset()
    // The last packument was fetched before `packumentsFetchedBy`; npm ci usually takes longer
    // than maxage anyway, so this bounded wait is a no-op unless the machine was very fast.
    const staleIn = online.packumentsFetchedBy + MAXAGE_MS + 100 - Date.now()
    if (staleIn > 0) await sleep(staleIn)

    const ciProject = await copyProject(online.project, ['package.json', 'package-lock.json'])
    const ciMark = registry.output().length
    const ci = await runNpm(['ci'], { cwd: ciProject, registry: registry.url, timeoutMs: CLIENT_TIMEOUT })
    expectSuccess(ci, registry, ciMark)
    expect(await installedTree(ciProject, roots)).toEqual(expected)

    offlineProject = ciProject
    await rm(path.join(offlineProject, 'node_modules'), { recursive: true, force: true })
    await rm(path.join(offlineProject, 'package-lock.json'), { force: true })
    const installMark = registry.output().length
    const install = await runNpm(['install'], { cwd: offlineProject, registry: registry.url, timeoutMs: CLIENT_TIMEOUT })
    expectSuccess(install, registry, installMark)
    expect(await installedTree(offlineProject, roots)).toEqual(expected)
    await access(path.join(offlineProject, 'node_modules', '.bin', PROJECT_BIN))
    expect((await lockedPackages(offlineProject)).ids).toEqual(online.locked)

    expect(upstream.count()).toBe(0)
    const served = requestLog(registry, ciMark)
    expect(served.filter((r) => r.status >= 400), describeRun(install, registry, ciMark)).toEqual([])
    // The packuments were stale, so the server did try the uplink and fell back to its store.
    const packuments = requestLog(registry, installMark).filter((r) => !isTarball(r.path))
    expect(packuments.length).toBeGreaterThan(0)
    expect(packuments.filter((r) => r.cache !== 'offline').map((r) => `${r.path} ${r.cache}`)).toEqual([])
  })

  it('with the upstream stopped, a version the upstream has but the store never fetched fails fast with ETARGET', { timeout: TEST_TIMEOUT }, async () => {
    expect(upstream.packument('util-core')?.versions['1.0.0']).toBeDefined()
    const project = await makeProject({})
    const mark = registry.output().length
    const started = Date.now()
    const result = await runNpm(['install', 'util-core@1.0.0'], { cwd: project, registry: registry.url, timeoutMs: 60_000 })
    const elapsed = Date.now() - started
    const details = describeRun(result, registry, mark)
    expect(result.timedOut, details).toBe(false)
    expect(result.code, details).not.toBe(0)
    expect(`${result.stdout}\n${result.stderr}`, details).toMatch(/ETARGET|No matching version/)
    expect(elapsed, details).toBeLessThan(20_000)
    expect(requestLog(registry, mark).filter((r) => r.status >= 500), details).toEqual([])

    // What npm saw: the stored versions only, marked as an offline answer.
    const response = await fetch(`${registry.url}util-core`, { headers: { accept: 'application/vnd.npm.install-v1+json' } })
    expect(response.status).toBe(200)
    expect(response.headers.get('x-sinopia-offline')).toBe('1')
    const doc = (await response.json()) as { versions: Record<string, unknown> }
    expect(Object.keys(doc.versions).sort()).toEqual(['1.1.0', '2.0.0'])
    expect(upstream.count()).toBe(0)
  })
})

describe.each([
  ['pnpm', ['install', '--no-frozen-lockfile'], runPnpm] as const,
  ['yarn classic', ['install'], runYarn] as const,
])('%s through the registry', (client, args, run) => {
  let upstream: FakeUpstream
  let registry: RunningRegistry
  let rootDependencies: Record<string, string>
  let expected: Record<string, Tree>

  beforeAll(async () => {
    const generated = await generateProjectPackages()
    rootDependencies = generated.rootDependencies
    expected = expectedTree(generated.packages, rootDependencies)
    upstream = await startFakeUpstream({ packages: generated.packages })
    registry = await startRegistry({ upstreamUrl: upstream.url })
  })
  afterAll(async () => {
    await cleanupRegistries()
    await upstream?.stop()
    await cleanupTempDirs()
  })

  it(`${client} installs the project with a fresh cache`, { timeout: TEST_TIMEOUT }, async () => {
    const project = await makeProject(rootDependencies)
    const result = await run([...args], { cwd: project, registry: registry.url, timeoutMs: CLIENT_TIMEOUT })
    expectSuccess(result, registry)
    expect(await installedTree(project, Object.keys(rootDependencies))).toEqual(expected)
    await access(path.join(project, 'node_modules', '.bin', PROJECT_BIN))
    expect(requestLog(registry).filter((r) => r.status >= 500)).toEqual([])
    // Everything went through the server: the upstream only ever talked to it.
    expect(upstream.count((r) => !(r.headers['user-agent'] ?? '').startsWith('sinopia-cli/'))).toBe(0)
    expect(upstream.count((r) => isTarball(r.url))).toBeGreaterThanOrEqual(30)
    if (run === runYarn) {
      const resolved = [...(await readFile(path.join(project, 'yarn.lock'), 'utf8')).matchAll(/^\s+resolved "([^"]+)"/gm)].map((m) => m[1] as string)
      expect(resolved.length).toBeGreaterThanOrEqual(30)
      for (const url of resolved) expect(url.startsWith(registry.url), url).toBe(true)
    }
  })
})

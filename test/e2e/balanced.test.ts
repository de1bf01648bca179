import { copyFile, mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { findNginx, startNginx, type RunningNginx } from '../../scripts/bench/nginx.js'
import { Users } from '../../src/core/auth/index.js'
import { KeyedLock } from '../../src/core/fs/lock.js'
import { docOf } from '../helpers/answers.js'
import { cleanupTempDirs, makeProject, makeTempDir, runNpm } from '../helpers/clients.js'
import { startFakeUpstream, type FakeUpstream } from '../helpers/fake-upstream.js'
import { buildPackage, type BuiltPackage } from '../helpers/packages.js'
import { generateProjectPackages } from '../helpers/project.js'
import { freshDatabase } from '../helpers/postgres.js'
import { publishBody } from '../helpers/publish.js'
import { cleanupRegistries, startRegistry, type RunningRegistry } from '../helpers/server.js'

const INSTANCES = 3
const CLIENT_TIMEOUT = 150_000

/**
 * Scale-out as the README's "Scaling out" section sets it up: several `serve` processes on one
 * store (a folder on one host, or a PostgreSQL database for several hosts), Debian's nginx in front as the load balancer (scripts/test-setup.js installs it), the
 * real npm pointed at nginx. Writes spread over every instance must all land, a version taken
 * twice must be refused on whichever instance comes second, and an instance killed in the
 * middle of installs and publishes must lose nothing that was acknowledged.
 */
/** The store the instances share: a storage folder, or a PostgreSQL database (a fresh one on the run's throwaway cluster). */
const BACKENDS: Array<[string, (dir: string) => Promise<string>, { announces: boolean; fetchTurns: boolean }]> = [
  // A folder announces no changes: another instance's search index sees them at its next sync (30 s).
  // Nor does it take fetch turns across processes: each instance fetches a cold package once.
  ['a storage folder', (dir) => Promise.resolve(path.join(dir, 'storage')), { announces: false, fetchTurns: false }],
  ['PostgreSQL', () => freshDatabase(), { announces: true, fetchTurns: true }],
]

describe.each(BACKENDS)('three servers on one store (%s) behind nginx', (_backend, storageFor, { announces, fetchTurns }) => {
  let dir: string
  let upstream: FakeUpstream
  let nginx: RunningNginx
  let instances: RunningRegistry[]
  let lb: string
  let rootDependencies: Record<string, string>
  const auth = `Basic ${Buffer.from('alice:alice-pw').toString('base64')}`

  beforeAll(async () => {
    const bin = findNginx()
    if (!bin) throw new Error('nginx is missing: `npm test` installs it (scripts/test-setup.js)')
    dir = await mkdtemp(path.join(tmpdir(), 'sinopia-balanced-'))
    const htpasswd = path.join(dir, 'htpasswd')
    await new Users(htpasswd, Infinity, new KeyedLock()).add('alice', 'alice-pw')
    const generated = await generateProjectPackages()
    rootDependencies = generated.rootDependencies
    upstream = await startFakeUpstream({ packages: generated.packages })
    const storage = await storageFor(dir)
    const config = { auth: { htpasswd: { file: htpasswd } } }
    instances = await Promise.all(Array.from({ length: INSTANCES }, () => startRegistry({ upstreamUrl: upstream.url, storage, config })))
    nginx = await startNginx({ bin, prefix: path.join(dir, 'nginx'), balance: { servers: instances.map((i) => `127.0.0.1:${i.port}`) } })
    lb = nginx.url
  }, 60_000)
  afterAll(async () => {
    await nginx?.stop()
    await cleanupRegistries()
    await upstream?.stop()
    await cleanupTempDirs()
    await rm(dir, { recursive: true, force: true })
  })

  const publish = (url: string, pkg: BuiltPackage) =>
    fetch(`${url}${pkg.name}`, { method: 'PUT', body: JSON.stringify(publishBody(pkg)), headers: { 'content-type': 'application/json', authorization: auth } }).then(
      async (r) => {
        await r.arrayBuffer()
        return r.status
      },
      () => 0,
    )
  const versionsOn = async (url: string, name: string) => Object.keys((await docOf(await fetch(`${url}${name}`))).versions ?? {}).sort()

  it('npm installs a project through the balancer, every tarball URL pointing at the balancer', { timeout: 180_000 }, async () => {
    const project = await makeProject(rootDependencies)
    const install = await runNpm(['install'], { cwd: project, registry: lb, timeoutMs: CLIENT_TIMEOUT })
    expect(install.code, install.stderr.slice(-3000)).toBe(0)
    const lock = JSON.parse(await readFile(path.join(project, 'package-lock.json'), 'utf8')) as { packages: Record<string, { resolved?: string }> }
    const resolved = Object.entries(lock.packages).filter(([key]) => key !== '').map(([, entry]) => entry.resolved ?? '')
    expect(resolved.length).toBeGreaterThan(20)
    for (const url of resolved) expect(url.startsWith(lb), url).toBe(true)
    // Every instance took part (nginx spreads requests round-robin).
    for (const instance of instances) expect(instance.output()).toMatch(/ http\s+GET /)
  })

  it('100 concurrent publishes of distinct versions, spread over the instances, all end up in the packument', { timeout: 120_000 }, async () => {
    const pkgs = await Promise.all(Array.from({ length: 100 }, (_, i) => buildPackage({ name: 'spread-pkg', version: `1.0.${i}` })))
    const statuses = await Promise.all(pkgs.map((pkg) => publish(lb, pkg)))
    expect(statuses).toEqual(Array(100).fill(201))
    const all = pkgs.map((pkg) => pkg.version).sort()
    // Each instance sees the others' writes (the store's stamps); read each one directly.
    for (const instance of instances) {
      await expect.poll(() => versionsOn(instance.url, 'spread-pkg'), { timeout: 10_000, interval: 200 }).toEqual(all)
    }
  })

  it('of 30 concurrent publishes of one version through the balancer, exactly one wins', { timeout: 60_000 }, async () => {
    const pkgs = await Promise.all(Array.from({ length: 30 }, (_, i) => buildPackage({ name: 'race-pkg', version: '1.0.0', files: { 'index.js': `module.exports = ${i}\n` } })))
    const statuses = await Promise.all(pkgs.map((pkg) => publish(lb, pkg)))
    expect(statuses.filter((s) => s === 201)).toHaveLength(1)
    expect(statuses.filter((s) => s !== 201 && s !== 409 && s !== 403)).toEqual([])
    const winner = pkgs[statuses.indexOf(201)] as BuiltPackage
    const tarball = await fetch(`${lb}race-pkg/-/race-pkg-1.0.0.tgz`)
    expect(Buffer.from(await tarball.arrayBuffer()).equals(winner.tarball)).toBe(true)
  })

  it('50 clients asking the balancer for one cold packument cost the uplink at most one request per instance', { timeout: 60_000 }, async () => {
    upstream.addPackage(await buildPackage({ name: 'cold-pkg', version: '1.0.0' }))
    const answers = await Promise.all(Array.from({ length: 50 }, () => fetch(`${lb}cold-pkg`).then(async (r) => ({ status: r.status, doc: (await r.json()) as { versions?: object } }))))
    expect(answers.map((a) => a.status)).toEqual(Array(50).fill(200))
    for (const answer of answers) expect(Object.keys(answer.doc.versions ?? {})).toEqual(['1.0.0'])
    expect(upstream.count('/cold-pkg')).toBeGreaterThanOrEqual(1)
    expect(upstream.count('/cold-pkg')).toBeLessThanOrEqual(INSTANCES)
    // On a database the instances take turns (the package's fetch turn): one request in all.
    if (fetchTurns) expect(upstream.count('/cold-pkg')).toBe(1)
  })

  if (announces) {
    it('a package published through one instance is found by the search of every instance', { timeout: 60_000 }, async () => {
      const pkg = await buildPackage({ name: 'findable-widget', version: '1.0.0', description: 'a findable widget' })
      expect(await publish(instances[0]!.url, pkg)).toBe(201)
      for (const instance of instances) {
        const found = async () => {
          const answer = (await (await fetch(`${instance.url}-/v1/search?text=findable-widget`)).json()) as { objects: Array<{ package: { name: string } }> }
          return answer.objects.map((o) => o.package.name)
        }
        await expect.poll(found, { timeout: 10_000, interval: 100 }).toContain('findable-widget')
      }
    })
  }

  it('an instance SIGKILLed during installs and publishes loses nothing acknowledged, and installs stay green', { timeout: 240_000 }, async () => {
    const project = await makeProject(rootDependencies)
    const first = await runNpm(['install'], { cwd: project, registry: lb, timeoutMs: CLIENT_TIMEOUT })
    expect(first.code, first.stderr.slice(-3000)).toBe(0)
    const copy = await makeTempDir('sinopia-balanced-ci-')
    for (const file of ['package.json', 'package-lock.json']) await copyFile(path.join(project, file), path.join(copy, file))

    const pkgs = await Promise.all(Array.from({ length: 40 }, (_, i) => buildPackage({ name: 'kill-pkg', version: `2.0.${i}` })))
    const acknowledged: string[] = []
    let next = 0
    const publishing = Promise.all(
      Array.from({ length: 4 }, async () => {
        while (next < pkgs.length) {
          const pkg = pkgs[next++] as BuiltPackage
          if ((await publish(lb, pkg)) === 201) acknowledged.push(pkg.version)
        }
      }),
    )
    const installing = runNpm(['ci'], { cwd: copy, registry: lb, timeoutMs: CLIENT_TIMEOUT })
    // Kill once the run is under way: some publishes acknowledged, others still to come.
    await expect.poll(() => acknowledged.length, { timeout: 60_000, interval: 20 }).toBeGreaterThanOrEqual(8)
    await (instances[1] as RunningRegistry).kill()
    await publishing
    const ci = await installing
    expect(ci.code, ci.stderr.slice(-3000)).toBe(0)
    // nginx took the dead instance out; most publishes after the kill still went through.
    expect(acknowledged.length).toBeGreaterThan(pkgs.length / 2)
    const survivors = instances.filter((_, i) => i !== 1)
    for (const instance of survivors) {
      const seen = await versionsOn(instance.url, 'kill-pkg')
      for (const version of acknowledged) expect(seen, `acknowledged ${version} missing`).toContain(version)
    }
    const again = await runNpm(['ci'], { cwd: copy, registry: lb, timeoutMs: CLIENT_TIMEOUT })
    expect(again.code, again.stderr.slice(-3000)).toBe(0)
  })
})

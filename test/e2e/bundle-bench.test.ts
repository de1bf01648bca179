import { readdir, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildProject, flatLockfile, type Project } from '../../scripts/bench/project.js'
import { startUpstream, type BenchUpstream } from '../../scripts/bench/upstream.js'
import { cleanupTempDirs, makeProject, makeTempDir, runNpm } from '../helpers/clients.js'
import { cleanupRegistries, registryConfig, startRegistry } from '../helpers/server.js'
import { describeResult, runCli } from '../commands/lock-sync-harness.js'
import { stringify } from 'yaml'

/**
 * Issue 15's air-gapped flow at the bench's scale: the project `npm run bench` installs (its 615
 * generated packages, flat: each in its 1.1.0, the lockfile written by the bench's own
 * flatLockfile), served by the bench's fake uplink. A bundle of that lockfile, imported into a
 * registry whose config has no uplink at all, then `npm ci` through that registry. Byte-identical
 * re-creation is checked by bundle.test.ts and, at this scale, by `npm run bench -- --bundle`.
 */

const TIMEOUT = 180_000
const ROOT = { name: 'bench-project', version: '1.0.0' }

describe('a bundle of the bench project (615 packages) installs with npm ci from a registry with no uplink', () => {
  let upstream: BenchUpstream
  let project: Project
  let work: string
  let sourceConfig: string

  beforeAll(async () => {
    upstream = await startUpstream()
    project = buildProject(upstream.url, { twoMajors: false })
    upstream.serve(project.routes)
    work = await makeTempDir('sinopia-bundle-bench-')
    sourceConfig = path.join(work, 'source.yaml')
    await writeFile(sourceConfig, stringify(registryConfig({ storage: path.join(work, 'source'), upstreamUrl: upstream.url })))
    await writeFile(path.join(work, 'package-lock.json'), JSON.stringify(flatLockfile(project, ROOT, upstream.url), null, 2))
  })
  afterAll(async () => {
    await cleanupRegistries()
    await upstream?.close()
    await cleanupTempDirs()
  })

  it('create (fetching into the store), verify, import next to serve, npm ci', { timeout: TIMEOUT }, async () => {
    const count = project.latest.size
    const create = (out: string) => runCli(['bundle', 'create', '--from', 'package-lock.json', '--out', out, '--json', '--config', sourceConfig], { cwd: work, timeoutMs: TIMEOUT })
    const cold = await create('deps.tar')
    expect(cold.code, describeResult(cold)).toBe(0)
    expect(JSON.parse(cold.stdout)).toMatchObject({ written: true, packages: count, versions: count, failed: [] })

    const verify = await runCli(['bundle', 'verify', 'deps.tar', '--json'], { cwd: work })
    expect(verify.code, describeResult(verify)).toBe(0)
    expect(JSON.parse(verify.stdout)).toMatchObject({ ok: true, packages: count, versions: count, blobs: count })

    // The uplink is gone from here on: nothing below can reach it.
    await upstream.close()
    const gapped = await startRegistry()
    const imported = await runCli(['bundle', 'import', 'deps.tar', '--json', '--config', gapped.configFile], { cwd: work, timeoutMs: TIMEOUT })
    expect(imported.code, describeResult(imported)).toBe(0)
    expect(JSON.parse(imported.stdout)).toMatchObject({ ok: true, refused: [] })
    expect((JSON.parse(imported.stdout) as { added: string[] }).added).toHaveLength(count)

    const offline = await makeProject(project.rootDependencies, { name: ROOT.name })
    await writeFile(path.join(offline, 'package-lock.json'), JSON.stringify(flatLockfile(project, ROOT, gapped.url), null, 2))
    const mark = gapped.output().length
    const ci = await runNpm(['ci'], { cwd: offline, registry: gapped.url, timeoutMs: TIMEOUT })
    expect(ci.code, `${describeResult(ci)}\n--- server ---\n${gapped.output().slice(mark).slice(-4000)}`).toBe(0)
    const installed = (await readdir(path.join(offline, 'node_modules'))).filter((entry) => !entry.startsWith('.'))
    const scoped = await Promise.all(installed.filter((e) => e.startsWith('@')).map(async (scope) => (await readdir(path.join(offline, 'node_modules', scope))).length))
    expect(installed.filter((e) => !e.startsWith('@')).length + scoped.reduce((a, b) => a + b, 0)).toBe(count)
    expect(gapped.output().slice(mark)).not.toMatch(/ http\s+GET \S+ [45]\d\d /)
  })
})

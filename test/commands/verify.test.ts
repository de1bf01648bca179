import { readFile, readdir, truncate, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { openStore, type Blobs } from '../../src/core/store/index.js'
import { cleanupTempDirs, isolatedBaseEnv, makeTempDir, REPO_ROOT, runProcess, type ClientResult } from '../helpers/clients.js'
import { startFakeUpstream, type FakeUpstream } from '../helpers/fake-upstream.js'
import { buildPackage, integrityOf, type BuiltPackage } from '../helpers/packages.js'
import { cleanupRegistries, startRegistry, type RunningRegistry } from '../helpers/server.js'

/**
 * `sinopia-cli verify` as built (`npm run build` first), on the storage of a running `serve`:
 * it finds a flipped byte and a truncated blob, exits non-zero, and after --fix the server
 * fetches both tarballs from the uplink again on the next request.
 */

const BIN = path.join(REPO_ROOT, 'bin', 'run.js')

describe('sinopia-cli verify', () => {
  let upstream: FakeUpstream
  let registry: RunningRegistry
  let cwd: string
  let flipped: BuiltPackage
  let cut: BuiltPackage
  let blobs: Blobs

  const cli = (...args: string[]): Promise<ClientResult> => {
    const env: Record<string, string> = { ...isolatedBaseEnv(), HOME: cwd, XDG_CONFIG_HOME: path.join(cwd, 'xdg') }
    delete env.SINOPIA_CONFIG
    return runProcess(process.execPath, [BIN, ...args, '--config', registry.configFile], { cwd, env, timeoutMs: 30_000 })
  }
  const get = async (pkg: BuiltPackage) => Buffer.from(await (await fetch(`${registry.url}${pkg.name}/-/${pkg.filename}`)).arrayBuffer())
  const fetches = (pkg: BuiltPackage) => upstream.count((r) => r.url.endsWith(`/${pkg.filename}`))

  beforeAll(async () => {
    flipped = await buildPackage({ name: 'flipped', version: '1.0.0', padding: 10_000 })
    cut = await buildPackage({ name: '@s/cut', version: '1.0.0', padding: 10_000 })
    upstream = await startFakeUpstream({ packages: [flipped, cut] })
    registry = await startRegistry({ upstreamUrl: upstream.url })
    cwd = await makeTempDir('sinopia-verify-cli-')
    blobs = (await openStore(registry.storage)).blobs
  })
  afterAll(async () => {
    await cleanupRegistries()
    await upstream?.stop()
    await cleanupTempDirs()
  })

  it('reports a healthy store with exit 0', async () => {
    for (const pkg of [flipped, cut]) expect((await get(pkg)).equals(pkg.tarball)).toBe(true)
    const result = await cli('verify')
    expect(result.code, result.stderr).toBe(0)
    expect(result.stdout).toMatch(/checked 2 blobs \(.*\), 2 index entries, 2 packages\nno problems found/)
  })

  it('finds a flipped byte and a truncated blob; --fix makes the server fetch them again', async () => {
    const file = blobs.where(integrityOf(flipped.tarball))
    const data = await readFile(file)
    data[5000] = (data[5000] as number) ^ 0x40
    await writeFile(file, data)
    await truncate(blobs.where(integrityOf(cut.tarball)), 1000)

    const found = await cli('verify', '--json')
    expect(found.code).toBe(1)
    const report = JSON.parse(found.stdout) as { problems: number; blobs: { corrupt: Array<{ integrity: string }> } }
    expect(report.problems).toBe(2)
    expect(report.blobs.corrupt.map((c) => c.integrity).sort()).toEqual([integrityOf(flipped.tarball), integrityOf(cut.tarball)].sort())

    const fixed = await cli('verify', '--fix')
    expect(fixed.code, fixed.stdout + fixed.stderr).toBe(0)
    expect(fixed.stdout).toMatch(/corrupt blob sha512-.*: moved to .*quarantine/)
    expect(fixed.stdout).toMatch(/^flipped@1\.0\.0: blob corrupt; reference dropped, the server fetches it again$/m)
    expect(fixed.stdout).toMatch(/fixed: no problems remain/)
    expect(await readdir(path.join(registry.storage, 'quarantine', 'blobs'))).toHaveLength(2)

    const before = [fetches(flipped), fetches(cut)]
    for (const pkg of [flipped, cut]) expect((await get(pkg)).equals(pkg.tarball)).toBe(true)
    expect([fetches(flipped), fetches(cut)]).toEqual(before.map((n) => n + 1))
    expect((await cli('verify')).code).toBe(0)
  })
})

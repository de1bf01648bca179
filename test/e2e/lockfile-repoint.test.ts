import { copyFile, readFile } from 'node:fs/promises'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { describeResult, runCli } from '../commands/lock-sync-harness.js'
import { cleanupTempDirs, makeProject, makeTempDir, runYarn } from '../helpers/clients.js'
import { startFakeUpstream, type FakeUpstream } from '../helpers/fake-upstream.js'
import { buildPackage } from '../helpers/packages.js'
import { cleanupRegistries, startRegistry } from '../helpers/server.js'

/**
 * yarn 1 installs from the `resolved` URLs of yarn.lock as written: a lockfile made against
 * another registry (here the fake upstream, standing for a company mirror) cannot install
 * through sinopia once that host is gone, whatever `--registry` says. lock-sync says so, and
 * after `lockfile repoint` the frozen install works through sinopia alone.
 */
describe('a yarn classic lockfile naming another registry', () => {
  let upstream: FakeUpstream

  beforeAll(async () => {
    upstream = await startFakeUpstream({
      packages: await Promise.all([
        buildPackage({ name: 'left', version: '1.2.0', dependencies: { right: '^2.0.0' } }),
        buildPackage({ name: 'right', version: '2.1.0' }),
        buildPackage({ name: '@corp/tool', version: '3.0.0', dependencies: { right: '^2.0.0' } }),
      ]),
    })
  })
  afterAll(async () => {
    await cleanupRegistries()
    await upstream?.stop()
    await cleanupTempDirs()
  })

  it('installs offline through the registry after lockfile repoint', { timeout: 180_000 }, async () => {
    const project = await makeProject({ left: '^1.0.0', '@corp/tool': '^3.0.0' })
    const written = await runYarn(['install'], { cwd: project, registry: upstream.url })
    expect(written.code, describeResult(written)).toBe(0)
    const lockfile = path.join(project, 'yarn.lock')
    expect(await readFile(lockfile, 'utf8')).toContain(`resolved "${upstream.url}left/-/left-1.2.0.tgz`)

    const registry = await startRegistry({ upstreamUrl: upstream.url })
    const sync = await runCli(['lock-sync', 'yarn.lock', '--config', registry.configFile], { cwd: project })
    expect(sync.code, describeResult(sync)).toBe(0)
    expect(sync.stderr).toContain(`names 127.0.0.1:${upstream.port}`)
    expect(sync.stderr).toContain('lockfile repoint yarn.lock --to')
    await upstream.stop()

    const offline = await makeTempDir('sinopia-repoint-')
    for (const file of ['package.json', 'yarn.lock']) await copyFile(path.join(project, file), path.join(offline, file))
    const before = await runYarn(['install', '--frozen-lockfile'], { cwd: offline, registry: registry.url, timeoutMs: 60_000 })
    expect(before.code, 'yarn 1 goes to the host in the lockfile').not.toBe(0)

    const repoint = await runCli(['lockfile', 'repoint', 'yarn.lock', '--to', registry.url], { cwd: offline })
    expect(repoint.code, describeResult(repoint)).toBe(0)
    expect(repoint.stdout).toContain('repointed 3 URLs')
    const after = await runYarn(['install', '--frozen-lockfile'], { cwd: offline, registry: registry.url, timeoutMs: 60_000 })
    expect(after.code, `${describeResult(after)}\n--- server ---\n${registry.output().slice(-3000)}`).toBe(0)
    const installed = JSON.parse(await readFile(path.join(offline, 'node_modules', 'right', 'package.json'), 'utf8')) as { version: string }
    expect(installed.version).toBe('2.1.0')
  })
})

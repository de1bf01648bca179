import { access, copyFile, mkdir, readFile, rm } from 'node:fs/promises'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { parseLockfile } from '../../src/core/lockfiles/index.js'
import { openStore, tarballKey } from '../../src/core/store/index.js'
import { cleanupTempDirs, makeProject, makeTempDir, runNpm, runPnpm, runYarn, runYarnBerry, type ClientOptions, type ClientResult } from '../helpers/clients.js'
import { startFakeUpstream, type FakeUpstream } from '../helpers/fake-upstream.js'
import { buildPackage, type BuiltPackage } from '../helpers/packages.js'
import { generateProjectPackages } from '../helpers/project.js'
import { cleanupRegistries, startRegistry } from '../helpers/server.js'
import { describeResult, parseSummary, runCli } from '../commands/lock-sync-harness.js'

/**
 * The CI gate the issue describes, with the real clients: a lockfile written by npm, pnpm, yarn
 * classic or yarn berry (through `serve`, in front of a fake upstream), then a lock-sync into an
 * emptied store while `serve` runs on it, then the upstream stopped: the client's frozen install
 * must succeed through `serve` alone. Likewise `mirror --deps` then `npm install SPEC`.
 */

const TEST_TIMEOUT = 180_000
const CLIENT_TIMEOUT = 120_000

type Run = (args: string[], opts: ClientOptions) => Promise<ClientResult>

const CLIENTS: Array<{ client: string; lockfile: string; run: Run; frozen: string }> = [
  { client: 'npm', lockfile: 'package-lock.json', run: runNpm, frozen: 'ci' },
  { client: 'pnpm', lockfile: 'pnpm-lock.yaml', run: runPnpm, frozen: 'install --frozen-lockfile' },
  { client: 'yarn classic', lockfile: 'yarn.lock', run: runYarn, frozen: 'install --frozen-lockfile' },
  // berry's own name for it (--frozen-lockfile is its deprecated alias).
  { client: 'yarn berry', lockfile: 'yarn.lock', run: runYarnBerry, frozen: 'install --immutable' },
]

/** An optional dependency for another platform: lockfiles list it, installs here skip it, lock-sync must fetch it. */
const OTHER_PLATFORM = { name: 'plat-darwin-arm64', version: '1.0.0' }

describe('offline CI from a lockfile: lock-sync, then a frozen install with the upstream stopped', () => {
  let upstream: FakeUpstream
  let packages: BuiltPackage[]
  let rootDependencies: Record<string, string>

  beforeAll(async () => {
    const generated = await generateProjectPackages()
    const other = await buildPackage({ ...OTHER_PLATFORM, extra: { os: ['darwin'], cpu: ['arm64'] } })
    packages = [...generated.packages, other]
    rootDependencies = generated.rootDependencies
    upstream = await startFakeUpstream({ packages })
  })
  afterAll(async () => {
    await cleanupRegistries()
    await upstream?.stop()
    await cleanupTempDirs()
  })

  it.each(CLIENTS)('$client $frozen succeeds offline after lock-sync of its $lockfile', { timeout: TEST_TIMEOUT }, async ({ client, lockfile, run, frozen }) => {
    await upstream.start()
    const storage = path.join(await makeTempDir('sinopia-offline-'), 'storage')
    const registry = await startRegistry({ upstreamUrl: upstream.url, storage })
    try {
      // 1. The lockfile, written by the client itself.
      const project = await makeProject(rootDependencies, { extra: { optionalDependencies: { [OTHER_PLATFORM.name]: '^1.0.0' } } })
      const written = await run(['install'], { cwd: project, registry: registry.url, timeoutMs: CLIENT_TIMEOUT })
      expect(written.code, describeResult(written)).toBe(0)
      const locked = parseLockfile(lockfile, await readFile(path.join(project, lockfile), 'utf8'))
      expect(locked.packages.length, client).toBeGreaterThanOrEqual(35)
      expect(locked.packages.map((p) => p.name)).toContain(OTHER_PLATFORM.name)

      // 2. An empty store under a fresh serve (same port), and lock-sync into it while serve runs.
      await registry.stop()
      await rm(storage, { recursive: true, force: true })
      await mkdir(storage)
      await registry.restart()
      upstream.reset()
      const sync = await runCli(['lock-sync', lockfile, '--json', '--config', registry.configFile], { cwd: project })
      expect(sync.code, describeResult(sync)).toBe(0)
      expect(parseSummary(sync)).toMatchObject({ total: locked.packages.length, fetched: locked.packages.length, failed: [] })
      const store = await openStore(storage)
      expect(await store.blobs.has(undefined, tarballKey(OTHER_PLATFORM.name, OTHER_PLATFORM.version))).toBe(true)

      // 3. Again: nothing to do, and not one upstream request.
      upstream.reset()
      const again = await runCli(['lock-sync', lockfile, '--json', '--config', registry.configFile], { cwd: project })
      expect(parseSummary(again)).toMatchObject({ present: locked.packages.length, fetched: 0 })
      expect(upstream.count()).toBe(0)

      // 4. The upstream gone: the frozen install of a clean copy, with an empty client cache, through serve.
      await upstream.stop()
      const offline = await makeTempDir('sinopia-offline-project-')
      for (const file of ['package.json', lockfile]) await copyFile(path.join(project, file), path.join(offline, file))
      const mark = registry.output().length
      const result = await run(frozen.split(' '), { cwd: offline, registry: registry.url, timeoutMs: CLIENT_TIMEOUT })
      expect(result.code, `${describeResult(result)}\n--- server ---\n${registry.output().slice(mark).slice(-4000)}`).toBe(0)
      if (client === 'yarn berry') await access(path.join(offline, '.pnp.cjs'))
      else await access(path.join(offline, 'node_modules', '@acme', 'native', 'package.json'))
      if (client === 'npm') {
        // Not only npm ci: with no lockfile at all, npm install resolves from the stored packuments.
        const again = await makeTempDir('sinopia-offline-project-')
        await copyFile(path.join(project, 'package.json'), path.join(again, 'package.json'))
        const resolved = await run(['install'], { cwd: again, registry: registry.url, timeoutMs: CLIENT_TIMEOUT })
        expect(resolved.code, describeResult(resolved)).toBe(0)
        await access(path.join(again, 'node_modules', '@tools', 'cli', 'package.json'))
      }
      expect(upstream.count()).toBe(0)
      expect(registry.output().slice(mark)).not.toMatch(/ http\s+GET \S+ [45]\d\d /)
    } finally {
      await registry.cleanup()
    }
  })

  it('mirror --deps SPEC, then npm install SPEC into an empty project with the upstream stopped', { timeout: TEST_TIMEOUT }, async () => {
    await upstream.start()
    const registry = await startRegistry({ upstreamUrl: upstream.url })
    try {
      const project = await makeProject({})
      const mirror = await runCli(['mirror', '@acme/core', 'alpha@^1', '--deps', '--json', '--config', registry.configFile], { cwd: project })
      expect(mirror.code, describeResult(mirror)).toBe(0)
      // @acme/core → utils (util-core@2, delta → epsilon) and config (zeta → eta); alpha → beta → gamma, util-core@1, tiny-logger, color-names.
      expect(parseSummary(mirror)).toMatchObject({ fetched: 14, failed: [] })

      await upstream.stop()
      const mark = registry.output().length
      const result = await runNpm(['install', '@acme/core', 'alpha@^1'], { cwd: project, registry: registry.url, timeoutMs: CLIENT_TIMEOUT })
      expect(result.code, `${describeResult(result)}\n--- server ---\n${registry.output().slice(mark).slice(-4000)}`).toBe(0)
      for (const dir of ['@acme/core', '@acme/utils', 'alpha', 'eta', 'color-names']) await access(path.join(project, 'node_modules', dir, 'package.json'))
      const installed = JSON.parse(await readFile(path.join(project, 'package.json'), 'utf8')) as { dependencies: Record<string, string> }
      expect(Object.keys(installed.dependencies).sort()).toEqual(['@acme/core', 'alpha'])
      expect(registry.output().slice(mark)).not.toMatch(/ http\s+GET \S+ [45]\d\d /)
    } finally {
      await registry.cleanup()
    }
  })
})

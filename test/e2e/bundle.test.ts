import { createHash, generateKeyPairSync } from 'node:crypto'
import { access, copyFile, readFile, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { readManifest } from '../../src/core/bundle/index.js'
import { parseLockfile } from '../../src/core/lockfiles/index.js'
import { openStore, tarballKey } from '../../src/core/store/index.js'
import { cleanupTempDirs, makeProject, makeTempDir, runNpm, runPnpm, runYarn, runYarnBerry, type ClientOptions, type ClientResult } from '../helpers/clients.js'
import { startFakeUpstream, type FakeUpstream } from '../helpers/fake-upstream.js'
import { buildPackage, type BuiltPackage } from '../helpers/packages.js'
import { generateProjectPackages } from '../helpers/project.js'
import { cleanupRegistries, startRegistry, type RunningRegistry } from '../helpers/server.js'
import { cliWorkspace, describeResult, runCli } from '../commands/lock-sync-harness.js'

/**
 * The air-gapped flow of issue 15 with the real clients: lockfiles written through a registry in
 * front of a fake upstream, a bundle created from that (warm) store, imported into a registry
 * whose config has no uplink at all while it serves, then frozen installs through it.
 */

const TEST_TIMEOUT = 180_000
const CLIENT_TIMEOUT = 120_000
const sha256 = async (file: string) => createHash('sha256').update(await readFile(file)).digest('hex')

interface Summary {
  written?: boolean
  packages?: number
  versions?: number
  sha256?: string
  excluded?: number
  failed?: Array<{ package: string }>
  ok?: boolean
  added?: string[]
  present?: string[]
  refused?: Array<{ package?: string; message: string }>
  problems?: Array<{ package?: string; message: string }>
}
const json = (stdout: string) => JSON.parse(stdout) as Summary

describe('air-gapped installs: bundle create, verify, import, then installs from a registry with no uplink', () => {
  let upstream: FakeUpstream
  let packages: BuiltPackage[]
  let source: RunningRegistry
  let work: string
  type Client = 'npm' | 'pnpm' | 'yarn' | 'berry'
  type Run = (args: string[], opts: ClientOptions) => Promise<ClientResult>
  const CLIENTS: Array<{ client: Client; run: Run; lockfile: string; frozen: string[] }> = [
    { client: 'npm', run: runNpm, lockfile: 'package-lock.json', frozen: ['ci'] },
    { client: 'pnpm', run: runPnpm, lockfile: 'pnpm-lock.yaml', frozen: ['install', '--frozen-lockfile'] },
    { client: 'yarn', run: runYarn, lockfile: 'yarn.lock', frozen: ['install', '--frozen-lockfile'] },
    { client: 'berry', run: runYarnBerry, lockfile: 'yarn.lock', frozen: ['install', '--immutable'] },
  ]
  const projects: Record<Client, string> = { npm: '', pnpm: '', yarn: '', berry: '' }

  beforeAll(async () => {
    const generated = await generateProjectPackages()
    packages = generated.packages
    upstream = await startFakeUpstream({ packages })
    source = await startRegistry({ upstreamUrl: upstream.url })
    work = await makeTempDir('sinopia-bundle-e2e-')
    for (const { client, run } of CLIENTS) {
      projects[client] = await makeProject(generated.rootDependencies)
      const installed = await run(['install'], { cwd: projects[client], registry: source.url, timeoutMs: CLIENT_TIMEOUT })
      expect(installed.code, describeResult(installed)).toBe(0)
    }
  }, TEST_TIMEOUT)
  afterAll(async () => {
    await cleanupRegistries()
    await upstream?.stop()
    await cleanupTempDirs()
  })

  const create = (args: string[]) => runCli(['bundle', 'create', ...args, '--json', '--config', source.configFile], { cwd: work, timeoutMs: CLIENT_TIMEOUT })

  it('npm ci, pnpm and both yarns install frozen lockfiles from a registry with no uplink that imported the bundle', { timeout: 2 * TEST_TIMEOUT }, async () => {
    const lockfiles = CLIENTS.map(({ client, lockfile }) => path.join(projects[client], lockfile))
    const first = await create([...lockfiles.flatMap((f) => ['--from', f]), '--out', 'deps.tar'])
    expect(first.code, describeResult(first)).toBe(0)
    const locked = new Set(
      (await Promise.all(lockfiles.map(async (f) => parseLockfile(f, await readFile(f, 'utf8')).packages))).flat().map((p) => `${p.name}@${p.version}`),
    )
    expect(json(first.stdout)).toMatchObject({ written: true, versions: locked.size, failed: [] })
    // Two runs over the same inputs: the same bytes.
    const second = await create([...lockfiles.flatMap((f) => ['--from', f]), '--out', 'again.tar'])
    expect(second.code, describeResult(second)).toBe(0)
    expect(await sha256(path.join(work, 'again.tar'))).toBe(await sha256(path.join(work, 'deps.tar')))
    expect(json(second.stdout).sha256).toBe(await sha256(path.join(work, 'deps.tar')))

    const verify = await runCli(['bundle', 'verify', 'deps.tar'], { cwd: work })
    expect(verify.code, describeResult(verify)).toBe(0)
    expect(verify.stdout).toMatch(/\nok$/m)
    const list = await runCli(['bundle', 'list', 'deps.tar'], { cwd: work })
    expect(list.stdout).toMatch(/@acme\/native-binding\s+1\.0\.0/)

    // The air-gapped registry: no uplink in its config; the import runs next to it.
    const gapped = await startRegistry()
    expect(gapped.output()).not.toMatch(/uplink/i)
    const imported = await runCli(['bundle', 'import', 'deps.tar', '--json', '--config', gapped.configFile], { cwd: work })
    expect(imported.code, describeResult(imported)).toBe(0)
    expect(json(imported.stdout)).toMatchObject({ ok: true, refused: [] })
    expect(json(imported.stdout).added).toHaveLength(locked.size)

    await upstream.stop()
    try {
      for (const { client, run, frozen, lockfile } of CLIENTS) {
        const offline = await makeTempDir(`sinopia-gapped-${client}-`)
        for (const file of ['package.json', lockfile]) await copyFile(path.join(projects[client], file), path.join(offline, file))
        if (client === 'yarn') {
          // yarn 1 fetches the resolved URLs as written (the connected registry's): point them here.
          const repoint = await runCli(['lockfile', 'repoint', 'yarn.lock', '--to', gapped.url], { cwd: offline })
          expect(repoint.code, describeResult(repoint)).toBe(0)
        }
        const mark = gapped.output().length
        const result = await run(frozen, { cwd: offline, registry: gapped.url, timeoutMs: CLIENT_TIMEOUT })
        expect(result.code, `${client}: ${describeResult(result)}\n--- server ---\n${gapped.output().slice(mark).slice(-4000)}`).toBe(0)
        if (client === 'berry') await access(path.join(offline, '.pnp.cjs'))
        else await access(path.join(offline, 'node_modules', '@acme', 'native', 'package.json'))
        expect(gapped.output().slice(mark)).not.toMatch(/ http\s+GET \S+ [45]\d\d /)
      }
    } finally {
      await upstream.start()
    }
  })

  it('a delta bundle (--since) carries only the new version, and importing it makes it installable', { timeout: TEST_TIMEOUT }, async () => {
    const base = await create(['--from', path.join(projects.npm, 'package-lock.json'), '--out', 'base.tar'])
    expect(base.code, describeResult(base)).toBe(0)
    upstream.addPackage(await buildPackage({ name: 'util-core', version: '2.1.0' }))
    // Another connected machine, with an empty store, makes the delta.
    const other = await cliWorkspace(upstream.url)
    const delta = await runCli(['bundle', 'create', '--spec', 'util-core@^2', '--spec', 'util-core@2.0.0', '--since', path.join(work, 'base.tar'), '--out', 'delta.tar', '--json', '--config', other.config], { cwd: work })
    expect(delta.code, describeResult(delta)).toBe(0)
    expect(json(delta.stdout)).toMatchObject({ versions: 1, excluded: 1 })
    expect((await readManifest(path.join(work, 'delta.tar'))).packages.map((p) => p.versions.map((v) => `${p.name}@${v.version}`)).flat()).toEqual(['util-core@2.1.0'])

    const gapped = await startRegistry()
    const versionsServed = async () => Object.keys(((await (await fetch(new URL('util-core', gapped.url))).json()) as { versions: Record<string, unknown> }).versions)
    for (const file of ['base.tar', 'delta.tar']) {
      const imported = await runCli(['bundle', 'import', file, '--json', '--config', gapped.configFile], { cwd: work })
      expect(imported.code, describeResult(imported)).toBe(0)
      // The running serve has the package in memory now: the next import must still be seen.
      if (file === 'base.tar') expect(await versionsServed()).not.toContain('2.1.0')
    }
    const response = await fetch(new URL('util-core', gapped.url))
    const doc = (await response.json()) as { versions: Record<string, unknown>; 'dist-tags': Record<string, string> }
    expect(Object.keys(doc.versions)).toContain('2.1.0')
    expect(doc['dist-tags'].latest).toBe('2.1.0')
    const project = await makeProject({ 'util-core': '^2.1.0' })
    const installed = await runNpm(['install'], { cwd: project, registry: gapped.url, timeoutMs: CLIENT_TIMEOUT })
    expect(installed.code, describeResult(installed)).toBe(0)
    expect(JSON.parse(await readFile(path.join(project, 'node_modules', 'util-core', 'package.json'), 'utf8'))).toMatchObject({ version: '2.1.0' })
  })

  it('a bundle with one flipped byte is refused, naming the package, and nothing of it is imported', { timeout: TEST_TIMEOUT }, async () => {
    const made = await create(['--spec', '@acme/native-binding@1.0.0', '--spec', 'alpha@1.0.0', '--out', 'flip.tar'])
    expect(made.code, describeResult(made)).toBe(0)
    const file = path.join(work, 'flip.tar')
    const manifest = await readManifest(file)
    const integrity = manifest.packages.find((p) => p.name === '@acme/native-binding')?.versions[0]?.integrity ?? ''
    const store = await openStore(source.storage)
    const blob = await store.blobs.open(integrity, tarballKey('@acme/native-binding', '1.0.0'))
    expect(blob).not.toBeNull()
    const sample = Buffer.alloc(32)
    await blob?.handle.read(sample, 0, 32, 20_000)
    await blob?.handle.close()
    const bytes = await readFile(file)
    const at = bytes.indexOf(sample)
    expect(at).toBeGreaterThan(0)
    bytes[at] = (bytes[at] ?? 0) ^ 0x01
    await writeFile(file, bytes)

    const verify = await runCli(['bundle', 'verify', 'flip.tar', '--json'], { cwd: work })
    expect(verify.code).toBe(1)
    expect(json(verify.stdout).problems).toEqual([expect.objectContaining({ package: '@acme/native-binding@1.0.0' })])
    const gapped = await startRegistry()
    const imported = await runCli(['bundle', 'import', 'flip.tar', '--config', gapped.configFile], { cwd: work })
    expect(imported.code).toBe(1)
    expect(imported.stdout).toMatch(/@acme\/native-binding@1\.0\.0: its tarball .* does not hash/)
    expect(imported.stdout).toMatch(/nothing was imported/)
    for (const name of ['alpha', '@acme/native-binding']) expect((await fetch(new URL(name.replace('/', '%2f'), gapped.url))).status).toBe(404)
    expect(await (await openStore(gapped.storage)).packages.list()).toEqual([])
  })

  it('a signed bundle is refused with the wrong key and accepted with the right one', { timeout: TEST_TIMEOUT }, async () => {
    const keys: Record<string, string> = {}
    for (const who of ['ours', 'theirs']) {
      const pair = generateKeyPairSync('ed25519')
      keys[`${who}.key`] = path.join(work, `${who}.key`)
      keys[`${who}.pub`] = path.join(work, `${who}.pub`)
      await writeFile(keys[`${who}.key`] as string, pair.privateKey.export({ type: 'pkcs8', format: 'pem' }))
      await writeFile(keys[`${who}.pub`] as string, pair.publicKey.export({ type: 'spki', format: 'pem' }))
    }
    const made = await create(['--spec', 'alpha@1.0.0', '--deps', '--out', 'signed.tar', '--sign', keys['ours.key'] as string])
    expect(made.code, describeResult(made)).toBe(0)
    const gapped = await startRegistry()
    const wrong = await runCli(['bundle', 'import', 'signed.tar', '--require-signature', keys['theirs.pub'] as string, '--config', gapped.configFile], { cwd: work })
    expect(wrong.code).toBe(1)
    expect(wrong.stdout).toMatch(/not by the required key/)
    expect(await (await openStore(gapped.storage)).packages.list()).toEqual([])
    const right = await runCli(['bundle', 'import', 'signed.tar', '--require-signature', keys['ours.pub'] as string, '--json', '--config', gapped.configFile], { cwd: work })
    expect(right.code, describeResult(right)).toBe(0)
    expect(json(right.stdout).added).toContain('alpha@1.0.0')
  })
})

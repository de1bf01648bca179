import { access, readFile } from 'node:fs/promises'
import path from 'node:path'
import semver from 'semver'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { cleanupTempDirs, makeProject, runNpm, runPnpm, runProcess, runYarn, type ClientOptions, type ClientResult } from './clients.js'
import { startFakeUpstream, type FakeUpstream } from './fake-upstream.js'
import { PROJECT_BIN, generateProjectPackages } from './project.js'

type Runner = (args: string[], opts: ClientOptions) => Promise<ClientResult>

describe('generateProjectPackages', () => {
  it('makes a graph of at least 30 packages with scopes, majors, bin, optional and peer dependencies', async () => {
    const { packages, rootDependencies } = await generateProjectPackages()
    const names = new Set(packages.map((pkg) => pkg.name))
    expect(names.size).toBeGreaterThanOrEqual(30)
    expect([...names].filter((name) => name.startsWith('@acme/')).length).toBeGreaterThan(2)
    expect([...names].filter((name) => name.startsWith('@tools/')).length).toBeGreaterThan(2)
    const versionsOf = (name: string) => packages.filter((pkg) => pkg.name === name).map((pkg) => pkg.version)
    expect([...names].filter((name) => versionsOf(name).length >= 2).length).toBeGreaterThan(3)
    expect(packages.some((pkg) => pkg.manifest.bin !== undefined)).toBe(true)
    expect(packages.some((pkg) => pkg.manifest.optionalDependencies !== undefined)).toBe(true)
    const withPeer = packages.find((pkg) => pkg.manifest.peerDependencies !== undefined)
    const [peer, peerRange] = Object.entries(withPeer?.manifest.peerDependencies ?? {})[0] ?? []
    expect(rootDependencies[peer as string]).toBe(peerRange)

    // Every range in the graph resolves to a published version.
    for (const deps of [rootDependencies, ...packages.map((pkg) => ({ ...pkg.manifest.dependencies, ...pkg.manifest.peerDependencies }))]) {
      for (const [name, range] of Object.entries(deps)) expect(semver.maxSatisfying(versionsOf(name), range), `${name}@${range}`).not.toBeNull()
    }
    // Identities are unique and stable.
    expect(new Set(packages.map((pkg) => `${pkg.name}@${pkg.version}`)).size).toBe(packages.length)
    const again = await generateProjectPackages()
    expect(again.packages.map((pkg) => pkg.manifest.dist.integrity)).toEqual(packages.map((pkg) => pkg.manifest.dist.integrity))
  })
})

describe('installing the project from the fake upstream', () => {
  let upstream: FakeUpstream
  let rootDependencies: Record<string, string>

  beforeAll(async () => {
    const generated = await generateProjectPackages()
    rootDependencies = generated.rootDependencies
    upstream = await startFakeUpstream({ packages: generated.packages })
  })
  afterAll(async () => {
    await upstream.stop()
    await cleanupTempDirs()
  })

  const clients: Array<[string, Runner]> = [
    ['npm', runNpm],
    ['pnpm', runPnpm],
    ['yarn', runYarn],
  ]

  it.each(clients)('%s installs the whole graph, nesting the older majors', async (client, run) => {
    const cwd = await makeProject(rootDependencies)
    const result = await run(['install'], { cwd, registry: upstream.url })
    expect(result.code, `${result.stdout}\n${result.stderr}`).toBe(0)

    const probe = `console.log(JSON.stringify([require('alpha'), require('@acme/plugin'), require('@tools/fmt'), require('@tools/lint'), require('diamond-top'), require('@acme/native'), require('util-core/package.json').version]))`
    const out = await runProcess(process.execPath, ['-e', probe], { cwd, env: { PATH: process.env.PATH ?? '' } })
    expect(out.code, out.stderr).toBe(0)
    const [alpha, plugin, fmt, lint, diamond, native, rootUtil] = JSON.parse(out.stdout) as Array<{ dependencies: Record<string, string> }>
    expect(rootUtil).toBe('2.0.0')
    expect(alpha?.dependencies['util-core']).toBe('1.1.0')
    expect(plugin?.dependencies['@acme/host']).toBe('2.0.0')
    expect(fmt?.dependencies['@tools/shared']).toBe('1.1.0')
    expect(lint?.dependencies['@tools/shared']).toBe('2.0.0')
    expect(diamond?.dependencies).toEqual({ 'diamond-left': '1.0.0', 'diamond-right': '1.0.0' })
    expect(native?.dependencies['@acme/native-binding']).toBe('1.0.0')
    await access(path.join(cwd, 'node_modules', '.bin', PROJECT_BIN))

    const agent = client === 'npm' ? 'npm/' : `${client}/`
    expect(upstream.count((r) => r.headers['user-agent']?.startsWith(agent) ?? false)).toBeGreaterThan(30)
  })

  it('isolates the clients from the parent environment', async () => {
    const saved = { ...process.env }
    Object.assign(process.env, { npm_config_registry: 'http://127.0.0.1:9/', npm_config_cache: '/nonexistent', HTTP_PROXY: 'http://127.0.0.1:9' })
    try {
      const cwd = await makeProject({})
      const registry = await runNpm(['config', 'get', 'registry'], { cwd, registry: upstream.url })
      expect(registry.stdout.trim()).toBe(upstream.url)
      const home = await runNpm(['config', 'get', 'userconfig'], { cwd, registry: upstream.url, env: { EXTRA: '1' } })
      expect(home.stdout.trim()).toMatch(/sinopia-home-/)
      const pnpm = await runPnpm(['config', 'get', 'registry'], { cwd, registry: upstream.url })
      expect(pnpm.stdout.trim()).toBe(upstream.url)
      const yarn = await runYarn(['config', 'get', 'registry'], { cwd, registry: upstream.url })
      expect(yarn.stdout.trim()).toBe(upstream.url)
      const userconfig = await readFile(home.stdout.trim(), 'utf8').catch(() => 'removed')
      expect(userconfig).toBe('removed')
    } finally {
      process.env = saved
    }
  })

  it('returns failures instead of throwing, and kills the process group on timeout', async () => {
    const cwd = await makeProject({})
    const missing = await runNpm(['view', 'no-such-package', '--json'], { cwd, registry: upstream.url })
    expect(missing.code).not.toBe(0)
    expect(`${missing.stdout}${missing.stderr}`).toMatch(/E404/)

    // The grandchild holds the pipes open: the result only arrives quickly if it was killed too.
    const started = Date.now()
    const hung = await runProcess(process.execPath, ['-e', `require('child_process').spawn(process.execPath, ['-e', 'setTimeout(() => {}, 30000)'], { stdio: 'inherit' }); setTimeout(() => {}, 30000)`], {
      cwd,
      env: { PATH: process.env.PATH ?? '' },
      timeoutMs: 300,
    })
    expect(hung).toMatchObject({ timedOut: true, code: null, signal: 'SIGKILL' })
    expect(Date.now() - started).toBeLessThan(5000)
  })
})

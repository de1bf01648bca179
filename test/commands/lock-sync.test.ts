import { readFile, readdir, rm, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { sha512Of } from '../../src/core/store/index.js'
import { openStore } from '../../src/core/store/index.js'
import { cleanupTempDirs } from '../helpers/clients.js'
import { startFakeUpstream, type FakeUpstream } from '../helpers/fake-upstream.js'
import { buildPackage, type BuiltPackage } from '../helpers/packages.js'
import { generateProjectPackages } from '../helpers/project.js'
import { cliWorkspace, describeResult, packageLock, parseSummary, runCli, startCli } from './lock-sync-harness.js'

/** Non-registry entries, as npm writes them: they are listed as skipped. */
const NOT_FROM_A_REGISTRY = {
  'node_modules/local-thing': { resolved: 'vendor/local-thing', link: true },
  'node_modules/from-git': { version: '1.0.0', resolved: 'git+ssh://git@github.com/example/from-git.git#0123456789abcdef0123456789abcdef01234567' },
}

describe('sinopia-cli lock-sync (built binary)', () => {
  let upstream: FakeUpstream
  let packages: BuiltPackage[]
  let ws: Awaited<ReturnType<typeof cliWorkspace>>

  beforeAll(async () => {
    packages = (await generateProjectPackages()).packages
    upstream = await startFakeUpstream({ packages })
  })
  beforeEach(async () => {
    upstream.reset()
    upstream.throttle(null)
    ws = await cliWorkspace(upstream.url)
    await writeFile(path.join(ws.dir, 'package-lock.json'), packageLock(packages, upstream.url, NOT_FROM_A_REGISTRY))
  })
  afterAll(async () => {
    await upstream?.stop()
    await cleanupTempDirs()
  })

  it('fills the store from the lockfile in the current folder; the second run makes no upstream request; --check passes', async () => {
    const first = await runCli(['lock-sync', '--config', ws.config, '--json'], { cwd: ws.dir })
    expect(first.code, describeResult(first)).toBe(0)
    const summary = parseSummary(first)
    expect(summary).toMatchObject({ command: 'lock-sync', total: packages.length, present: 0, fetched: packages.length, failed: [], interrupted: 0 })
    expect(summary.lockfiles).toEqual([{ file: 'package-lock.json', format: 'npm-v3', packages: packages.length, skipped: 2 }])
    expect(summary.skipped.map((s) => `${s.name}:${s.kind}:${s.lockfile}`).sort()).toEqual(['from-git:git:package-lock.json', 'local-thing:link:package-lock.json'])
    expect(summary.bytes.fetched).toBe(packages.reduce((sum, p) => sum + p.tarball.length, 0))
    expect(first.stderr).toBe('')
    expect(upstream.count((r) => r.url.includes('/-/'))).toBe(packages.length)

    upstream.reset()
    const second = await runCli(['lock-sync', '--config', ws.config, '--json'], { cwd: ws.dir })
    expect(second.code, describeResult(second)).toBe(0)
    expect(parseSummary(second)).toMatchObject({ present: packages.length, fetched: 0, bytes: { fetched: 0 } })
    expect(upstream.count()).toBe(0)

    const check = await runCli(['lock-sync', '--check', '--config', ws.config], { cwd: ws.dir })
    expect(check.code, describeResult(check)).toBe(0)
    expect(check.stdout).toMatch(new RegExp(`^check: ${packages.length} packages from package-lock.json: ${packages.length} ok, 0 missing, 0 corrupt, 2 skipped`))
    expect(upstream.count()).toBe(0)
  })

  it('without a TTY prints one line per fetched package and a readable summary', async () => {
    const result = await runCli(['lock-sync', 'package-lock.json', '--config', ws.config, '--concurrency', '2'], { cwd: ws.dir })
    expect(result.code, describeResult(result)).toBe(0)
    expect(result.stderr).toContain('lock-sync: fetched @acme/native-binding@1.0.0 (')
    expect(result.stderr).toContain('lock-sync: skipped from-git (git+ssh://')
    expect(result.stderr.match(/^lock-sync: fetched /gm)).toHaveLength(packages.length)
    expect(result.stdout).toMatch(new RegExp(`^lock-sync: ${packages.length} packages from package-lock.json: 0 already in store, ${packages.length} fetched, 2 skipped, 0 failed;`))
    expect(result.stdout).toMatch(/^skipped:$/m)
    expect(result.stdout).toMatch(/^ {2}from-git \(git\+ssh:\/\/.*\): git dependency: fetched from its repository, not from a registry \[package-lock.json\]$/m)
  })

  it('--check reports a deleted blob and a corrupted one, and exits 1; lock-sync --verify repairs them', async () => {
    expect((await runCli(['lock-sync', '--config', ws.config, '--json'], { cwd: ws.dir })).code).toBe(0)
    const store = await openStore(ws.storage)
    const [deleted, corrupted] = [packages.find((p) => p.name === 'alpha'), packages.find((p) => p.name === '@acme/native-binding')] as BuiltPackage[]
    await rm(store.blobs.where(sha512Of(deleted?.manifest.dist.integrity) as string))
    const file = store.blobs.where(sha512Of(corrupted?.manifest.dist.integrity) as string)
    const bytes = await readFile(file)
    bytes[bytes.length - 10] = (bytes[bytes.length - 10] as number) ^ 0x01
    await writeFile(file, bytes)
    upstream.reset()

    const human = await runCli(['lock-sync', '--check', '--config', ws.config], { cwd: ws.dir })
    expect(human.code, describeResult(human)).toBe(1)
    expect(human.stdout).toContain('1 missing, 1 corrupt')
    expect(human.stdout).toMatch(/^missing:\n {2}alpha@1\.0\.0: its tarball is not in the store$/m)
    expect(human.stdout).toMatch(/^corrupt:\n {2}@acme\/native-binding@1\.0\.0: the stored tarball \(.*\) does not hash to sha512-/m)
    expect(human.stderr).toContain('check: missing alpha@1.0.0')
    expect(human.stdout).toContain('hint: `lock-sync` fetches what is missing; `lock-sync --verify` also replaces corrupt tarballs')

    const json = parseSummary(await runCli(['lock-sync', '--check', '--json', '--config', ws.config], { cwd: ws.dir }))
    expect(json.missing.map((p) => p.package)).toEqual(['alpha@1.0.0'])
    expect(json.corrupt.map((p) => p.package)).toEqual(['@acme/native-binding@1.0.0'])
    expect(json.ok).toBe(packages.length - 2)
    expect(upstream.count()).toBe(0)

    // A plain run fetches what is missing; --verify also re-hashes, and replaces the corrupt one.
    const plain = parseSummary(await runCli(['lock-sync', '--json', '--config', ws.config], { cwd: ws.dir }))
    expect(plain).toMatchObject({ fetched: 1, refetched: [] })
    const verified = await runCli(['lock-sync', '--verify', '--config', ws.config], { cwd: ws.dir })
    expect(verified.code, describeResult(verified)).toBe(0)
    expect(verified.stderr).toContain('lock-sync: @acme/native-binding@1.0.0 is corrupt in the store: fetching it again')
    expect(verified.stdout).toContain(`${packages.length - 1} already in store, 1 fetched`)
    expect(verified.stdout).toContain('fetched again (the stored copy was corrupt):\n  @acme/native-binding@1.0.0')
    expect((await runCli(['lock-sync', '--check', '--config', ws.config], { cwd: ws.dir })).code).toBe(0)
  })

  it('a tampered integrity fails with both digests named, stores no tarball for it, and syncs the rest', async () => {
    const other = await buildPackage({ name: 'alpha', version: '1.0.0', files: { 'evil.js': 'module.exports = 1\n' } })
    const alpha = packages.find((p) => p.name === 'alpha') as BuiltPackage
    const lock = (await readFile(path.join(ws.dir, 'package-lock.json'), 'utf8')).replace(alpha.manifest.dist.integrity, other.manifest.dist.integrity)
    await writeFile(path.join(ws.dir, 'package-lock.json'), lock)

    const result = await runCli(['lock-sync', '--config', ws.config], { cwd: ws.dir })
    expect(result.code, describeResult(result)).toBe(1)
    const expected = `alpha@1.0.0: EINTEGRITY: alpha@1.0.0: the lockfile wants ${other.manifest.dist.integrity} but the registry has ${alpha.manifest.dist.integrity}`
    expect(result.stdout).toContain(`failed:\n  ${expected}`)
    expect(result.stdout).toContain(`${packages.length - 1} fetched, 2 skipped, 1 failed`)
    expect(upstream.count('/alpha/-/alpha-1.0.0.tgz')).toBe(0)
    const store = await openStore(ws.storage)
    expect(await store.blobs.has(alpha.manifest.dist.integrity, 'tarball:alpha@1.0.0')).toBe(false)
    expect(await store.blobs.has(other.manifest.dist.integrity, 'tarball:alpha@1.0.0')).toBe(false)
  })

  it('says what to do when there is no lockfile', async () => {
    await rm(path.join(ws.dir, 'package-lock.json'))
    const result = await runCli(['lock-sync', '--config', ws.config], { cwd: ws.dir })
    expect(result.code).toBe(1)
    expect(result.stderr).toContain(`Error: no lockfile in ${ws.dir}`)
    expect(result.stderr).toContain('Hint: lock-sync looks for package-lock.json')
  })

  it.each([
    ['once: what runs finishes, the rest is left for the next run', 1],
    ['twice: it stops at once, leaving downloads half-way', 2],
  ])('SIGINT %s; the next run completes and --check finds nothing missing or corrupt', { timeout: 60_000 }, async (_how, signals) => {
    // A few hundred ms per (small) tarball: the interrupt lands while downloads are in flight.
    upstream.throttle(128, 50)
    const run = startCli(['lock-sync', '--config', ws.config, '--concurrency', '4'], ws.dir)
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no download finished:\n${run.stderr()}`)), 30_000)
      const poll = setInterval(() => {
        if (/lock-sync: fetched /.test(run.stderr())) {
          clearInterval(poll)
          clearTimeout(timer)
          resolve()
        }
      }, 20)
    })
    run.child.kill('SIGINT')
    if (signals === 2) {
      // A moment later, as a person presses it again; the downloads in flight are cut off half-way.
      await new Promise<void>((resolve) => run.child.stderr?.once('data', () => resolve()))
      await sleep(150)
      run.child.kill('SIGINT')
    }
    expect(await run.exited, `${run.stdout()}\n${run.stderr()}`).toBe(130)
    expect(run.stderr()).toContain('SIGINT: finishing what is in flight, then stopping')
    if (signals === 1) expect(run.stdout()).toMatch(/^interrupted: \d+ not done; run the same command again to finish$/m)

    upstream.throttle(null)
    const again = await runCli(['lock-sync', '--config', ws.config, '--json'], { cwd: ws.dir })
    expect(again.code, describeResult(again)).toBe(0)
    const summary = parseSummary(again)
    expect(summary.present).toBeGreaterThan(0)
    expect(summary.fetched).toBeGreaterThan(0)
    expect(summary.present + summary.fetched).toBe(packages.length)

    const check = await runCli(['lock-sync', '--check', '--json', '--config', ws.config], { cwd: ws.dir })
    expect(check.code, describeResult(check)).toBe(0)
    expect(parseSummary(check)).toMatchObject({ ok: packages.length, missing: [], corrupt: [] })
    // Every stored blob is whole: the content folder holds exactly the verified tarballs.
    const content = path.join(ws.storage, 'blobs', 'content-v2', 'sha512')
    const files = (await readdir(content, { recursive: true, withFileTypes: true })).filter((e) => e.isFile())
    expect(files).toHaveLength(packages.length)
  })
})

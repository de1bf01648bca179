import { existsSync } from 'node:fs'
import { writeFile } from 'node:fs/promises'
import path from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { stringify } from 'yaml'
import { tarballKey } from '../../src/core/store/index.js'
import { cleanupTempDirs, isolatedBaseEnv, makeTempDir, REPO_ROOT, runProcess, type ClientResult } from '../helpers/clients.js'
import { DAY, addUpstream, bytesOf, cacheTarball, integrityOf, publishLocal, setUsage, storedVersions, tempStore, type TestStore } from '../core/maintenance/fixture.js'

/**
 * `sinopia-cli prune` as built (`npm run build` first) on a store prepared with known fetch
 * and use times: each flag, their combination, --dry-run, --json, the question on a terminal.
 */

const BIN = path.join(REPO_ROOT, 'bin', 'run.js')

/** The fields of `prune --json` these tests read. */
interface PruneReport {
  removed: Array<{ name: string; version: string; reason: string }>
  kept: Record<string, number>
  fits: boolean
}

const STACK_FRAME = /^\s+at /m

let t: TestStore
let cwd: string
let config: string
const b = {
  a1: bytesOf('a', '1.0.0', 4000),
  a2: bytesOf('a', '2.0.0', 3000),
  b1: bytesOf('@s/b', '1.0.0', 2000),
  c1: bytesOf('c', '1.0.0', 1000),
  mine: bytesOf('mine', '1.0.0', 500),
}

function cli(...args: string[]): Promise<ClientResult> {
  const env: Record<string, string> = { ...isolatedBaseEnv(), HOME: cwd, XDG_CONFIG_HOME: path.join(cwd, 'xdg') }
  delete env.SINOPIA_CONFIG
  return runProcess(process.execPath, [BIN, ...args, '--config', config], { cwd, env, timeoutMs: 20_000 })
}

function ok(result: ClientResult): ClientResult {
  expect(result.code, `${result.stdout}\n${result.stderr}`).toBe(0)
  return result
}

function expectOneLineError(result: ClientResult, message: RegExp): void {
  expect(result.code, `${result.stdout}\n${result.stderr}`).toBe(1)
  expect(result.stderr).toMatch(message)
  expect(result.stderr.match(/^Error:/gm)).toHaveLength(1)
  expect(`${result.stdout}${result.stderr}`).not.toMatch(STACK_FRAME)
}

async function lockfile(file: string, names: Record<string, Buffer>): Promise<void> {
  const packages: Record<string, unknown> = { '': { name: 'app' } }
  for (const [id, bytes] of Object.entries(names)) {
    const at = id.lastIndexOf('@')
    packages[`node_modules/${id.slice(0, at)}`] = { version: id.slice(at + 1), integrity: integrityOf(bytes) }
  }
  await writeFile(path.join(cwd, file), JSON.stringify({ name: 'app', lockfileVersion: 3, packages }))
}

/** Last used: a@1 90 d ago, @s/b@1 60 d, c@1 45 d (fetched 100 d ago, served since), a@2 5 d; mine published 200 d ago. */
beforeEach(async () => {
  t = await tempStore()
  cwd = await makeTempDir('sinopia-prune-cli-')
  config = path.join(cwd, 'config.yaml')
  await writeFile(config, stringify({ storage: t.root, packages: { '**': { access: '$all', publish: '$authenticated' } } }))
  const now = Date.now()
  await addUpstream(t.store, 'a', { '1.0.0': b.a1, '2.0.0': b.a2 })
  await addUpstream(t.store, '@s/b', { '1.0.0': b.b1 })
  await addUpstream(t.store, 'c', { '1.0.0': b.c1 })
  await cacheTarball(t.store, 'a', '1.0.0', b.a1, now - 90 * DAY)
  await cacheTarball(t.store, 'a', '2.0.0', b.a2, now - 5 * DAY)
  await cacheTarball(t.store, '@s/b', '1.0.0', b.b1, now - 60 * DAY)
  await cacheTarball(t.store, 'c', '1.0.0', b.c1, now - 100 * DAY)
  await setUsage(t.store, { [tarballKey('c', '1.0.0')]: now - 45 * DAY })
  await publishLocal(t.store, 'mine', { '1.0.0': b.mine }, now - 200 * DAY)
})
afterEach(async () => {
  await t.cleanup()
  await cleanupTempDirs()
})

describe('sinopia-cli prune', () => {
  it('--dry-run lists what --older-than would remove, with the bytes, and changes nothing', async () => {
    const before = await storedVersions(t.store)
    const result = ok(await cli('prune', '--older-than', '50d', '--dry-run'))
    expect(result.stdout).toMatch(/^a@1\.0\.0 {2}3\.9 KB {2}last used 90d ago {2}\(older-than\)$/m)
    expect(result.stdout).toMatch(/^@s\/b@1\.0\.0 {2}2\.0 KB {2}last used 60d ago/m)
    expect(result.stdout).toMatch(/would remove 2 tarballs \(5\.9 KB\)/)
    expect(result.stdout).not.toMatch(/^c@/m)
    expect(await storedVersions(t.store)).toEqual(before)
  })

  it('--older-than removes tarballs neither served nor fetched for that long (no question without a terminal)', async () => {
    const result = ok(await cli('prune', '--older-than', '30d'))
    expect(result.stdout).toMatch(/removed 3 tarballs \(6\.8 KB\)/)
    expect(await storedVersions(t.store)).toEqual(['a@2.0.0', 'mine@1.0.0'])
  })

  it('--older-than also drops a cached packument left without tarballs and not fetched for that long', async () => {
    await addUpstream(t.store, 'dusty', { '1.0.0': bytesOf('dusty', '1.0.0', 100) }, Date.now() - 60 * DAY)
    const dry = ok(await cli('prune', '--older-than', '30d', '--dry-run'))
    expect(dry.stdout).toMatch(/^dusty \(packument\) .* fetched 60d ago/m)
    expect(dry.stdout).toMatch(/would remove 3 tarballs and 1 cached packument/)
    const json = JSON.parse(ok(await cli('prune', '--older-than', '30d', '--json')).stdout) as { packuments: Array<{ name: string }> }
    expect(json.packuments.map((p) => p.name)).toEqual(['dusty'])
    expect(await t.store.packages.readUpstream('dusty')).toBeNull()
    expect(await t.store.packages.readUpstream('a')).not.toBeNull()
  })

  it('--max-size removes the least recently used first until the cache fits; --json for scripts', async () => {
    const result = ok(await cli('prune', '--max-size', '4kb', '--json'))
    const out = JSON.parse(result.stdout) as PruneReport
    expect(out.removed.map((r) => `${r.name} ${r.reason}`)).toEqual(['a max-size', '@s/b max-size'])
    expect(out).toMatchObject({ dryRun: false, freedBytes: 6000, cachedBytes: { before: 10000, after: 4000 }, fits: true, kept: { local: 1, lockfile: 0, recent: 0 } })
    expect(await storedVersions(t.store)).toEqual(['a@2.0.0', 'c@1.0.0', 'mine@1.0.0'])
  })

  it('--max-size 0 leaves only what was published here and what the lockfiles need', async () => {
    await lockfile('one-lock.json', {})
    await writeFile(path.join(cwd, 'package-lock.json'), JSON.stringify({ lockfileVersion: 3, packages: { '': {}, 'node_modules/@s/b': { version: '1.0.0' } } }))
    await writeFile(path.join(cwd, 'npm-shrinkwrap.json'), JSON.stringify({ lockfileVersion: 2, packages: { '': {}, 'node_modules/c': { version: '1.0.0' } } }))
    const result = ok(await cli('prune', '--max-size', '0', '--keep-lockfile', 'package-lock.json', '--keep-lockfile', '*shrinkwrap.json', '--yes', '--json'))
    const out = JSON.parse(result.stdout) as PruneReport
    expect(out.kept).toEqual({ local: 1, lockfile: 2, recent: 0 })
    expect(out.fits).toBe(false)
    expect(await storedVersions(t.store)).toEqual(['@s/b@1.0.0', 'c@1.0.0', 'mine@1.0.0'])
    expect(existsSync(t.store.blobs.where(integrityOf(b.mine)))).toBe(true)
  })

  it('combines the flags: the age limit, then size, and the lockfile wins over both', async () => {
    await lockfile('package-lock.json', { 'a@1.0.0': b.a1 })
    const out = JSON.parse(ok(await cli('prune', '--older-than', '50d', '--max-size', '7kb', '--keep-lockfile', 'package-lock.json', '--json')).stdout) as PruneReport
    expect(out.removed.map((r) => `${r.name}@${r.version} ${r.reason}`)).toEqual([
      '@s/b@1.0.0 older-than',
      'c@1.0.0 max-size',
    ])
    expect(await storedVersions(t.store)).toEqual(['a@1.0.0', 'a@2.0.0', 'mine@1.0.0'])
  })

  it.skipIf(!existsSync('/usr/bin/script'))('asks on a terminal, and removes nothing unless told yes', async () => {
    const inTerminal = (answer: string, ...args: string[]) => {
      const command = [process.execPath, BIN, ...args, '--config', config].map((a) => `'${a}'`).join(' ')
      const env: Record<string, string> = { ...isolatedBaseEnv(), HOME: cwd }
      return runProcess('/bin/sh', ['-c', `printf '${answer}\\n' | script -qec "${command.replaceAll('"', '\\"')}" /dev/null`], { cwd, env, timeoutMs: 20_000 })
    }
    const no = ok(await inTerminal('n', 'prune', '--older-than', '30d'))
    expect(no.stdout).toMatch(/Remove 3 tarballs \(6\.8 KB\)\? \[y\/N\]/)
    expect(no.stdout).toMatch(/nothing removed/)
    expect((await storedVersions(t.store)).length).toBe(5)
    ok(await inTerminal('y', 'prune', '--older-than', '30d'))
    expect(await storedVersions(t.store)).toEqual(['a@2.0.0', 'mine@1.0.0'])
  })

  it('--grace sets how recent a tarball must be to stay whatever the other flags say', async () => {
    const bytes = bytesOf('fresh', '1.0.0', 700)
    await addUpstream(t.store, 'fresh', { '1.0.0': bytes })
    await cacheTarball(t.store, 'fresh', '1.0.0', bytes)
    expect(ok(await cli('prune', '--max-size', '0', '--dry-run')).stdout).not.toMatch(/^fresh@1\.0\.0/m)
    expect(ok(await cli('prune', '--max-size', '0', '--grace', '0', '--dry-run')).stdout).toMatch(/^fresh@1\.0\.0/m)
  })

  it('refuses bad input in one line each, before touching anything', async () => {
    expectOneLineError(await cli('prune'), /nothing to prune by\nHint: pass --older-than/)
    expectOneLineError(await cli('prune', '--older-than', 'ages'), /--older-than: invalid duration "ages"/)
    expectOneLineError(await cli('prune', '--max-size', 'big'), /--max-size: invalid size "big"/)
    expectOneLineError(await cli('prune', '--max-size', '0', '--grace', 'soon'), /--grace: invalid duration "soon"/)
    expectOneLineError(await cli('prune', '--max-size', '0', '--keep-lockfile', 'nowhere/*.json'), /--keep-lockfile nowhere\/\*\.json: no lockfile there/)
    expect((await storedVersions(t.store)).length).toBe(5)
  })
})

import { writeFile } from 'node:fs/promises'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { stringify } from 'yaml'
import { cleanupTempDirs, isolatedBaseEnv, makeTempDir, REPO_ROOT, runProcess, type ClientResult } from '../helpers/clients.js'
import { DAY, addUpstream, bytesOf, cacheTarball, publishLocal, tempStore, type TestStore } from '../core/maintenance/fixture.js'

/** `sinopia-cli storage info` as built (`npm run build` first), as text and as --json. */

const BIN = path.join(REPO_ROOT, 'bin', 'run.js')

describe('sinopia-cli storage info', () => {
  let t: TestStore
  let cwd: string
  let config: string
  const t0 = Date.parse('2024-05-01T12:00:00.000Z')

  const cli = (...args: string[]): Promise<ClientResult> => {
    const env: Record<string, string> = { ...isolatedBaseEnv(), HOME: cwd, XDG_CONFIG_HOME: path.join(cwd, 'xdg') }
    delete env.SINOPIA_CONFIG
    return runProcess(process.execPath, [BIN, ...args, '--config', config], { cwd, env, timeoutMs: 20_000 })
  }

  beforeAll(async () => {
    t = await tempStore()
    cwd = await makeTempDir('sinopia-storage-cli-')
    config = path.join(cwd, 'config.yaml')
    await writeFile(config, stringify({ storage: t.root, packages: { '**': { access: '$all' } } }))
    const big = bytesOf('big', '1.0.0', 3 * 1024 * 1024)
    await addUpstream(t.store, 'big', { '1.0.0': big })
    await cacheTarball(t.store, 'big', '1.0.0', big, t0)
    await addUpstream(t.store, '@s/small', { '1.0.0': bytesOf('@s/small', '1.0.0') })
    await cacheTarball(t.store, '@s/small', '1.0.0', bytesOf('@s/small', '1.0.0'), t0 + DAY)
    await publishLocal(t.store, 'mine', { '1.0.0': bytesOf('mine', '1.0.0', 2048) }, t0 + 2 * DAY)
  })
  afterAll(async () => {
    await t.cleanup()
    await cleanupTempDirs()
  })

  it('prints sizes, counts, last use and the largest packages', async () => {
    const result = await cli('storage', 'info')
    expect(result.code, result.stderr).toBe(0)
    expect(result.stdout).toMatch(/^total {5}3\.0 MB \(3\.0 MB in 3 blobs, .* of metadata\)$/m)
    expect(result.stdout).toMatch(/^packages {2}3 \(1 published here, 2 cached from uplinks\)$/m)
    expect(result.stdout).toMatch(/^versions {2}1 published here, 2 cached tarballs$/m)
    expect(result.stdout).toMatch(/^last use {2}oldest 2024-05-01T12:00:00\.000Z, newest 2024-05-03T12:00:00\.000Z$/m)
    expect(result.stdout).toMatch(/largest packages:\n +big +3\.0 MB +1 version\n +mine +2\.0 KB +1 version\n +@s\/small +1000 B +1 version\n$/)
  })

  it('--json gives the same figures to scripts', async () => {
    const result = await cli('storage', 'info', '--json')
    expect(result.code, result.stderr).toBe(0)
    const info = JSON.parse(result.stdout) as { largest: Array<{ name: string }> }
    expect(info).toMatchObject({
      storage: t.root,
      blobs: { count: 3, bytes: 3 * 1024 * 1024 + 1000 + 2048 },
      packages: { total: 3, local: 1, cached: 2 },
      versions: { local: 1, cached: 2 },
      use: { oldest: '2024-05-01T12:00:00.000Z', newest: '2024-05-03T12:00:00.000Z' },
    })
    expect(info.largest.map((p) => p.name)).toEqual(['big', 'mine', '@s/small'])
  })
})

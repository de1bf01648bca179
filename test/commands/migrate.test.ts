import { cp, readFile, writeFile } from 'node:fs/promises'
import path from 'node:path'
import ssri from 'ssri'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { stringify } from 'yaml'
import { cleanupTempDirs, isolatedBaseEnv, makeTempDir, REPO_ROOT, runProcess, type ClientResult } from '../helpers/clients.js'
import { cleanupRegistries, startRegistry } from '../helpers/server.js'

/**
 * `sinopia-cli migrate` as built (`npm run build` first): a Verdaccio storage folder into a store,
 * that store into another folder, then a registry serving the copy with no uplink reachable:
 * the published package's packument, a tarball that hashes to its integrity, a migrated login.
 */

const BIN = path.join(REPO_ROOT, 'bin', 'run.js')
const FIXTURE = path.join(REPO_ROOT, 'fixtures', 'verdaccio-storage')
const HTPASSWD = path.join(REPO_ROOT, 'fixtures', 'verdaccio-htpasswd')
/** Nothing listens there: the uplink is down. */
const DEAD_UPLINK = 'http://127.0.0.1:9/'

describe('sinopia-cli migrate', () => {
  let cwd: string
  let config: string

  const cli = (...args: string[]): Promise<ClientResult> => {
    const env: Record<string, string> = { ...isolatedBaseEnv(), HOME: cwd, XDG_CONFIG_HOME: path.join(cwd, 'xdg') }
    delete env.SINOPIA_CONFIG
    return runProcess(process.execPath, [BIN, 'migrate', ...args, '--config', config], { cwd, env, timeoutMs: 30_000 })
  }
  const json = (result: ClientResult) => JSON.parse(result.stdout) as Record<string, unknown>

  beforeAll(async () => {
    cwd = await makeTempDir('sinopia-migrate-cli-')
    config = path.join(cwd, 'config.yaml')
    await writeFile(
      config,
      stringify({ storage: './storage', uplinks: { npmjs: { url: DEAD_UPLINK } }, auth: { htpasswd: { file: './htpasswd' } }, packages: { '**': { access: '$all', proxy: 'npmjs' } } }),
    )
  })
  afterAll(async () => {
    await cleanupRegistries()
    await cleanupTempDirs()
  })

  it('says in one line what is missing, and exits non-zero', async () => {
    const none = await cli('--to', 'dest')
    expect(none.code).not.toBe(0)
    expect(none.stderr.trim()).toBe('Error: migrate needs --from STORE or --from-verdaccio DIR: the store to copy from')
    const absent = await cli('--from', 'no-such-storage', '--to', 'dest')
    expect(absent.code).not.toBe(0)
    expect(absent.stderr.trim()).toBe('Error: --from no-such-storage: no such folder (it names the storage to copy from)')
    // Only postgres:// names a database; any other URL-looking source is a folder that must exist,
    // never an empty store opened from a typo and "migrated" with success.
    const notDatabase = await cli('--from', 'http://db.invalid/registry', '--to', 'dest')
    expect(notDatabase.code).not.toBe(0)
    expect(notDatabase.stderr.trim()).toBe('Error: --from http://db.invalid/registry: no such folder (it names the storage to copy from)')
    const noTarget = await cli('--from', FIXTURE)
    expect(noTarget.code).not.toBe(0)
    expect(noTarget.stderr.trim()).toBe('Error: migrate needs --to STORE: the store to copy into')
  })

  it('reads a Verdaccio folder and its users, copies the store on, and the copy serves offline', async () => {
    const first = await cli('--from-verdaccio', FIXTURE, '--htpasswd', HTPASSWD, '--to', 'storage', '--json')
    expect(first.code, first.stderr).toBe(0)
    const report = json(first)
    expect(Object.keys(report).sort()).toEqual(['blobs', 'bytes', 'documents', 'durationMs', 'failed', 'from', 'ok', 'packages', 'skipped', 'to', 'tokens', 'usage', 'users', 'warnings'])
    expect(report).toMatchObject({ ok: true, packages: 2, blobs: { copied: 3, skipped: 0 }, skipped: 0, failed: [], users: { added: ['alice', 'bob'], existing: [] } })

    const text = await cli('--from', 'storage', '--to', 'copy')
    expect(text.code, text.stderr).toBe(0)
    expect(text.stdout).toMatch(/^migrate: .*storage -> .*copy: 2 packages; 3 documents and 3 blobs \(.*\) copied/)
    expect(text.stdout).toMatch(/\ndone: everything was copied and verified\n$/)
    const rerun = json(await cli('--from', 'storage', '--to', 'copy', '--json'))
    expect(rerun).toMatchObject({ ok: true, blobs: { copied: 0, skipped: 3 }, documents: { copied: 0, skipped: 3 }, skipped: 6 })

    const registry = await startRegistry({ storage: path.join(cwd, 'copy'), upstreamUrl: DEAD_UPLINK, config: { auth: { htpasswd: { file: path.join(cwd, 'htpasswd') } } } })
    const doc = (await (await fetch(`${registry.url}@acme%2fwidget`)).json()) as { 'dist-tags': Record<string, string>; versions: Record<string, { dist: { tarball: string; integrity: string } }> }
    expect(doc['dist-tags']).toEqual({ latest: '1.1.0', beta: '1.0.0' })
    expect(Object.keys(doc.versions).sort()).toEqual(['1.0.0', '1.1.0'])
    for (const version of ['1.0.0', '1.1.0']) {
      const dist = doc.versions[version]?.dist
      const res = await fetch(dist?.tarball ?? '')
      expect(res.status).toBe(200)
      const bytes = Buffer.from(await res.arrayBuffer())
      expect(bytes.equals(await readFile(path.join(FIXTURE, '@acme', 'widget', `widget-${version}.tgz`)))).toBe(true)
      expect(ssri.checkData(bytes, dist?.integrity ?? '')).toBeTruthy()
    }
    const cached = await fetch(`${registry.url}tiny-cached/-/tiny-cached-1.0.0.tgz`)
    expect(cached.status).toBe(200)
    const login = await fetch(`${registry.url}-/user/org.couchdb.user:alice`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'alice', password: 'alice-secret' }),
    })
    expect(login.status).toBe(201)
  })

  it('reports a corrupt source tarball, copies the rest and exits 1', async () => {
    const dir = path.join(cwd, 'broken-verdaccio')
    await cp(FIXTURE, dir, { recursive: true })
    const file = path.join(dir, 'tiny-cached', 'tiny-cached-1.0.0.tgz')
    const data = await readFile(file)
    data[40] = (data[40] as number) ^ 0x01
    await writeFile(file, data)
    const result = await cli('--from-verdaccio', dir, '--to', 'from-broken', '--json')
    expect(result.code).toBe(1)
    expect(json(result)).toMatchObject({ ok: false, blobs: { copied: 2 }, failed: [{ item: 'tiny-cached@1.0.0', code: 'EINTEGRITY' }] })
    const text = await cli('--from-verdaccio', dir, '--to', 'from-broken')
    expect(text.code).toBe(1)
    expect(text.stdout).toMatch(/skipped 5 already in the destination/)
    expect(text.stdout).toMatch(/failed \(1, not copied\):\n {2}tiny-cached@1\.0\.0: EINTEGRITY: the source's bytes do not match/)
  })
})

import { spawn } from 'node:child_process'
import { access, readFile } from 'node:fs/promises'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { cleanupTempDirs, isolatedBaseEnv, makeTempDir, REPO_ROOT, type ClientResult } from '../helpers/clients.js'
import { freshDatabase } from '../helpers/postgres.js'
import { cleanupRegistries, startRegistry, type RunningRegistry } from '../helpers/server.js'

/**
 * `sinopia-cli user add|list|passwd|remove` as built (`npm run build` first), on the config
 * of a running `serve`: the server sees every change at once, without a restart.
 */

const BIN = path.join(REPO_ROOT, 'bin', 'run.js')
const STACK_FRAME = /^\s+at /m

/** The CLI with `input` on stdin (closed right after), in an isolated environment (plus `extraEnv`); bounded to 20 s. */
async function runCli(args: string[], input?: string, extraEnv: Record<string, string> = {}): Promise<ClientResult> {
  const cwd = await makeTempDir('sinopia-user-cli-')
  const env: Record<string, string> = { ...isolatedBaseEnv(), HOME: cwd, XDG_CONFIG_HOME: path.join(cwd, 'xdg'), ...extraEnv }
  delete env.SINOPIA_CONFIG
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { cwd, env, stdio: ['pipe', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.setEncoding('utf8').on('data', (text: string) => (stdout += text))
    child.stderr.setEncoding('utf8').on('data', (text: string) => (stderr += text))
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000)
    child.on('error', reject)
    child.on('close', (code, signal) => {
      clearTimeout(timer)
      resolve({ code, signal, timedOut: signal === 'SIGKILL', stdout, stderr })
    })
    child.stdin.on('error', () => undefined)
    child.stdin.end(input)
  })
}

/** Exit 1, one `Error:` line (and maybe a `Hint:`), no stack trace. */
function expectOneLineError(result: ClientResult, message: RegExp): void {
  expect(result.code, `${result.stdout}\n${result.stderr}`).toBe(1)
  expect(result.stderr).toMatch(message)
  expect(result.stderr.trim().split('\n').filter((l) => l.startsWith('Error:'))).toHaveLength(1)
  expect(`${result.stdout}${result.stderr}`).not.toMatch(STACK_FRAME)
}

describe('sinopia-cli user', () => {
  let registry: RunningRegistry
  let config: string
  const whoami = (auth: string) => fetch(`${registry.url}-/whoami`, { headers: { authorization: auth } })
  const basic = (name: string, password: string) => `Basic ${Buffer.from(`${name}:${password}`).toString('base64')}`

  beforeAll(async () => {
    registry = await startRegistry()
    config = registry.configFile
  })
  afterAll(async () => {
    await cleanupRegistries()
    await cleanupTempDirs()
  })

  it('user add --password-stdin adds a user the running server accepts at once', async () => {
    expect((await whoami(basic('alice', 'first-Pass'))).status).toBe(401)
    const result = await runCli(['user', 'add', 'alice', '--password-stdin', '--config', config], 'first-Pass\nignored second line\n')
    expect(result.code, result.stderr).toBe(0)
    expect(result.stdout).toMatch(/added user alice/)
    expect(`${result.stdout}${result.stderr}`).not.toContain('first-Pass')
    expect(await readFile(path.join(path.dirname(config), 'htpasswd'), 'utf8')).toMatch(/^alice:\$2b\$/)
    const res = await whoami(basic('alice', 'first-Pass'))
    expect(res.status).toBe(200)
    expect(await res.json()).toEqual({ username: 'alice' })
  })

  it('refuses a name that exists, a bad name, an empty password, and a missing terminal, in one line each', async () => {
    expectOneLineError(await runCli(['user', 'add', 'alice', '--password-stdin', '--config', config], 'x\n'), /user alice already exists\nHint: .*user passwd alice/)
    expectOneLineError(await runCli(['user', 'add', 'no spaces', '--password-stdin', '--config', config], 'x\n'), /user names are/)
    expectOneLineError(await runCli(['user', 'add', 'bob', '--password-stdin', '--config', config], '\n'), /password is empty/)
    expectOneLineError(await runCli(['user', 'add', 'bob', '--config', config], ''), /no terminal to ask for the password on\nHint: .*--password-stdin/)
    expectOneLineError(await runCli(['user', 'list', '--config', path.join(path.dirname(config), 'missing.yaml')]), /no config file/)
  })

  it('user list prints a table, or JSON with --json, with each user’s token count', async () => {
    const login = await fetch(`${registry.url}-/user/org.couchdb.user:alice`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'alice', password: 'first-Pass' }),
    })
    expect(login.status).toBe(201)
    expect((await runCli(['user', 'add', 'bob', '--password-stdin', '--config', config], 'b0b-Pass')).code).toBe(0)

    const json = await runCli(['user', 'list', '--json', '--config', config])
    expect(json.code, json.stderr).toBe(0)
    expect(JSON.parse(json.stdout)).toEqual([
      { name: 'alice', tokens: 1 },
      { name: 'bob', tokens: 0 },
    ])
    const table = await runCli(['user', 'list', '--config', config])
    expect(table.stdout.split('\n').map((l) => l.trim().split(/\s+/))).toEqual([['NAME', 'TOKENS'], ['alice', '1'], ['bob', '0'], ['']])
  })

  it('user passwd changes the password, seen by the running server', async () => {
    const result = await runCli(['user', 'passwd', 'alice', '--password-stdin', '--config', config], 'second-Pass\r\n')
    expect(result.code, result.stderr).toBe(0)
    expect(result.stdout).toMatch(/changed the password of alice/)
    expect((await whoami(basic('alice', 'first-Pass'))).status).toBe(401)
    expect((await whoami(basic('alice', 'second-Pass'))).status).toBe(200)
    expectOneLineError(await runCli(['user', 'passwd', 'nobody', '--password-stdin', '--config', config], 'x\n'), /no user named nobody/)
  })

  it('user remove removes the user and revokes their tokens; the server refuses both at once', async () => {
    const token = ((await (
      await fetch(`${registry.url}-/user/org.couchdb.user:alice`, {
        method: 'PUT',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ name: 'alice', password: 'second-Pass' }),
      })
    ).json()) as { token: string }).token
    expect((await whoami(`Bearer ${token}`)).status).toBe(200)

    const result = await runCli(['user', 'remove', 'alice', '--config', config])
    expect(result.code, result.stderr).toBe(0)
    expect(result.stdout).toMatch(/removed user alice/)
    expect((await whoami(basic('alice', 'second-Pass'))).status).toBe(401)
    expect((await whoami(`Bearer ${token}`)).status).toBe(401)
    const tokens = JSON.parse(await readFile(path.join(registry.storage, 'auth', 'tokens.json'), 'utf8')) as { tokens: { user: string }[] }
    expect(tokens.tokens.filter((t) => t.user === 'alice')).toEqual([])
    expect(JSON.parse((await runCli(['user', 'list', '--json', '--config', config])).stdout)).toEqual([{ name: 'bob', tokens: 0 }])
    expectOneLineError(await runCli(['user', 'remove', 'alice', '--config', config]), /no user named alice/)
  })
})

/**
 * With `auth: {store: {}}` and a PostgreSQL `storage`, the users are rows of the database: a user
 * added by the CLI logs in through either of two `serve` instances on it, and a user that one
 * instance registers (npm adduser) is listed by the CLI and logs in on the other.
 */
describe('sinopia-cli user with auth.store on PostgreSQL', () => {
  let a: RunningRegistry
  let b: RunningRegistry
  let tmp: string
  const basic = (name: string, password: string) => `Basic ${Buffer.from(`${name}:${password}`).toString('base64')}`
  const whoami = (on: RunningRegistry, auth: string) => fetch(`${on.url}-/whoami`, { headers: { authorization: auth } })

  beforeAll(async () => {
    const storage = await freshDatabase()
    // TMPDIR: each process's blob cache (os.tmpdir()/sinopia-blob-cache-*) lands in the test's folder.
    tmp = await makeTempDir('sinopia-user-pg-')
    const options = { storage, config: { auth: { store: {} } }, env: { TMPDIR: tmp } }
    ;[a, b] = await Promise.all([startRegistry(options), startRegistry(options)])
  })
  afterAll(async () => {
    await cleanupRegistries()
    await cleanupTempDirs()
  })

  it('user add writes to the database; both instances log the user in; nothing goes to an htpasswd file', { timeout: 60_000 }, async () => {
    const added = await runCli(['user', 'add', 'alice', '--password-stdin', '--config', a.configFile], 'alice-Pass\n', { TMPDIR: tmp })
    expect(added.code, added.stderr).toBe(0)
    expect(added.stdout).toMatch(/added user alice to postgres.*sinopia_users/)
    for (const on of [a, b]) {
      const res = await whoami(on, basic('alice', 'alice-Pass'))
      expect(res.status).toBe(200)
      expect(await res.json()).toEqual({ username: 'alice' })
    }
    const login = await fetch(`${b.url}-/user/org.couchdb.user:alice`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'alice', password: 'alice-Pass' }),
    })
    expect(login.status).toBe(201)
    const { token } = (await login.json()) as { token: string }
    expect((await whoami(a, `Bearer ${token}`)).status).toBe(200)
    await expect(access(path.join(path.dirname(a.configFile), 'htpasswd'))).rejects.toMatchObject({ code: 'ENOENT' })
    expectOneLineError(await runCli(['user', 'add', 'alice', '--password-stdin', '--config', b.configFile], 'x\n', { TMPDIR: tmp }), /user alice already exists/)
  })

  it('a user registered through one instance is listed by the CLI and logs in on the other; user remove ends both', { timeout: 60_000 }, async () => {
    const adduser = await fetch(`${a.url}-/user/org.couchdb.user:bob`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'bob', password: 'b0b-Pass' }),
    })
    expect(adduser.status).toBe(201)
    expect((await whoami(b, basic('bob', 'b0b-Pass'))).status).toBe(200)
    const list = await runCli(['user', 'list', '--json', '--config', b.configFile], undefined, { TMPDIR: tmp })
    expect(list.code, list.stderr).toBe(0)
    expect(JSON.parse(list.stdout)).toEqual([
      { name: 'alice', tokens: 1 },
      { name: 'bob', tokens: 1 },
    ])
    const removed = await runCli(['user', 'remove', 'bob', '--config', a.configFile], undefined, { TMPDIR: tmp })
    expect(removed.code, removed.stderr).toBe(0)
    for (const on of [a, b]) expect((await whoami(on, basic('bob', 'b0b-Pass'))).status).toBe(401)
  })
})

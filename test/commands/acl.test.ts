import { readFile, stat, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { cleanupTempDirs, isolatedBaseEnv, makeTempDir, REPO_ROOT, runProcess, type ClientResult } from '../helpers/clients.js'
import { cleanupRegistries, startRegistry, type RunningRegistry } from '../helpers/server.js'

/**
 * `sinopia-cli acl set|list|remove` as built (`npm run build` first), on the config file of a
 * running `serve`, which picks every change up without a restart; plus the reload itself: an
 * invalid file, keys that need a restart, and SIGHUP.
 */

const BIN = path.join(REPO_ROOT, 'bin', 'run.js')
const STACK_FRAME = /^\s+at /m
/** The watch answers in ~100 ms and the fallback check runs every 2 s: this only catches a hang. */
const RELOAD_MS = 10_000

let registry: RunningRegistry
let cwd: string

async function cli(...args: string[]): Promise<ClientResult> {
  const env: Record<string, string> = { ...isolatedBaseEnv(), HOME: cwd, XDG_CONFIG_HOME: path.join(cwd, 'xdg') }
  delete env.SINOPIA_CONFIG
  const withConfig = args.includes('--config') ? args : [...args, '--config', registry.configFile]
  return runProcess(process.execPath, [BIN, ...withConfig], { cwd, env, timeoutMs: 20_000 })
}

function expectOk(result: ClientResult): void {
  expect(result.code, `${result.stdout}\n${result.stderr}`).toBe(0)
}

function expectOneLineError(result: ClientResult, message: RegExp): void {
  expect(result.code, `${result.stdout}\n${result.stderr}`).toBe(1)
  expect(result.stderr).toMatch(message)
  expect(result.stderr.match(/^Error:/gm)).toHaveLength(1)
  expect(`${result.stdout}${result.stderr}`).not.toMatch(STACK_FRAME)
}

async function anonymousStatus(name: string): Promise<number> {
  const response = await fetch(new URL(name, registry.url))
  await response.arrayBuffer()
  return response.status
}

/** Polls (every 25 ms, at most RELOAD_MS) until `check` holds; fails with the server's recent output. */
async function eventually(what: string, check: () => Promise<boolean> | boolean): Promise<void> {
  const deadline = Date.now() + RELOAD_MS
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${RELOAD_MS} ms\n--- server output ---\n${registry.output().slice(-3000)}`)
    await new Promise((resolve) => setTimeout(resolve, 25))
  }
}

/** Waits for `pattern` in what the server prints from now on; call before the action, await after it. */
function nextOutput(pattern: RegExp): () => Promise<void> {
  const from = registry.output().length
  return () => eventually(`server output ${String(pattern)}`, () => pattern.test(registry.output().slice(from)))
}

beforeAll(async () => {
  cwd = await makeTempDir('sinopia-acl-cli-')
  registry = await startRegistry()
})

afterAll(async () => {
  await cleanupRegistries()
  await cleanupTempDirs()
})

describe('acl on the config of a running server', () => {
  it('set: anonymous reads of the pattern answer 401 at once, other names are untouched, no restart', async () => {
    const pid = registry.process.pid
    expect(await anonymousStatus('secret-thing')).toBe(404)
    const reloaded = nextOutput(/info +config reloaded from .*: packages now in effect/)

    const result = await cli('acl', 'set', 'secret-*', '--access', '$authenticated', '--publish', '$authenticated')
    expectOk(result)
    expect(result.stdout).toBe(`Added the rule for 'secret-*' (before '**') in ${registry.configFile}.\n`)

    await eventually('GET /secret-thing answers 401', async () => (await anonymousStatus('secret-thing')) === 401)
    await reloaded()
    expect(await anonymousStatus('@scope/secret-thing')).toBe(404)
    expect(await anonymousStatus('public-thing')).toBe(404)
    expect(registry.process.pid).toBe(pid)
  })

  it('list --json: the rules in order, unpublish and proxy filled in', async () => {
    const result = await cli('acl', 'list', '--json')
    expectOk(result)
    expect(JSON.parse(result.stdout)).toEqual([
      { pattern: '@*/*', access: ['$all'], publish: ['$authenticated'], unpublish: ['$authenticated'], proxy: [] },
      { pattern: 'secret-*', access: ['$authenticated'], publish: ['$authenticated'], unpublish: ['$authenticated'], proxy: [] },
      { pattern: '**', access: ['$all'], publish: ['$authenticated'], unpublish: ['$authenticated'], proxy: [] },
    ])
    const table = await cli('acl', 'list')
    expectOk(table)
    expect(table.stdout.split('\n').slice(0, 4)).toEqual([
      'PATTERN   ACCESS          PUBLISH         UNPUBLISH       PROXY',
      '@*/*      $all            $authenticated  $authenticated  -',
      'secret-*  $authenticated  $authenticated  $authenticated  -',
      '**        $all            $authenticated  $authenticated  -',
    ])
  })

  it('set on an existing rule changes only the keys given', async () => {
    expectOk(await cli('acl', 'set', 'secret-*', '--unpublish', 'admin'))
    const rules = JSON.parse((await cli('acl', 'list', '--json')).stdout) as Array<{ pattern: string; unpublish: string[]; access: string[] }>
    expect(rules[1]).toMatchObject({ pattern: 'secret-*', access: ['$authenticated'], unpublish: ['admin'] })
  })

  it('refuses an unknown uplink, a missing rule and a missing config file, changing nothing', async () => {
    const before = await readFile(registry.configFile, 'utf8')
    const { mtimeMs } = await stat(registry.configFile)
    expectOneLineError(await cli('acl', 'set', '**', '--proxy', 'nope'), /^Error: .*proxy names uplink "nope", which does not exist$/m)
    expectOneLineError(await cli('acl', 'remove', 'nope-*'), /^Error: no rule for 'nope-\*' in /m)
    expect(await readFile(registry.configFile, 'utf8')).toBe(before)
    expect((await stat(registry.configFile)).mtimeMs).toBe(mtimeMs)

    const missing = path.join(cwd, 'missing', 'config.yaml')
    expectOneLineError(await cli('acl', 'set', 'x', '--access', '$all', '--publish', '$all', '--config', missing), /^Error: no config file at /m)
    expectOneLineError(await cli('acl', 'list', '--config', missing), /^Error: no config file at /m)
    await expect(stat(missing)).rejects.toMatchObject({ code: 'ENOENT' })
  })

  it('remove: the names fall back to the next rule at once', async () => {
    const result = await cli('acl', 'remove', 'secret-*')
    expectOk(result)
    expect(result.stdout).toBe(`Removed the rule for 'secret-*' from ${registry.configFile}.\n`)
    await eventually('GET /secret-thing answers 404 again', async () => (await anonymousStatus('secret-thing')) === 404)
  })
})

describe('config reload', () => {
  it('keeps the running config when the file becomes invalid, and applies it once fixed', async () => {
    expectOk(await cli('acl', 'set', 'secret-*', '--access', '$authenticated', '--publish', '$authenticated'))
    await eventually('GET /secret-thing answers 401', async () => (await anonymousStatus('secret-thing')) === 401)
    const good = await readFile(registry.configFile, 'utf8')

    const refused = nextOutput(/error +config not reloaded, the running one stays: .*unknown log level "loud"/)
    await writeFile(registry.configFile, good.replace('secret-*', 'open-*').replace('level: http', 'level: loud'))
    await refused()
    expect(await anonymousStatus('secret-thing')).toBe(401)

    const applied = nextOutput(/config reloaded from .*: packages now in effect/)
    await writeFile(registry.configFile, good.replace('secret-*', 'open-*'))
    await applied()
    expect(await anonymousStatus('secret-thing')).toBe(404)
    expect(await anonymousStatus('open-thing')).toBe(401)
  })

  it('says which changed keys wait for a restart, and still serves on the old address', async () => {
    const text = await readFile(registry.configFile, 'utf8')
    const warned = nextOutput(/warn +config .*: restart the server to apply the change to listen\n/)
    await writeFile(registry.configFile, text.replace(/^listen: .*$/m, 'listen: 127.0.0.1:1'))
    await warned()
    expect(await anonymousStatus('open-thing')).toBe(401)
    const back = nextOutput(/config re-read from .*: no setting changed/)
    await writeFile(registry.configFile, text)
    await back()
  })

  it('SIGHUP re-reads the file, and the server keeps running', async () => {
    const reread = nextOutput(/SIGHUP: re-reading the config file\n.*config re-read from .*: no setting changed/)
    registry.process.kill('SIGHUP')
    await reread()
    expect(registry.process.exitCode).toBeNull()
    expect(await anonymousStatus('open-thing')).toBe(401)
  })
})

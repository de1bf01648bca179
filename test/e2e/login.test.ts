import { spawn } from 'node:child_process'
import { readFile } from 'node:fs/promises'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { cleanupTempDirs, persistentNpmHome, runProcess, type ClientResult } from '../helpers/clients.js'
import { cleanupRegistries, startRegistry, type RunningRegistry } from '../helpers/server.js'

/**
 * The real npm client logging in and out of `sinopia-cli serve`: legacy adduser/login with
 * npm's own prompts, the default web login, whoami, logout and `npm token`. The tests run in
 * order and share one npm config (HOME and .npmrc), as one person's terminal would.
 *
 * npm reads its prompts with one readline per question, so a pipe filled up front would
 * give every line to the first question: the answers are written one by one, each after
 * its prompt has appeared on npm's stdout. Nothing needs a TTY: without one npm prints the
 * login URL instead of offering to open a browser, and the test submits the form itself.
 */

const TEST_TIMEOUT = 60_000
const NPM_TIMEOUT = 30_000
const PASSWORD = 'corr3ct-Horse'

interface Npm {
  /** Resolves when stdout matches; rejects when npm ends first or after `ms`. */
  waitFor(pattern: RegExp, ms?: number): Promise<RegExpMatchArray>
  answer(prompt: RegExp, line: string): Promise<void>
  done: Promise<ClientResult>
}

describe('npm login, whoami, logout and token against sinopia-cli serve', () => {
  let registry: RunningRegistry
  let home: string
  let npmrc: string
  let env: Record<string, string>

  beforeAll(async () => {
    registry = await startRegistry()
    ;({ home, npmrc, env } = await persistentNpmHome(registry.url, 'sinopia-login-home-'))
  })
  afterAll(async () => {
    await cleanupRegistries()
    await cleanupTempDirs()
  })

  const npm = (args: string[]) => runProcess('npm', args, { cwd: home, env, timeoutMs: NPM_TIMEOUT })

  /** npm with a pipe on stdin, for its prompts. */
  function interactive(args: string[]): Npm {
    const child = spawn('npm', args, { cwd: home, env, stdio: ['pipe', 'pipe', 'pipe'], detached: true })
    let stdout = ''
    let stderr = ''
    let ended = false
    const listeners = new Set<() => void>()
    child.stdout.setEncoding('utf8').on('data', (text: string) => {
      stdout += text
      for (const listener of listeners) listener()
    })
    child.stderr.setEncoding('utf8').on('data', (text: string) => (stderr += text))
    const timer = setTimeout(() => child.pid !== undefined && process.kill(-child.pid, 'SIGKILL'), NPM_TIMEOUT)
    const done = new Promise<ClientResult>((resolve, reject) => {
      child.on('error', reject)
      child.on('close', (code, signal) => {
        clearTimeout(timer)
        ended = true
        for (const listener of listeners) listener()
        resolve({ code, signal, timedOut: signal === 'SIGKILL', stdout, stderr })
      })
    })
    let consumed = 0
    const waitFor = (pattern: RegExp, ms = 15_000) =>
      new Promise<RegExpMatchArray>((resolve, reject) => {
        const check = () => {
          const match = stdout.slice(consumed).match(pattern)
          if (match) {
            consumed += (match.index ?? 0) + match[0].length
            finish()
            resolve(match)
          } else if (ended) {
            finish()
            reject(new Error(`npm ${args.join(' ')} ended before ${String(pattern)}\n${stdout}\n${stderr}`))
          }
        }
        const wait = setTimeout(() => {
          finish()
          reject(new Error(`npm ${args.join(' ')}: no ${String(pattern)} within ${ms} ms\n${stdout}\n${stderr}`))
        }, ms)
        const finish = () => {
          clearTimeout(wait)
          listeners.delete(check)
        }
        listeners.add(check)
        check()
      })
    return {
      waitFor,
      async answer(prompt, line) {
        await waitFor(prompt)
        child.stdin.write(`${line}\n`)
      },
      done,
    }
  }

  const savedToken = async () => (await readFile(npmrc, 'utf8').catch(() => '')).match(/:_authToken=(\S+)/)?.[1]
  const whoamiWith = (token: string) => fetch(`${registry.url}-/whoami`, { headers: { authorization: `Bearer ${token}` } })

  it('npm adduser --auth-type=legacy creates the user through npm’s prompts and saves a token', { timeout: TEST_TIMEOUT }, async () => {
    const run = interactive(['adduser', '--auth-type=legacy'])
    await run.answer(/Username:/, 'alice')
    await run.answer(/Password:/, PASSWORD)
    await run.answer(/Email.*:/, 'alice@example.com')
    const result = await run.done
    expect(result.code, result.stderr).toBe(0)
    expect(result.stdout).toContain(`Logged in on ${registry.url}`)
    expect(await savedToken()).toMatch(/^snp_/)
    const whoami = await npm(['whoami'])
    expect(whoami.code, whoami.stderr).toBe(0)
    expect(whoami.stdout.trim()).toBe('alice')
  })

  it('npm token create, list and revoke', { timeout: TEST_TIMEOUT }, async () => {
    const create = interactive(['token', 'create'])
    await create.answer(/password:/i, PASSWORD)
    const created = await create.done
    expect(created.code, created.stderr).toBe(0)
    const token = created.stdout.match(/Created token (snp_\S+)/)?.[1]
    expect(token).toBeDefined()
    expect((await whoamiWith(token as string)).status).toBe(200)

    const list = await npm(['token', 'list', '--json'])
    expect(list.code, list.stderr).toBe(0)
    const tokens = JSON.parse(list.stdout) as { token: string; key: string; id: string; name: string; readonly: boolean }[]
    expect(tokens.map((t) => t.name).sort()).toEqual(['api', 'login'])
    for (const t of tokens) expect((token as string).startsWith(t.token) || (await savedToken())?.startsWith(t.token)).toBe(true)
    const human = await npm(['token', 'list'])
    expect(human.stdout).toMatch(/Token snp_\S{6}… with id [0-9a-f]{6} name api created \d{4}-\d\d-\d\d/)

    const apiToken = tokens.find((t) => t.name === 'api')
    const revoke = await npm(['token', 'revoke', apiToken?.id as string])
    expect(revoke.code, revoke.stderr).toBe(0)
    expect(revoke.stdout).toContain('Removed 1 token')
    expect((await whoamiWith(token as string)).status).toBe(401)
    expect(JSON.parse((await npm(['token', 'list', '--json'])).stdout)).toHaveLength(1)
  })

  it('npm logout revokes the token on the server and forgets it', { timeout: TEST_TIMEOUT }, async () => {
    const token = (await savedToken()) as string
    const logout = await npm(['logout'])
    expect(logout.code, logout.stderr).toBe(0)
    expect(await savedToken()).toBeUndefined()
    expect((await whoamiWith(token)).status).toBe(401)
    const whoami = await npm(['whoami'])
    expect(whoami.code).not.toBe(0)
    expect(whoami.stderr).toMatch(/ENEEDAUTH/)
  })

  it('npm login with a wrong password fails with the server’s message, not a request for a one-time password', { timeout: TEST_TIMEOUT }, async () => {
    const run = interactive(['login', '--auth-type=legacy'])
    await run.answer(/Username:/, 'alice')
    await run.answer(/Password:/, 'not-the-password')
    const result = await run.done
    expect(result.code).not.toBe(0)
    expect(result.stderr).toMatch(/E401/)
    expect(result.stderr).toMatch(/wrong user name or password/)
    expect(result.stderr).not.toMatch(/Unable to authenticate|one-time password|OTP/i)
    expect(await savedToken()).toBeUndefined()
  })

  it('npm login uses the web flow by default: the URL npm prints, the form, and npm finishes by itself', { timeout: TEST_TIMEOUT }, async () => {
    const run = interactive(['login'])
    const [, loginUrl] = (await run.waitFor(/Login at:\s*\n(\S+)/)) as RegExpMatchArray & [string, string]
    expect(loginUrl.startsWith(`${registry.url}-/v1/login/`)).toBe(true)
    const page = await fetch(loginUrl)
    expect(page.status).toBe(200)
    expect(await page.text()).toMatch(/<form method="post">/)
    // npm's first poll of the done URL, answered 202 (not yet), before the form is sent: on a
    // loaded machine the form could otherwise be sent first, and then no poll ever waits.
    await registry.waitForOutput(/GET \/-\/v1\/done\/\*\*\* 202/, 15_000)
    const submitted = await fetch(loginUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ name: 'alice', password: PASSWORD }).toString(),
    })
    expect(submitted.status).toBe(200)
    expect(await submitted.text()).toMatch(/return to your terminal/i)
    const result = await run.done
    expect(result.code, result.stderr).toBe(0)
    expect(result.stdout).toContain(`Logged in on ${registry.url}`)
    expect(result.stdout).not.toMatch(/Username:/)
    expect((await npm(['whoami'])).stdout.trim()).toBe('alice')
    expect(registry.output()).toMatch(/POST \/-\/v1\/login 200/)
    expect(registry.output()).toMatch(/GET \/-\/v1\/done\/\*\*\* 202/)
  })

  it('npm adduser by default opens the account page, where a new name registers', { timeout: TEST_TIMEOUT }, async () => {
    const run = interactive(['adduser'])
    const [, url] = (await run.waitFor(/Create your account at:\s*\n(\S+)/)) as RegExpMatchArray & [string, string]
    expect(await (await fetch(url)).text()).toMatch(/Create an account or log in/)
    const submitted = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ name: 'carol', password: PASSWORD }).toString(),
    })
    expect(submitted.status).toBe(200)
    const result = await run.done
    expect(result.code, result.stderr).toBe(0)
    expect((await npm(['whoami'])).stdout.trim()).toBe('carol')
  })

  it('the server log holds no password, token or login session id', () => {
    const log = registry.output()
    expect(log).toMatch(/DELETE \/-\/user\/token\/\*\*\* 200/)
    expect(log).not.toContain(PASSWORD)
    expect(log).not.toContain('not-the-password')
    expect(log).not.toMatch(/snp_/)
    expect(log).not.toMatch(/\/-\/v1\/(login|done)\/(?!\*\*\*)[\w-]+/)
  })
})

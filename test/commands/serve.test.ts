import { spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { chmod, mkdir, readdir, readFile, writeFile } from 'node:fs/promises'
import net from 'node:net'
import path from 'node:path'
import { parse } from 'yaml'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { cleanupTempDirs, isolatedBaseEnv, makeTempDir, REPO_ROOT, runProcess, type ClientResult } from '../helpers/clients.js'
import { startFakeUpstream, type FakeUpstream } from '../helpers/fake-upstream.js'
import { buildPackage, type BuiltPackage } from '../helpers/packages.js'
import { cleanupRegistries, startRegistry } from '../helpers/server.js'

/**
 * `sinopia-cli serve` as a user runs it: the built binary (`npm run build` first), spawned with an
 * isolated environment. Covers what only a real process shows: signals, exit codes, the one-line
 * errors printed for a bad start, and the config file written on first start.
 */

const BIN = path.join(REPO_ROOT, 'bin', 'run.js')
const LISTENING = /listening on (http:\/\/127\.0\.0\.1:(\d+)\/)/
/** A V8 stack frame line, as printed by an uncaught error. */
const STACK_FRAME = /^\s+at /m
/** Generous for a node + oclif start on a loaded CI machine, small enough to catch a hang. */
const FAIL_FAST_MS = 8_000

const isTarball = (r: { url: string }) => r.url.endsWith('.tgz')

interface TimedResult extends ClientResult {
  ms: number
}

/** The isolated environment with HOME and XDG folders under `dir`, and no SINOPIA_CONFIG: nothing of the user's is read. */
function cliEnv(dir: string, extra: Record<string, string> = {}): Record<string, string> {
  const env: Record<string, string> = {
    ...isolatedBaseEnv(),
    HOME: path.join(dir, 'home'),
    XDG_CONFIG_HOME: path.join(dir, 'xdg', 'config'),
    XDG_CACHE_HOME: path.join(dir, 'xdg', 'cache'),
    XDG_DATA_HOME: path.join(dir, 'xdg', 'data'),
    XDG_STATE_HOME: path.join(dir, 'xdg', 'state'),
    ...extra,
  }
  delete env.SINOPIA_CONFIG
  return env
}

/** Runs the CLI to its end in `cwd` (a temp folder, which also holds its HOME), bounded to 20 s. */
async function runCli(args: string[], cwd: string): Promise<TimedResult> {
  const started = Date.now()
  const result = await runProcess(process.execPath, [BIN, ...args], { cwd, env: cliEnv(cwd), timeoutMs: 20_000 })
  return { ...result, ms: Date.now() - started }
}

/**
 * Non-zero exit of its own accord, quickly; exactly one `Error:` line on stderr (a `Hint:` line may
 * follow), matching `line`; no stack frames anywhere. Returns the error line.
 */
function expectCleanFailure(result: TimedResult, line: RegExp): string {
  const all = `${result.stdout}\n${result.stderr}`
  expect(result.timedOut, all).toBe(false)
  expect(result.signal, all).toBeNull()
  expect(result.code, all).not.toBe(0)
  expect(result.ms, all).toBeLessThan(FAIL_FAST_MS)
  expect(all).not.toMatch(STACK_FRAME)
  expect(all).not.toMatch(LISTENING)
  const errors = result.stderr.split('\n').filter((l) => l.startsWith('Error:'))
  expect(errors, result.stderr).toHaveLength(1)
  expect(errors[0]).toMatch(line)
  return errors[0] as string
}

/** Files (not folders) under `dir`, relative to it; none when it does not exist. */
async function filesUnder(dir: string): Promise<string[]> {
  try {
    const entries = await readdir(dir, { recursive: true, withFileTypes: true })
    return entries.filter((e) => e.isFile()).map((e) => path.relative(dir, path.join(e.parentPath, e.name)))
  } catch {
    return []
  }
}

/** cacache's content path of a sha512 integrity: `content-v2/sha512/ab/cd/<rest of the hex digest>`. */
function blobPath(storage: string, integrity: string): string {
  const hex = Buffer.from(integrity.slice('sha512-'.length), 'base64').toString('hex')
  return path.join(storage, 'blobs', 'content-v2', 'sha512', hex.slice(0, 2), hex.slice(2, 4), hex.slice(4))
}

/** A port that was free a moment ago (for arguments that must name a port before anything listens). */
async function freePort(): Promise<number> {
  const server = await occupyPort()
  const { port } = server.address() as net.AddressInfo
  await new Promise<void>((resolve) => server.close(() => resolve()))
  return port
}

function occupyPort(): Promise<net.Server> {
  return new Promise((resolve, reject) => {
    const server = net.createServer((socket) => socket.destroy())
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => resolve(server))
  })
}

async function getBytes(url: string): Promise<{ status: number; body: Buffer }> {
  const response = await fetch(url, { signal: AbortSignal.timeout(15_000) })
  return { status: response.status, body: Buffer.from(await response.arrayBuffer()) }
}

interface LongRunning {
  output(): string
  /** Resolves with the match once the output matches; rejects after `timeoutMs` or when the process exits. */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<RegExpExecArray>
  /** SIGTERM, SIGKILL after 5 s; resolves with how it ended. */
  stop(): Promise<{ code: number | null; signal: NodeJS.Signals | null }>
}

const longRunning = new Set<LongRunning>()

/** The CLI as a server process that the test talks to while it runs (startRegistry always passes --config). */
function startCli(args: string[], opts: { cwd: string; env: Record<string, string> }): LongRunning {
  const child = spawn(process.execPath, [BIN, ...args], { cwd: opts.cwd, env: opts.env, stdio: ['ignore', 'pipe', 'pipe'] })
  let output = ''
  const listeners = new Set<() => void>()
  const append = (text: string) => {
    output += text
    for (const listener of listeners) listener()
  }
  child.stdout.setEncoding('utf8').on('data', append)
  child.stderr.setEncoding('utf8').on('data', append)
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.on('exit', (code, signal) => resolve({ code, signal }))
  })
  const cli: LongRunning = {
    output: () => output,
    waitFor(pattern, timeoutMs = 15_000) {
      return new Promise((resolve, reject) => {
        const done = (error: Error | null, match?: RegExpExecArray) => {
          listeners.delete(check)
          clearTimeout(timer)
          if (error) reject(error)
          else resolve(match as RegExpExecArray)
        }
        const check = () => {
          const match = pattern.exec(output)
          if (match) done(null, match)
        }
        const timer = setTimeout(() => done(new Error(`${String(pattern)} not seen within ${timeoutMs} ms\n${output}`)), timeoutMs)
        listeners.add(check)
        void exited.then(({ code, signal }) => {
          if (!pattern.test(output)) done(new Error(`exited (code ${code}, signal ${signal}) before ${String(pattern)}\n${output}`))
        })
        check()
      })
    },
    async stop() {
      longRunning.delete(cli)
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM')
      const timer = setTimeout(() => child.kill('SIGKILL'), 5_000)
      try {
        return await exited
      } finally {
        clearTimeout(timer)
      }
    },
  }
  longRunning.add(cli)
  return cli
}

describe('sinopia-cli serve (built binary)', () => {
  let upstream: FakeUpstream
  let small: BuiltPackage
  let big: BuiltPackage

  beforeAll(async () => {
    if (!existsSync(path.join(REPO_ROOT, 'dist', 'commands', 'serve.js'))) {
      throw new Error('dist/commands/serve.js is missing: run `npm run build` first')
    }
    small = await buildPackage({ name: 'small-pkg', version: '1.0.0' })
    // Incompressible, so the tarball itself is ~8 MB.
    big = await buildPackage({ name: 'big-pkg', version: '1.0.0', padding: 8 * 1024 * 1024 })
    upstream = await startFakeUpstream({ packages: [small, big] })
  })

  afterAll(async () => {
    await Promise.all([...longRunning].map((cli) => cli.stop()))
    await cleanupRegistries()
    await upstream?.stop()
    await cleanupTempDirs()
  })

  it('SIGKILL during a tarball download leaves no blob; after a restart the tarball is fetched again, whole', async () => {
    const registry = await startRegistry({ upstreamUrl: upstream.url })
    const tarballUrl = `${registry.url}${big.name}/-/${big.filename}`
    const content = path.join(registry.storage, 'blobs', 'content-v2')
    const before = upstream.count(isTarball)
    // 64 KiB every 25 ms: about 3 s for the whole tarball.
    upstream.throttle(64 * 1024, 25)
    try {
      const response = await fetch(tarballUrl, { signal: AbortSignal.timeout(15_000) })
      expect(response.status).toBe(200)
      const reader = (response.body as ReadableStream<Uint8Array>).getReader()
      const first = await reader.read()
      expect(first.done).toBe(false)
      let received = first.value?.length ?? 0

      await registry.kill()

      // The killed server cuts the response short (its content-length promised the whole tarball).
      let cut = false
      try {
        for (;;) {
          const { done, value } = await reader.read()
          if (done) break
          received += value.length
        }
      } catch {
        cut = true
      }
      expect(cut).toBe(true)
      expect(received).toBeGreaterThan(0)
      expect(received).toBeLessThan(big.tarball.length)
      expect(upstream.count(isTarball)).toBe(before + 1)
      // A partial file in blobs/tmp is allowed: it is never read as content.
      expect(await filesUnder(content)).toEqual([])
    } finally {
      upstream.throttle(null)
    }

    await registry.restart()
    const again = await getBytes(tarballUrl)
    expect(again.status).toBe(200)
    expect(again.body.equals(big.tarball)).toBe(true)
    expect(upstream.count(isTarball)).toBe(before + 2)
    const blob = await readFile(blobPath(registry.storage, big.manifest.dist.integrity))
    expect(blob.equals(big.tarball)).toBe(true)
    await registry.cleanup()
  })

  it('keeps idle connections open longer than clients do (60 s by default; server.keepAliveTimeout in seconds, as Verdaccio)', async () => {
    const keepAlive = async (url: string) => (await fetch(`${url}-/ping`)).headers.get('keep-alive')
    const byDefault = await startRegistry()
    expect(await keepAlive(byDefault.url)).toBe('timeout=60')
    const configured = await startRegistry({ config: { server: { keepAliveTimeout: 90 } } })
    expect(await keepAlive(configured.url)).toBe('timeout=90')
    expect(configured.output()).not.toMatch(/server: ignored/)
  })

  it('SIGTERM while idle exits with code 0 in under 5 s', async () => {
    const registry = await startRegistry({ upstreamUrl: upstream.url })
    expect((await fetch(`${registry.url}-/ping`)).status).toBe(200)
    const started = Date.now()
    const exit = await registry.stop()
    const ms = Date.now() - started
    expect(exit, registry.output()).toEqual({ code: 0, signal: null })
    expect(ms).toBeLessThan(5_000)
    await registry.cleanup()
  })

  it('a port already in use: one clear error line naming the address, no stack trace', async () => {
    const dir = await makeTempDir()
    const config = path.join(dir, 'config.yaml')
    await writeFile(config, `storage: ${JSON.stringify(path.join(dir, 'storage'))}\n`)
    const taken = await occupyPort()
    try {
      const { port } = taken.address() as net.AddressInfo
      const result = await runCli(['serve', '--config', config, '--listen', `127.0.0.1:${port}`], dir)
      expectCleanFailure(result, new RegExp(`127\\.0\\.0\\.1:${port}\\b.*in use`))
    } finally {
      await new Promise<void>((resolve) => taken.close(() => resolve()))
    }
  })

  it('storage that cannot be created (its parent is a file): one clear error line naming the storage, no stack trace', async () => {
    // Not chmod: the tests may run as root, whom a read-only folder does not stop.
    const dir = await makeTempDir()
    await writeFile(path.join(dir, 'afile'), 'not a folder\n')
    const storage = path.join(dir, 'afile', 'storage')
    const config = path.join(dir, 'config.yaml')
    await writeFile(config, `storage: ${JSON.stringify(storage)}\n`)
    const result = await runCli(['serve', '--config', config, '--listen', '127.0.0.1:0'], dir)
    expect(expectCleanFailure(result, /storage/)).toContain(storage)
  })

  it.skipIf(process.platform === 'win32')(
    'first start without a config writes the default one (uplink from `npm config get registry`) and serves with it',
    async () => {
      const dir = await makeTempDir()
      const xdg = path.join(dir, 'xdg')
      const home = path.join(dir, 'home')
      const fakeBin = path.join(dir, 'bin')
      await Promise.all([mkdir(home), mkdir(fakeBin)])
      // Prints the fake upstream's URL for `npm config get registry`, and fails on anything else.
      await writeFile(
        path.join(fakeBin, 'npm'),
        `#!/bin/sh\nif [ "$1 $2 $3" = "config get registry" ]; then echo "${upstream.url}"; exit 0; fi\necho "fake npm: unexpected $*" >&2\nexit 1\n`,
      )
      await chmod(path.join(fakeBin, 'npm'), 0o755)
      const env = cliEnv(dir, { HOME: home, XDG_CONFIG_HOME: xdg, PATH: `${fakeBin}${path.delimiter}${process.env.PATH ?? ''}` })

      const cli = startCli(['serve', '--listen', '127.0.0.1:0'], { cwd: dir, env })
      const [, url] = await cli.waitFor(LISTENING)
      const configFile = path.join(xdg, 'sinopia-cli', 'config.yaml')
      const text = await readFile(configFile, 'utf8')
      expect(text).toMatch(/^storage: \.\/storage$/m)
      const config = parse(text) as { uplinks: Record<string, { url: string }> }
      expect(Object.values(config.uplinks).map((uplink) => uplink.url)).toEqual([upstream.url])

      expect((await fetch(`${url}-/ping`, { signal: AbortSignal.timeout(10_000) })).status).toBe(200)
      const packument = await fetch(`${url}${small.name}`, { signal: AbortSignal.timeout(10_000) })
      expect(packument.status).toBe(200)
      expect(((await packument.json()) as { name: string }).name).toBe(small.name)
      const tarball = await getBytes(`${url}${small.name}/-/${small.filename}`)
      expect(tarball.status).toBe(200)
      expect(tarball.body.equals(small.tarball)).toBe(true)
      expect(existsSync(path.join(xdg, 'sinopia-cli', 'storage', 'format.json'))).toBe(true)

      expect(await cli.stop(), cli.output()).toEqual({ code: 0, signal: null })
    },
  )

  it.each([
    {
      what: 'an uplink url that is not a URL',
      yaml: (storage: string) => `storage: ${storage}\nuplinks:\n  npmjs:\n    url: not a url\n`,
      where: /config\.yaml:4: uplinks\.npmjs\.url: invalid URL "not a url"/,
    },
    {
      what: 'a max_body_size that is not a size',
      yaml: (storage: string) => `storage: ${storage}\nmax_body_size: lots\n`,
      where: /config\.yaml:2: max_body_size: invalid size "lots"/,
    },
  ])('an invalid config value ($what): the error names the line and key, no stack trace', async ({ yaml, where }) => {
    const dir = await makeTempDir()
    const config = path.join(dir, 'config.yaml')
    await writeFile(config, yaml(JSON.stringify(path.join(dir, 'storage'))))
    const result = await runCli(['serve', '--config', config, '--listen', '127.0.0.1:0'], dir)
    expectCleanFailure(result, where)
  })

  it('an uplink that is the server itself is refused before listening', async () => {
    const dir = await makeTempDir()
    const port = await freePort()
    const config = path.join(dir, 'config.yaml')
    await writeFile(config, `storage: ${JSON.stringify(path.join(dir, 'storage'))}\nuplinks:\n  npmjs:\n    url: http://127.0.0.1:${port}/\n`)
    const result = await runCli(['serve', '--config', config, '--listen', `127.0.0.1:${port}`], dir)
    expectCleanFailure(result, /uplink npmjs points at this server/)
  })

  it('--help lists serve; serve --help shows --config and --listen', async () => {
    const dir = await makeTempDir()
    const root = await runCli(['--help'], dir)
    expect(root.code, root.stderr).toBe(0)
    expect(root.stdout).toMatch(/^\s+serve\s/m)
    const serve = await runCli(['serve', '--help'], dir)
    expect(serve.code, serve.stderr).toBe(0)
    expect(serve.stdout).toContain('serve')
    expect(serve.stdout).toContain('--config')
    expect(serve.stdout).toContain('--listen')
  })
})

import { type ChildProcess, spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { stringify } from 'yaml'
import { isolatedBaseEnv, REPO_ROOT } from './clients.js'
import { freshDatabase } from './postgres.js'

export interface StartRegistryOptions {
  /** Becomes uplink `npmjs`, proxied by both package rules. Without it nothing is proxied. */
  upstreamUrl?: string
  /**
   * Default: `storage/` in the temp folder (removed by `cleanup`), or a fresh PostgreSQL database
   * under SINOPIA_TEST_STORE=postgres (the postgres project of vitest.config.ts); a given one is left alone.
   */
  storage?: string
  /** Deep-merged into the generated YAML (plain objects merge, anything else replaces, undefined deletes). */
  config?: Record<string, unknown>
  /** Added over the isolated environment; undefined deletes a variable. */
  env?: Record<string, string | undefined>
  /** The script node runs. Default: `<repo>/bin/run.js` (needs `npm run build`). */
  bin?: string
  /** Default 20 s. */
  startTimeoutMs?: number
  /** Listen on https:// (the config must carry `https: {key, cert}`); `url` is then https. */
  tls?: boolean
}

export interface RunningRegistry {
  /** `http://127.0.0.1:<port>/` (https with `tls`) */
  readonly url: string
  readonly port: number
  readonly storage: string
  readonly configFile: string
  /** The process running now (replaced by `restart`). */
  readonly process: ChildProcess
  /** stdout and stderr interleaved, of every process started so far (restarts included). */
  output(): string
  /** Resolves when the current process's output matches; rejects after `timeoutMs` or when it exits. */
  waitForOutput(pattern: RegExp | string, timeoutMs?: number): Promise<void>
  /** SIGTERM, then wait for the exit (SIGKILL after 10 s). */
  stop(): Promise<{ code: number | null; signal: NodeJS.Signals | null }>
  /** SIGKILL, and wait for the exit. */
  kill(): Promise<void>
  /** Stop, then start again with the same config and storage, on the same port when it is free. */
  restart(): Promise<void>
  /** Stop (kill) and remove the temp folders. */
  cleanup(): Promise<void>
}

const LISTENING = /listening on (https?:\/\/127\.0\.0\.1:(\d+)\/)/
const DEFAULT_BIN = path.join(REPO_ROOT, 'bin', 'run.js')
const running = new Set<RunningRegistry>()

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

export function deepMerge(base: Record<string, unknown>, over: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base }
  for (const [key, value] of Object.entries(over)) {
    if (value === undefined) delete out[key]
    else if (isPlainObject(value) && isPlainObject(out[key])) out[key] = deepMerge(out[key], value)
    else out[key] = value
  }
  return out
}

export function registryConfig(opts: { storage: string; upstreamUrl?: string; config?: Record<string, unknown> }): Record<string, unknown> {
  const rule = { access: '$all', publish: '$authenticated', ...(opts.upstreamUrl ? { proxy: 'npmjs' } : {}) }
  const base: Record<string, unknown> = {
    storage: opts.storage,
    listen: '127.0.0.1:0',
    ...(opts.upstreamUrl ? { uplinks: { npmjs: { url: opts.upstreamUrl } } } : {}),
    packages: { '@*/*': rule, '**': { ...rule } },
    log: { level: 'http' },
  }
  return deepMerge(base, opts.config ?? {})
}

interface Started {
  child: ChildProcess
  port: number
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>
}

export async function startRegistry(opts: StartRegistryOptions = {}): Promise<RunningRegistry> {
  const bin = opts.bin ?? DEFAULT_BIN
  if (bin === DEFAULT_BIN && !existsSync(path.join(REPO_ROOT, 'dist', 'commands'))) {
    throw new Error('startRegistry: dist/commands is missing; run `npm run build` first')
  }
  const dir = await mkdtemp(path.join(tmpdir(), 'sinopia-registry-'))
  const onPostgres = opts.storage === undefined && process.env.SINOPIA_TEST_STORE === 'postgres'
  const storage = opts.storage ?? (onPostgres ? await freshDatabase() : path.join(dir, 'storage'))
  const configFile = path.join(dir, 'config.yaml')
  await writeFile(configFile, stringify(registryConfig({ storage, upstreamUrl: opts.upstreamUrl, config: opts.config })))

  const env: Record<string, string> = isolatedBaseEnv()
  // The server's local blob cache goes under its TMPDIR: in the temp folder, removed with it.
  if (onPostgres) env.TMPDIR = dir
  for (const [key, value] of Object.entries(opts.env ?? {})) {
    if (value === undefined) delete env[key]
    else env[key] = value
  }
  const timeoutMs = opts.startTimeoutMs ?? 20_000
  let output = ''
  let currentStart = 0
  const listeners = new Set<() => void>()
  const append = (text: string) => {
    output += text
    for (const listener of listeners) listener()
  }

  function launch(port: number): Promise<Started> {
    currentStart = output.length
    const child = spawn(process.execPath, [bin, 'serve', '--config', configFile, '--listen', `${opts.tls ? 'https://' : ''}127.0.0.1:${port}`], {
      cwd: dir,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
      child.on('exit', (code, signal) => resolve({ code, signal }))
    })
    return new Promise((resolve, reject) => {
      let stdout = ''
      let listening = false
      const fail = (why: string) => {
        clearTimeout(timer)
        child.kill('SIGKILL')
        reject(new Error(`startRegistry: ${why}\n--- output ---\n${output.slice(currentStart)}`))
      }
      const timer = setTimeout(() => fail(`no "listening on" line within ${timeoutMs} ms`), timeoutMs)
      child.stdout?.setEncoding('utf8').on('data', (text: string) => {
        append(text)
        if (listening) return
        stdout += text
        const match = LISTENING.exec(stdout)
        if (match) {
          listening = true
          clearTimeout(timer)
          resolve({ child, port: Number(match[2]), exited })
        }
      })
      child.stderr?.setEncoding('utf8').on('data', append)
      child.on('error', (error) => fail(`spawn failed: ${error.message}`))
      void exited.then(({ code, signal }) => listening || fail(`the process exited (code ${code}, signal ${signal}) before listening`))
    })
  }

  let current: Started
  try {
    current = await launch(0)
  } catch (error) {
    await rm(dir, { recursive: true, force: true })
    throw error
  }

  async function waitExit(signal: NodeJS.Signals, graceMs: number) {
    const { child, exited } = current
    if (child.exitCode === null && child.signalCode === null) child.kill(signal)
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs)
    try {
      return await exited
    } finally {
      clearTimeout(timer)
    }
  }

  const registry: RunningRegistry = {
    get url() {
      return `${opts.tls ? 'https' : 'http'}://127.0.0.1:${current.port}/`
    },
    get port() {
      return current.port
    },
    storage,
    configFile,
    get process() {
      return current.child
    },
    output: () => output,
    waitForOutput(pattern, waitMs = 10_000) {
      const matches = () => (typeof pattern === 'string' ? output.slice(currentStart).includes(pattern) : pattern.test(output.slice(currentStart)))
      return new Promise<void>((resolve, reject) => {
        const done = (error?: Error) => {
          listeners.delete(check)
          clearTimeout(timer)
          if (error) reject(error)
          else resolve()
        }
        const check = () => {
          if (matches()) done()
        }
        const timer = setTimeout(() => done(new Error(`waitForOutput: ${String(pattern)} not seen within ${waitMs} ms\n${output.slice(currentStart)}`)), waitMs)
        listeners.add(check)
        void current.exited.then(() => {
          if (!matches()) done(new Error(`waitForOutput: the process exited before ${String(pattern)}\n${output.slice(currentStart)}`))
        })
        check()
      })
    },
    stop: () => waitExit('SIGTERM', 10_000),
    async kill() {
      await waitExit('SIGKILL', 0)
    },
    async restart() {
      await waitExit('SIGTERM', 10_000)
      append('\n--- restart ---\n')
      try {
        current = await launch(current.port)
      } catch (error) {
        if (!/EADDRINUSE/.test(output.slice(currentStart))) throw error
        current = await launch(0)
      }
    },
    async cleanup() {
      running.delete(registry)
      await waitExit('SIGKILL', 0)
      await rm(dir, { recursive: true, force: true })
    },
  }
  running.add(registry)
  return registry
}

/** Cleans up every registry started by this module that is still registered (for `afterAll`). */
export async function cleanupRegistries(): Promise<void> {
  await Promise.all([...running].map((registry) => registry.cleanup()))
}

import { spawn } from 'node:child_process'
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

/** The repository root (this file is test/helpers/clients.ts). */
export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url))
export const PNPM_BIN = path.join(REPO_ROOT, 'node_modules', '.bin', 'pnpm')
/** yarn classic (v1) and yarn berry both install a `yarn` bin: name each by its own package. */
export const YARN_BIN = path.join(REPO_ROOT, 'node_modules', 'yarn', 'bin', 'yarn.js')
export const YARN_BERRY_BIN = path.join(REPO_ROOT, 'node_modules', '@yarnpkg', 'cli-dist', 'bin', 'yarn.js')

export interface ClientResult {
  /** null when the process ended by a signal (see `signal`, `timedOut`). */
  code: number | null
  signal: NodeJS.Signals | null
  timedOut: boolean
  stdout: string
  stderr: string
}

export interface ClientOptions {
  cwd: string
  /** Registry URL; a trailing '/' is added when missing. */
  registry: string
  /**
   * The client's cache, kept by the caller across runs (npm: the npm cache; pnpm: store and metadata
   * cache under it; yarn: the cache folder). Default: a fresh temp folder, removed after the run.
   */
  cache?: string
  /** Added last, over the isolated environment; undefined deletes a variable. */
  env?: Record<string, string | undefined>
  /** Default 180 s; the whole process group is killed when it passes. */
  timeoutMs?: number
}

const DEFAULT_TIMEOUT_MS = 180_000
const tempDirs = new Set<string>()

/** A temp folder removed by `cleanupTempDirs()`. */
export async function makeTempDir(prefix = 'sinopia-test-'): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), prefix))
  tempDirs.add(dir)
  return dir
}

export async function cleanupTempDirs(): Promise<void> {
  const dirs = [...tempDirs]
  tempDirs.clear()
  await Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true })))
}

/** A temp folder holding a private package.json with these dependencies. */
export async function makeProject(
  dependencies: Record<string, string>,
  opts: { name?: string; devDependencies?: Record<string, string>; extra?: Record<string, unknown> } = {},
): Promise<string> {
  const dir = await makeTempDir('sinopia-project-')
  const json = { name: opts.name ?? 'test-project', version: '1.0.0', private: true, dependencies, ...(opts.devDependencies ? { devDependencies: opts.devDependencies } : {}), ...opts.extra }
  await writeFile(path.join(dir, 'package.json'), `${JSON.stringify(json, null, 2)}\n`)
  return dir
}

/**
 * The parent's environment without anything that configures a package manager: vitest may run
 * under `npm test`, which exports dozens of `npm_config_*` and `npm_package_*` variables, and a
 * proxy variable would send 127.0.0.1 traffic elsewhere.
 */
export function isolatedBaseEnv(): Record<string, string> {
  const env: Record<string, string> = {}
  for (const [key, value] of Object.entries(process.env)) {
    if (value === undefined) continue
    if (/^(npm|pnpm|yarn|corepack)_/i.test(key) || /^(http|https|all|no)_proxy$/i.test(key) || key === 'INIT_CWD') continue
    env[key] = value
  }
  env.NO_PROXY = '127.0.0.1,localhost'
  env.NO_COLOR = '1'
  env.FORCE_COLOR = '0'
  return env
}

interface Sandbox {
  env: Record<string, string>
  cache: string
  dispose(): Promise<void>
}

/** A temp HOME with its own .npmrc and XDG folders, shared by the three clients. */
async function sandbox(opts: ClientOptions): Promise<Sandbox> {
  const registry = opts.registry.endsWith('/') ? opts.registry : `${opts.registry}/`
  const home = await mkdtemp(path.join(tmpdir(), 'sinopia-home-'))
  const cache = opts.cache ?? path.join(home, 'cache')
  await mkdir(cache, { recursive: true })
  const userconfig = path.join(home, '.npmrc')
  const globalconfig = path.join(home, 'global-npmrc')
  await writeFile(userconfig, `registry=${registry}\n`)
  await writeFile(globalconfig, '')
  await writeFile(path.join(home, '.yarnrc'), `registry "${registry}"\ndisable-self-update-check true\n`)
  const env: Record<string, string> = {
    ...isolatedBaseEnv(),
    HOME: home,
    USERPROFILE: home,
    XDG_CONFIG_HOME: path.join(home, '.config'),
    XDG_CACHE_HOME: path.join(home, '.cache'),
    XDG_DATA_HOME: path.join(home, '.local', 'share'),
    XDG_STATE_HOME: path.join(home, '.local', 'state'),
    npm_config_userconfig: userconfig,
    npm_config_globalconfig: globalconfig,
    npm_config_registry: registry,
    npm_config_cache: cache,
    npm_config_audit: 'false',
    npm_config_fund: 'false',
    npm_config_update_notifier: 'false',
    npm_config_progress: 'false',
  }
  return { env, cache, dispose: () => rm(home, { recursive: true, force: true }) }
}

function applyOverrides(env: Record<string, string>, overrides: ClientOptions['env']): Record<string, string> {
  for (const [key, value] of Object.entries(overrides ?? {})) {
    if (value === undefined) delete env[key]
    else env[key] = value
  }
  return env
}

/** Spawns in its own process group; never throws on a non-zero exit. */
export function runProcess(command: string, args: string[], opts: { cwd: string; env: Record<string, string>; timeoutMs?: number }): Promise<ClientResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: opts.cwd, env: opts.env, stdio: ['ignore', 'pipe', 'pipe'], detached: true })
    let stdout = ''
    let stderr = ''
    let timedOut = false
    child.stdout.setEncoding('utf8').on('data', (text: string) => (stdout += text))
    child.stderr.setEncoding('utf8').on('data', (text: string) => (stderr += text))
    const timer = setTimeout(() => {
      timedOut = true
      try {
        if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL')
      } catch {
        child.kill('SIGKILL')
      }
    }, opts.timeoutMs ?? DEFAULT_TIMEOUT_MS)
    child.on('error', (error) => {
      clearTimeout(timer)
      reject(error)
    })
    child.on('close', (code, signal) => {
      clearTimeout(timer)
      resolve({ code, signal, timedOut, stdout, stderr })
    })
  })
}

async function runInSandbox(command: string, args: string[], opts: ClientOptions, extraEnv: (box: Sandbox) => Record<string, string>): Promise<ClientResult> {
  const box = await sandbox(opts)
  try {
    const env = applyOverrides({ ...box.env, ...extraEnv(box) }, opts.env)
    return await runProcess(command, args, { cwd: opts.cwd, env, timeoutMs: opts.timeoutMs })
  } finally {
    await box.dispose()
  }
}

export function runNpm(args: string[], opts: ClientOptions): Promise<ClientResult> {
  return runInSandbox('npm', args, opts, () => ({}))
}

export function runPnpm(args: string[], opts: ClientOptions): Promise<ClientResult> {
  return runInSandbox(PNPM_BIN, args, opts, (box) => ({
    // pnpm 12 reads PNPM_CONFIG_*; older releases read npm_config_*.
    PNPM_CONFIG_STORE_DIR: path.join(box.cache, 'store'),
    PNPM_CONFIG_CACHE_DIR: path.join(box.cache, 'metadata'),
    PNPM_CONFIG_REGISTRY: box.env.npm_config_registry as string,
    PNPM_CONFIG_UPDATE_NOTIFIER: 'false',
    // pnpm 12 skips versions younger than a day by default; npm and yarn have no such rule.
    PNPM_CONFIG_MINIMUM_RELEASE_AGE: '0',
    npm_config_store_dir: path.join(box.cache, 'store'),
    npm_config_cache_dir: path.join(box.cache, 'metadata'),
  }))
}

export function runYarn(args: string[], opts: ClientOptions): Promise<ClientResult> {
  return runInSandbox(process.execPath, [YARN_BIN, '--non-interactive', '--no-progress', ...args], opts, (box) => ({
    YARN_CACHE_FOLDER: box.cache,
    YARN_REGISTRY: box.env.npm_config_registry as string,
    YARN_DISABLE_SELF_UPDATE_CHECK: 'true',
    YARN_ENABLE_TELEMETRY: '0',
  }))
}

/** yarn berry (`yarn npm publish`, `yarn npm login`): configured through YARN_* variables. */
export function runYarnBerry(args: string[], opts: ClientOptions & { token?: string }): Promise<ClientResult> {
  return runInSandbox(process.execPath, [YARN_BERRY_BIN, ...args], opts, (box) => ({
    YARN_NPM_REGISTRY_SERVER: (box.env.npm_config_registry as string).replace(/\/$/, ''),
    YARN_UNSAFE_HTTP_WHITELIST: '127.0.0.1',
    YARN_CACHE_FOLDER: path.join(box.cache, 'berry-cache'),
    YARN_GLOBAL_FOLDER: path.join(box.cache, 'berry-global'),
    YARN_ENABLE_TELEMETRY: '0',
    YARN_ENABLE_GLOBAL_CACHE: '0',
    YARN_ENABLE_IMMUTABLE_INSTALLS: '0',
    ...(opts.token ? { YARN_NPM_AUTH_TOKEN: opts.token } : {}),
  }))
}

/**
 * A developer's own npm setup that lasts across commands (login state in its .npmrc), unlike
 * runNpm's throw-away sandboxes: HOME, userconfig, global config and cache in a temp folder.
 */
export async function persistentNpmHome(registryUrl: string, prefix: string): Promise<{ home: string; npmrc: string; env: Record<string, string> }> {
  const home = await makeTempDir(prefix)
  const npmrc = path.join(home, '.npmrc')
  await mkdir(path.join(home, 'cache'))
  await writeFile(npmrc, `registry=${registryUrl}\n`)
  await writeFile(path.join(home, 'global-npmrc'), '')
  const env = {
    ...isolatedBaseEnv(),
    HOME: home,
    USERPROFILE: home,
    XDG_CONFIG_HOME: path.join(home, '.config'),
    npm_config_userconfig: npmrc,
    npm_config_globalconfig: path.join(home, 'global-npmrc'),
    npm_config_registry: registryUrl,
    npm_config_cache: path.join(home, 'cache'),
    npm_config_update_notifier: 'false',
    npm_config_fund: 'false',
    npm_config_audit: 'false',
  }
  return { home, npmrc, env }
}

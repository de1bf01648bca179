import { spawn } from 'node:child_process'
import { existsSync, realpathSync } from 'node:fs'
import { mkdir, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { performance } from 'node:perf_hooks'
import { summarizeProfile } from './profile.js'
import { childrenCpuSeconds } from './server.js'

/**
 * The client's floor: `npm ci` of a generated project through the warm server, with a fresh
 * npm cache each time, against `npm ci --offline` from the full cache npm kept of the same
 * packages (no network at all). npm runs with its own empty user config and an environment
 * without npm_config_* or proxy variables, so nothing of the caller's setup applies.
 */

const RUN_TIMEOUT_MS = 120_000

/** How to run npm: the npm that runs this script (`npm run bench`), else `npm` on PATH. */
function npmCommand() {
  const cli = npmCliPath()
  return cli ? [process.execPath, [cli]] : ['npm', []]
}

/** npm's own entry script (npm-cli.js), so node can run it with flags; null when not found. */
function npmCliPath() {
  const execPath = process.env.npm_execpath
  if (execPath && /npm-cli\.js$/.test(execPath) && existsSync(execPath)) return execPath
  for (const dir of (process.env.PATH ?? '').split(path.delimiter).filter(Boolean)) {
    try {
      const real = realpathSync(path.join(dir, 'npm'))
      if (/npm-cli\.js$/.test(real)) return real
    } catch {
      // not in this folder
    }
  }
  return null
}

function cleanEnv(home) {
  const env = {}
  for (const [key, value] of Object.entries(process.env)) {
    if (/^npm_/i.test(key) || /^(https?|all|no)_proxy$/i.test(key)) continue
    env[key] = value
  }
  // No update check, no funding/audit calls, no user or global npmrc.
  return { ...env, HOME: home, NO_UPDATE_NOTIFIER: '1', npm_config_update_notifier: 'false' }
}

/**
 * Runs npm with `args` in `cwd`; resolves `{ ms, cpuS, code, output }` (cpuS: npm's CPU
 * seconds, or null; output: the last 4,000 characters). Stopped with SIGTERM after `timeoutMs`.
 * `onSpawn(child)` gets the child process as soon as it is started.
 */
export function runNpm(args, { cwd, home, track, profileDir, timeoutMs = RUN_TIMEOUT_MS, onSpawn }) {
  const [command, prefix] = npmCommand()
  // Profiled: node runs npm-cli.js under --cpu-prof (NODE_OPTIONS refuses that flag).
  if (profileDir) prefix.unshift('--cpu-prof', `--cpu-prof-dir=${profileDir}`)
  const started = performance.now()
  // npm's own CPU (with its children): the client's share of an install.
  const cpuBefore = childrenCpuSeconds()
  return new Promise((resolve) => {
    const child = spawn(command, [...prefix, ...args], { cwd, env: cleanEnv(home), stdio: ['ignore', 'pipe', 'pipe'] })
    onSpawn?.(child)
    let output = ''
    for (const stream of [child.stdout, child.stderr]) stream.setEncoding('utf8').on('data', (chunk) => (output = (output + chunk).slice(-4000)))
    const timer = setTimeout(() => child.kill('SIGTERM'), timeoutMs)
    track?.(() => child.kill('SIGTERM'))
    child.once('error', (error) => (output += `\n${error.message}`))
    child.once('close', (code, signal) => {
      clearTimeout(timer)
      track?.(null)
      const cpuAfter = childrenCpuSeconds()
      const cpuS = cpuBefore === null || cpuAfter === null ? null : Math.round((cpuAfter - cpuBefore) * 100) / 100
      resolve({ ms: Math.round(performance.now() - started), cpuS, code: code ?? signal, output: output.trim() })
    })
  })
}

/**
 * A home folder for npm under `dir` with empty user and global configs, and the arguments every
 * bench run of npm takes: the registry, those configs, no audit, fund, scripts, update check or
 * progress bar, and `loglevel`. Resolves `{ home, args }`.
 */
export async function isolatedNpm(dir, registryUrl, { loglevel = 'error' } = {}) {
  const home = path.join(dir, 'home')
  await mkdir(home, { recursive: true })
  const userconfig = path.join(home, '.npmrc')
  const globalconfig = path.join(home, 'global-npmrc')
  await writeFile(userconfig, '')
  await writeFile(globalconfig, '')
  const args = [
    `--registry=${registryUrl}`,
    `--userconfig=${userconfig}`,
    `--globalconfig=${globalconfig}`,
    '--no-audit',
    '--no-fund',
    '--ignore-scripts',
    '--no-update-notifier',
    `--loglevel=${loglevel}`,
    '--no-progress',
  ]
  return { home, args }
}

/** The middle value (the mean of the two middle ones, rounded); `values` not empty. */
export function median(values) {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = Math.floor(sorted.length / 2)
  return sorted.length % 2 ? sorted[mid] : Math.round((sorted[mid - 1] + sorted[mid]) / 2)
}

/**
 * Makes the project (package.json), runs `npm install` once through the server (the lockfile,
 * and a full npm cache), then alternates `npm ci` through the server (fresh cache), `npm ci`
 * from nginx serving the same tarballs (fresh cache; when `startStatic` gives a server) and
 * `npm ci --offline` (the install's cache) up to `rounds` times, fewer when `budgetMs` runs out.
 * With `profileDir`, one more run of each kind afterwards runs npm under `--cpu-prof` (slower,
 * so not timed with the others): `profiles` summarizes where npm's main thread spent it.
 * Returns `{ installMs, installed, server, static, offline (ms each), serverCpuS, clientCpuS,
 * profiles, medians, ratio, problems }`.
 */
export async function npmCiComparison({
  dir,
  registryUrl,
  rootDependencies,
  startStatic,
  serverCpuSeconds = () => null,
  rounds = 3,
  budgetMs = 150_000,
  profileDir = null,
  log,
  track,
  stopped,
}) {
  const project = path.join(dir, 'project')
  const warmCache = path.join(dir, 'npm-cache-full')
  await mkdir(project, { recursive: true })
  const { home, args: common } = await isolatedNpm(dir, registryUrl)
  await writeFile(
    path.join(project, 'package.json'),
    `${JSON.stringify({ name: 'bench-project', version: '1.0.0', private: true, dependencies: rootDependencies }, null, 2)}\n`,
  )
  const problems = []
  const started = performance.now()

  log(`npm install of ${Object.keys(rootDependencies).length} root dependencies through the server (makes the lockfile)`)
  const install = await runNpm(['install', `--cache=${warmCache}`, ...common], { cwd: project, home, track })
  if (install.code !== 0) return { problems: [`npm install failed (${install.code}): ${install.output.slice(-1500)}`] }
  const lockText = await readFile(path.join(project, 'package-lock.json'), 'utf8')
  const lock = JSON.parse(lockText)
  const installed = Object.keys(lock.packages ?? {}).filter((key) => key.includes('node_modules/')).length

  // The same install from a static file server (nginx with the same tarballs at the same
  // paths): what fetching into a fresh cache costs the client when the server costs ~nothing.
  let staticServer = null
  const staticProject = path.join(dir, 'project-static')
  if (startStatic) {
    try {
      staticServer = await startStatic()
      await mkdir(staticProject, { recursive: true })
      await writeFile(path.join(staticProject, 'package.json'), await readFile(path.join(project, 'package.json')))
      await writeFile(path.join(staticProject, 'package-lock.json'), lockText.replaceAll(registryUrl, staticServer.url))
    } catch (error) {
      problems.push(`npm ci from nginx skipped: ${error.message}`)
      staticServer = null
    }
  }

  const server = []
  const offline = []
  const viaStatic = []
  const serverCpu = []
  // npm's own CPU seconds per run, by kind: where the time of a fresh-cache install goes.
  const clientCpu = { server: [], static: [], offline: [] }
  for (let round = 0; round < rounds; round++) {
    if (stopped()) break
    const elapsed = performance.now() - started
    const perRound = round === 0 ? 0 : (elapsed - install.ms) / round
    if (round > 0 && elapsed + perRound > budgetMs) {
      log(`npm ci: stopping after ${round} round(s), the time budget (${budgetMs / 1000} s) is spent`)
      break
    }
    const freshCache = path.join(dir, `npm-cache-fresh-${round}`)
    await rm(path.join(project, 'node_modules'), { recursive: true, force: true })
    const cpuBefore = serverCpuSeconds()
    const viaServer = await runNpm(['ci', `--cache=${freshCache}`, ...common], { cwd: project, home, track })
    const cpuAfter = serverCpuSeconds()
    if (cpuBefore !== null && cpuAfter !== null) serverCpu.push(Math.round((cpuAfter - cpuBefore) * 100) / 100)
    if (viaServer.code !== 0) {
      problems.push(`npm ci through the server failed (${viaServer.code}): ${viaServer.output.slice(-1500)}`)
      break
    }
    server.push(viaServer.ms)
    if (viaServer.cpuS !== null) clientCpu.server.push(viaServer.cpuS)
    await rm(freshCache, { recursive: true, force: true })
    if (staticServer) {
      await rm(path.join(staticProject, 'node_modules'), { recursive: true, force: true })
      const fromStatic = await runNpm(['ci', `--cache=${freshCache}`, ...common.map((a) => a.replace(registryUrl, staticServer.url))], {
        cwd: staticProject,
        home,
        track,
      })
      await rm(freshCache, { recursive: true, force: true })
      await rm(path.join(staticProject, 'node_modules'), { recursive: true, force: true })
      if (fromStatic.code === 0) {
        viaStatic.push(fromStatic.ms)
        if (fromStatic.cpuS !== null) clientCpu.static.push(fromStatic.cpuS)
      } else {
        problems.push(`npm ci from nginx failed (${fromStatic.code}): ${fromStatic.output.slice(-800)}`)
        await staticServer.stop()
        staticServer = null
      }
    }
    await rm(path.join(project, 'node_modules'), { recursive: true, force: true })
    const fromCache = await runNpm(['ci', '--offline', `--cache=${warmCache}`, ...common], { cwd: project, home, track })
    if (fromCache.code !== 0) {
      problems.push(`npm ci --offline from the full cache failed (${fromCache.code}): ${fromCache.output.slice(-1500)}`)
      break
    }
    offline.push(fromCache.ms)
    if (fromCache.cpuS !== null) clientCpu.offline.push(fromCache.cpuS)
    log(
      `npm ci round ${round + 1}: through the server ${viaServer.ms} ms, ` +
        `${viaStatic.length > round ? `from nginx ${viaStatic[round]} ms, ` : ''}--offline ${fromCache.ms} ms`,
    )
  }
  const profiles = profileDir && !stopped() ? await profiledRuns({ dir, project, staticProject, staticServer, warmCache, common, home, track, profileDir, problems }) : null
  await staticServer?.stop()
  await rm(path.join(project, 'node_modules'), { recursive: true, force: true })
  const medians =
    server.length && offline.length ? { server: median(server), offline: median(offline), ...(viaStatic.length ? { static: median(viaStatic) } : {}) } : null
  return {
    npm: (await runNpm(['--version'], { cwd: project, home })).output,
    installMs: install.ms,
    installed,
    server,
    offline,
    static: viaStatic,
    serverCpuS: serverCpu,
    clientCpuS: clientCpu,
    profiles,
    medians,
    ratio: medians ? medians.server / medians.offline : null,
    staticRatio: medians?.static ? medians.static / medians.offline : null,
    problems,
  }
}

/** One profiled `npm ci` of each kind; returns kind -> `{ ms, dir, summary }` (see profile.js). */
async function profiledRuns({ dir, project, staticProject, staticServer, warmCache, common, home, track, profileDir, problems }) {
  if (!npmCliPath()) {
    problems.push('npm profile skipped: npm-cli.js not found (npm on PATH is not a link to it)')
    return null
  }
  const kinds = [
    ['server', project, ['ci', `--cache=${path.join(dir, 'npm-cache-profiled')}`, ...common]],
    ...(staticServer ? [['static', staticProject, ['ci', `--cache=${path.join(dir, 'npm-cache-profiled')}`, ...common.map((a) => a.replace(/^--registry=.*/, `--registry=${staticServer.url}`))]]] : []),
    ['offline', project, ['ci', '--offline', `--cache=${warmCache}`, ...common]],
  ]
  const profiles = {}
  for (const [kind, cwd, args] of kinds) {
    const target = path.join(profileDir, `npm-ci-${kind}`)
    await rm(target, { recursive: true, force: true })
    await mkdir(target, { recursive: true })
    await rm(path.join(cwd, 'node_modules'), { recursive: true, force: true })
    const run = await runNpm(args, { cwd, home, track, profileDir: target })
    await rm(path.join(dir, 'npm-cache-profiled'), { recursive: true, force: true })
    await rm(path.join(cwd, 'node_modules'), { recursive: true, force: true })
    if (run.code !== 0) {
      problems.push(`profiled npm ci (${kind}) failed (${run.code}): ${run.output.slice(-800)}`)
      continue
    }
    // npm's main process writes the newest profile; its child processes (if any) write theirs too.
    const files = (await readdir(target)).filter((f) => f.endsWith('.cpuprofile')).sort()
    const biggest = await largest(files.map((f) => path.join(target, f)))
    if (biggest) profiles[kind] = { ms: run.ms, dir: target, summary: summarizeProfile(JSON.parse(await readFile(biggest, 'utf8')), { top: 12 }) }
  }
  return profiles
}

async function largest(files) {
  let best = null
  let bestSize = -1
  for (const file of files) {
    const { size } = await stat(file)
    if (size > bestSize) [best, bestSize] = [file, size]
  }
  return best
}

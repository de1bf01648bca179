import { spawn } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { writeFile } from 'node:fs/promises'
import path from 'node:path'

const READY = /listening on (http:\/\/127\.0\.0\.1:(\d+)\/)/
const OUTPUT_TAIL_CHARS = 8000

/**
 * The config the server runs with: everything proxied to the fake uplink, cached for an hour (or
 * `maxage`), warnings only on stdout unless `log` gives the lines of another `log:` block.
 */
export function configYaml(storage, upstreamUrl, extra = [], { maxage = '1h', log = ['log:', '  level: warn'] } = {}) {
  return [
    `storage: ${JSON.stringify(storage)}`,
    'listen: 127.0.0.1:0',
    'uplinks:',
    '  npmjs:',
    `    url: ${JSON.stringify(upstreamUrl)}`,
    `    maxage: ${maxage}`,
    'packages:',
    "  '@*/*': { access: $all, publish: $authenticated, proxy: npmjs }",
    "  '**': { access: $all, publish: $authenticated, proxy: npmjs }",
    ...log,
    ...extra,
    '',
  ].join('\n')
}

/** The environment without proxy settings: the uplink is on 127.0.0.1 and must be reached directly. */
function childEnv() {
  const env = { ...process.env }
  for (const key of Object.keys(env)) {
    if (/^(https?|all|no)_proxy$/i.test(key)) delete env[key]
  }
  return env
}

/** The text of /proc/<pid>/<file> (`pid` may be 'self'), or null where there is no such file. */
export function readProc(pid, file) {
  try {
    return readFileSync(`/proc/${pid}/${file}`, 'utf8')
  } catch {
    return null
  }
}

/** `{ rssKb, hwmKb }` from /proc/<pid>/status, or null where there is no /proc. */
export function readMemory(pid) {
  const text = readProc(pid, 'status')
  if (text === null) return null
  const field = (name) => {
    const match = new RegExp(`^${name}:\\s*(\\d+) kB`, 'm').exec(text)
    return match ? Number(match[1]) : null
  }
  return { rssKb: field('VmRSS'), hwmKb: field('VmHWM') }
}

/**
 * CPU seconds (user + system) the process has used, from /proc/<pid>/stat, or null. Fields
 * 14 and 15 count clock ticks of USER_HZ, which is 100 on every Linux architecture.
 */
export function readCpuSeconds(pid) {
  return statSeconds(pid, 11)
}

/** CPU seconds of the process's main thread alone (its event loop: /proc/<pid>/task/<pid>/stat), or null. */
export function readMainThreadCpuSeconds(pid) {
  return statSeconds(`${pid}/task/${pid}`, 11)
}

/**
 * CPU seconds used by this process's waited-for children (fields 16 and 17, cutime and
 * cstime, of /proc/self/stat), or null. Read around one child's run (the only child that
 * ends meanwhile), it is what that child and its own children spent.
 */
export function childrenCpuSeconds() {
  return statSeconds('self', 13)
}

/** Two adjacent clock-tick fields of /proc/<pid>/stat, counted after the command name, as seconds. */
function statSeconds(pid, at) {
  const text = readProc(pid, 'stat')
  if (text === null) return null
  // The command name (field 2) may hold spaces: count fields after its closing parenthesis.
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ')
  const ticks = Number(fields[at]) + Number(fields[at + 1])
  return Number.isFinite(ticks) ? ticks / 100 : null
}

/**
 * Writes the config into `dir` (`extra` YAML lines and a `log` block as configYaml takes them;
 * `storage` a folder or a postgres:// URL, by default `dir`/storage) and starts `bin/run.js serve`
 * as a child (`nodeArgs` go to node first, e.g. `--cpu-prof`; `env` is added to its environment). Returns at once with
 * `{ pid, ready, alive(), output(), stop() }`, so the caller can register `stop` before it
 * waits: `ready` resolves `{ url, startupMs }` once the listening line is printed, and
 * rejects (with the child's output in the message) when it exits first or `timeoutMs` passes.
 */
export async function launchServer({ root, dir, upstreamUrl, timeoutMs, nodeArgs = [], maxage, extra = [], log, storage = path.join(dir, 'storage'), env = {}, existingConfig }) {
  // An existing config (a kept store's) is used as it is.
  const config = existingConfig ?? path.join(dir, 'config.yaml')
  if (!existingConfig) await writeFile(config, configYaml(storage, upstreamUrl, extra, { maxage, log }))
  /** Rewrites the config (extra YAML lines) and sends SIGHUP: the server applies what can change live. */
  const reconfigure = async (more) => {
    await writeFile(config, configYaml(storage, upstreamUrl, more, { maxage, log }))
    child.kill('SIGHUP')
  }
  const started = Date.now()
  const child = spawn(process.execPath, [...nodeArgs, path.join(root, 'bin/run.js'), 'serve', '--config', config, '--listen', '127.0.0.1:0'], {
    cwd: root,
    env: { ...childEnv(), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let stdout = ''
  let stderr = ''
  let seen = ''
  const keepTail = (text) => (text.length > OUTPUT_TAIL_CHARS ? text.slice(-OUTPUT_TAIL_CHARS) : text)
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })))
  const output = () => ({ stdout, stderr })
  const withOutput = (error) => {
    error.message += `\n--- server stdout ---\n${stdout.trim() || '(empty)'}\n--- server stderr ---\n${stderr.trim() || '(empty)'}`
    return error
  }
  child.stderr.setEncoding('utf8').on('data', (chunk) => (stderr = keepTail(stderr + chunk)))

  const ready = new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(withOutput(new Error(`the server printed no listening line within ${timeoutMs / 1000} s`))), timeoutMs)
    child.once('error', (error) => {
      clearTimeout(timer)
      reject(error)
    })
    void exited.then(({ code, signal }) => {
      clearTimeout(timer)
      // Let the last output arrive before quoting it.
      setImmediate(() => reject(withOutput(new Error(`the server exited (${signal ?? `code ${code}`}) before it was listening`))))
    })
    child.stdout.setEncoding('utf8').on('data', (chunk) => {
      stdout = keepTail(stdout + chunk)
      if (seen === null) return
      seen += chunk
      const match = READY.exec(seen)
      if (match) {
        seen = null
        clearTimeout(timer)
        resolve({ url: match[1], startupMs: Date.now() - started })
      }
    })
  })
  // The caller may give up (SIGINT) before it awaits `ready`.
  ready.catch(() => undefined)

  return {
    pid: child.pid,
    ready,
    exited,
    alive: () => child.exitCode === null && child.signalCode === null,
    reconfigure,
    output,
    stop: () => stopChild(child, exited),
  }
}

/** SIGTERM (the server finishes requests in flight), SIGKILL after 5 s. Resolves when the child is gone. */
async function stopChild(child, exited) {
  if (child.exitCode !== null || child.signalCode !== null) return exited
  child.kill('SIGTERM')
  const timer = setTimeout(() => child.kill('SIGKILL'), 5000)
  const result = await exited
  clearTimeout(timer)
  return result
}

/**
 * Samples VmRSS every 200 ms: the fallback for kernels without VmHWM, and the source of the
 * per-phase peaks (`window()` returns the peak since the last call and starts a new window).
 */
export function sampleMemory(pid) {
  let peakKb = 0
  let windowKb = 0
  const take = () => {
    const rss = readMemory(pid)?.rssKb ?? 0
    peakKb = Math.max(peakKb, rss)
    windowKb = Math.max(windowKb, rss)
  }
  const timer = setInterval(take, 200)
  timer.unref()
  take()
  return {
    window() {
      take()
      const peak = windowKb
      windowKb = 0
      return peak
    },
    stop() {
      clearInterval(timer)
      take()
      return peakKb
    },
  }
}

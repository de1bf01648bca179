import { spawn } from 'node:child_process'
import { request } from 'node:http'
import { createInterface } from 'node:readline'

/**
 * An event-loop watchdog for a running server: it sends `GET /-/ping` one after another
 * (never more than one in flight) and records how long each took. A server whose event loop
 * is blocked answers late, so `worstMs` is the longest stall seen while an attack ran.
 * Bounded: it stops by itself after `maxMs` (default 120 s) even if `stop()` is never called.
 */
export interface Watchdog {
  /** Stops pinging and resolves with what was seen (waits for the ping in flight). */
  stop(): Promise<WatchdogReport>
}

export interface WatchdogReport {
  pings: number
  worstMs: number
  /** Pings that failed (connection refused or reset, a status other than 200). */
  failures: number
}

export function startWatchdog(baseUrl: string, opts: { intervalMs?: number; maxMs?: number; timeoutMs?: number } = {}): Watchdog {
  const intervalMs = opts.intervalMs ?? 25
  const deadline = Date.now() + (opts.maxMs ?? 120_000)
  const timeoutMs = opts.timeoutMs ?? 30_000
  const report: WatchdogReport = { pings: 0, worstMs: 0, failures: 0 }
  let stopped = false

  const ping = () =>
    new Promise<void>((resolve) => {
      const started = performance.now()
      const req = request(new URL('-/ping', baseUrl), { agent: false, timeout: timeoutMs }, (res) => {
        res.resume()
        res.on('end', () => {
          report.pings++
          report.worstMs = Math.max(report.worstMs, performance.now() - started)
          if (res.statusCode !== 200) report.failures++
          resolve()
        })
      })
      req.on('timeout', () => req.destroy(new Error('ping timed out')))
      req.on('error', () => {
        report.pings++
        report.failures++
        report.worstMs = Math.max(report.worstMs, performance.now() - started)
        resolve()
      })
      req.end()
    })

  const loop = (async () => {
    while (!stopped && Date.now() < deadline) {
      await ping()
      await new Promise((resolve) => setTimeout(resolve, intervalMs))
    }
  })()

  return {
    async stop() {
      stopped = true
      await loop
      return { ...report }
    },
  }
}

/**
 * A canary: a Node process that records its own event-loop delay and, every 50 ms, how much
 * longer than its CPU time a short busy loop takes in wall time. Nothing else runs in it, so
 * the delay is the machine's scheduling (other processes), and the ratio is how many times
 * slower any CPU-bound stretch runs right now: what a stall bound on a shared machine is relative to.
 */
export interface Canary {
  /** Since the last call (or the start): the longest delay seen, in ms, and the mean wall/CPU ratio (>= 1). */
  sample(): Promise<{ stallMs: number; slowdown: number }>
  stop(): void
}

const CANARY = `
const { monitorEventLoopDelay } = require('node:perf_hooks')
const h = monitorEventLoopDelay({ resolution: 10 })
h.enable()
let wall = 0, cpu = 0
const probe = setInterval(() => {
  const t = process.hrtime.bigint(), c = process.cpuUsage()
  let x = 0
  for (let i = 0; i < 2e6; i++) x += i % 7
  const u = process.cpuUsage(c)
  wall += Number(process.hrtime.bigint() - t) / 1000
  cpu += u.user + u.system + (x < 0 ? 1 : 0)
}, 50)
process.stdin.on('data', () => {
  const slowdown = cpu > 0 ? Math.max(1, wall / cpu) : 1
  process.stdout.write(JSON.stringify({ stallMs: h.max / 1e6, slowdown }) + '\\n')
  h.reset(); wall = 0; cpu = 0
})
process.stdin.on('end', () => { clearInterval(probe); process.exit(0) })
`

export function startCanary(): Canary {
  const child = spawn(process.execPath, ['-e', CANARY], { stdio: ['pipe', 'pipe', 'inherit'] })
  const lines = createInterface({ input: child.stdout })
  const waiting: ((line: string) => void)[] = []
  lines.on('line', (line) => waiting.shift()?.(line))
  return {
    sample() {
      return new Promise((resolve) => {
        waiting.push((line) => resolve(JSON.parse(line) as { stallMs: number; slowdown: number }))
        child.stdin.write('?\n')
      })
    },
    stop() {
      child.stdin.end()
      child.kill()
    },
  }
}

/** Pings, the server's own worst event-loop delay, and the machine's load, over one window. */
export interface StallReport extends WatchdogReport {
  /** The longest event-loop delay the server itself saw (prom-client's monitor, read from `/-/metrics`). */
  serverStallMs: number
  /** What the machine's load alone caused over the same window (see Canary). */
  machine: { stallMs: number; slowdown: number }
}

/**
 * How long the server blocked its own event loop beyond what the machine's load explains, in
 * quiet-machine terms: its worst delay less the canary's, divided by how many times slower CPU
 * work ran meanwhile. A synchronous stretch of work shows up here whatever else the machine runs.
 */
export function excessStallMs(report: StallReport): number {
  return Math.max(0, report.serverStallMs - report.machine.stallMs) / report.machine.slowdown
}

/** The worst event-loop delay the server saw since the previous read (each scrape resets prom-client's monitor). */
async function serverStallMs(baseUrl: string): Promise<number> {
  const text = await (await fetch(new URL('-/metrics', baseUrl))).text()
  const line = /^nodejs_eventloop_lag_max_seconds\s+(\S+)$/m.exec(text)
  if (!line) throw new Error('the server reports no nodejs_eventloop_lag_max_seconds')
  return Number(line[1]) * 1000
}

/** Starts a window: pings (failures show a server that stopped answering), the server's loop monitor, a canary. */
export async function startStallWatch(baseUrl: string, opts: { intervalMs?: number; maxMs?: number } = {}): Promise<{ stop(): Promise<StallReport> }> {
  const canary = startCanary()
  await canary.sample()
  await serverStallMs(baseUrl)
  const dog = startWatchdog(baseUrl, opts)
  return {
    async stop() {
      try {
        const pings = await dog.stop()
        const machine = await canary.sample()
        return { ...pings, serverStallMs: await serverStallMs(baseUrl), machine }
      } finally {
        canary.stop()
      }
    },
  }
}

/** Runs `attack` inside one stall window. */
export async function watchStall<T>(baseUrl: string, attack: () => Promise<T>, opts: { intervalMs?: number; maxMs?: number } = {}): Promise<{ result: T; report: StallReport }> {
  const watch = await startStallWatch(baseUrl, opts)
  let result: T
  try {
    result = await attack()
  } catch (error) {
    await watch.stop()
    throw error
  }
  return { result, report: await watch.stop() }
}

/** One line that says what the stall figures were, for an assertion's message. */
export function describeStall(report: StallReport): string {
  return `server stall ${report.serverStallMs.toFixed(0)} ms, canary stall ${report.machine.stallMs.toFixed(0)} ms, slowdown ${report.machine.slowdown.toFixed(1)}x, worst ping ${report.worstMs.toFixed(0)} ms`
}

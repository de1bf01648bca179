import { request } from 'node:http'

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

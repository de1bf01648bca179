import type { Ora } from 'ora'
import type { CheckSummary, EventSink, SyncEvent, SyncSummary } from '../core/sync/index.js'

export interface Progress {
  onEvent: EventSink
  /** A line for the person watching (an interruption notice); on a TTY it goes above the spinner. */
  note(line: string): void
  stop(): void
}

export interface ProgressOptions {
  /** `lock-sync`, `mirror`, `check`: the first word of every line. */
  verb: string
  /** --json: the summary is the only output, so no progress at all. */
  json: boolean
  stream?: NodeJS.WriteStream
  /** Plain lines: a progress line at most this often (ms). */
  everyMs?: number
}

/**
 * Renders the core's events on stderr: an ora spinner on a TTY (packages done/total, bytes, rate),
 * plain lines otherwise (one per fetched, failed, retried or skipped package, a progress line
 * every few seconds), nothing with --json. stdout keeps only the summary.
 */
export async function createProgress(options: ProgressOptions): Promise<Progress> {
  const stream = options.stream ?? process.stderr
  if (options.json) return { onEvent: () => undefined, note: () => undefined, stop: () => undefined }
  const started = Date.now()
  const count = { total: 0, done: 0, fetchedBytes: 0, problems: 0, failed: 0 }
  const line = (text: string) => stream.write(`${text}\n`)
  const status = () => {
    const seconds = Math.max((Date.now() - started) / 1000, 0.001)
    const parts = [`${count.done}/${count.total} packages`]
    if (options.verb !== 'check') parts.push(`${formatBytes(count.fetchedBytes)} fetched`, `${formatBytes(count.fetchedBytes / seconds)}/s`)
    if (count.failed + count.problems > 0) parts.push(`${count.failed + count.problems} ${options.verb === 'check' ? 'problems' : 'failed'}`)
    return `${options.verb}: ${parts.join(' · ')}`
  }
  const tally = (event: SyncEvent) => {
    if (event.type === 'total') count.total = event.total
    else if (event.type === 'done') {
      count.done++
      if (event.status === 'fetched') count.fetchedBytes += event.size
    } else if (event.type === 'failed') count.failed++
    else if (event.type === 'problem') {
      count.problems++
      count.done++
    }
  }

  if (stream.isTTY) {
    // Loaded only for a terminal: start-up time matters for a command that often has nothing to do.
    const { default: ora } = await import('ora')
    const spinner: Ora = ora({ text: status(), stream, discardStdin: false }).start()
    const above = (text: string) => {
      spinner.clear()
      line(text)
      spinner.render()
    }
    return {
      onEvent(event) {
        tally(event)
        const text = eventLine(options.verb, event, false)
        if (text) above(text)
        spinner.text = status()
      },
      note: above,
      stop: () => void spinner.stop(),
    }
  }

  const everyMs = options.everyMs ?? 2_000
  let lastStatus = started
  return {
    onEvent(event) {
      tally(event)
      const text = eventLine(options.verb, event, true)
      if (text) line(text)
      if (Date.now() - lastStatus >= everyMs) {
        lastStatus = Date.now()
        line(status())
      }
    },
    note: line,
    stop: () => undefined,
  }
}

/** The line an event deserves, if any; on a TTY fetched packages show only in the counters. */
function eventLine(verb: string, event: SyncEvent, plain: boolean): string | null {
  switch (event.type) {
    case 'done':
      return plain && event.status === 'fetched' ? `${verb}: fetched ${event.name}@${event.version} (${formatBytes(event.size)})` : null
    case 'failed':
      return `${verb}: failed ${event.failure.package}: ${event.failure.message}`
    case 'problem':
      return `${verb}: ${event.problem.kind} ${event.problem.package}: ${event.problem.reason}`
    case 'retry':
      return `${verb}: retrying ${event.label} in ${(event.delayMs / 1000).toFixed(1)}s (attempt ${event.attempt + 1}): ${event.message}`
    case 'skipped':
      return plain ? `${verb}: skipped ${event.skipped.name} (${event.skipped.spec}): ${event.skipped.reason}` : null
    case 'corrupt':
      return `${verb}: ${event.package} is corrupt in the store: fetching it again`
    default:
      return null
  }
}

/** The closing report of lock-sync and mirror, for people (--json prints the summary object instead). */
export function syncSummaryText(verb: string, summary: SyncSummary, from?: string): string {
  const counts = [`${summary.present} already in store`, `${summary.fetched} fetched`, `${summary.skipped.length} skipped`, `${summary.failed.length} failed`]
  const lines = [
    `${verb}: ${summary.total} packages${from ? ` from ${from}` : ''}: ${counts.join(', ')}; ` +
      `${formatBytes(summary.bytes.fetched)} fetched, ${formatBytes(summary.bytes.total)} in all, in ${formatDuration(summary.durationMs)}`,
  ]
  if (summary.skipped.length > 0) {
    lines.push('skipped:', ...summary.skipped.map((s) => `  ${s.name} (${s.spec}): ${s.reason}${s.lockfile ? ` [${s.lockfile}]` : ''}`))
  }
  if (summary.refetched.length > 0) lines.push('fetched again (the stored copy was corrupt):', ...summary.refetched.map((p) => `  ${p}`))
  if (summary.failed.length > 0) lines.push('failed:', ...summary.failed.map((f) => `  ${f.package}: ${f.code}: ${f.message}`))
  if (summary.interrupted > 0) lines.push(`interrupted: ${summary.interrupted} not done; run the same command again to finish`)
  return lines.join('\n')
}

export function checkSummaryText(summary: CheckSummary, from?: string): string {
  const lines = [
    `check: ${summary.total} packages${from ? ` from ${from}` : ''}: ${summary.ok} ok, ${summary.missing.length} missing, ` +
      `${summary.corrupt.length} corrupt, ${summary.skipped.length} skipped; ${formatBytes(summary.bytes)} verified in ${formatDuration(summary.durationMs)}`,
  ]
  if (summary.missing.length > 0) lines.push('missing:', ...summary.missing.map((p) => `  ${p.package}: ${p.reason}`))
  if (summary.corrupt.length > 0) lines.push('corrupt:', ...summary.corrupt.map((p) => `  ${p.package}: ${p.reason}`))
  if (summary.missing.length + summary.corrupt.length > 0) lines.push('hint: `lock-sync` fetches what is missing; `lock-sync --verify` also replaces corrupt tarballs')
  if (summary.interrupted > 0) lines.push(`interrupted: ${summary.interrupted} not checked`)
  return lines.join('\n')
}

export function formatBytes(bytes: number): string {
  if (bytes < 1000) return `${Math.round(bytes)} B`
  const units = ['kB', 'MB', 'GB', 'TB']
  let value = bytes / 1000
  let unit = 0
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000
    unit++
  }
  return `${value.toFixed(value < 10 ? 1 : 0)} ${units[unit]}`
}

function formatDuration(ms: number): string {
  return ms < 1000 ? `${ms} ms` : `${(ms / 1000).toFixed(1)} s`
}

/**
 * Ctrl-C (or SIGTERM) once: `signal` aborts, so no new work starts and what runs finishes; every
 * store write is atomic, so stopping at any point leaves the store consistent and the next run
 * resumes. Twice: exit at once (130); a download cut off leaves only a temp file behind.
 */
export function interruptible(progress: Progress): { signal: AbortSignal; dispose(): void } {
  const controller = new AbortController()
  const onSignal = (name: NodeJS.Signals) => {
    if (controller.signal.aborted) process.exit(130)
    progress.note(`${name}: finishing what is in flight, then stopping (again to stop at once)`)
    controller.abort()
  }
  process.on('SIGINT', onSignal)
  process.on('SIGTERM', onSignal)
  return {
    signal: controller.signal,
    dispose() {
      process.off('SIGINT', onSignal)
      process.off('SIGTERM', onSignal)
    },
  }
}

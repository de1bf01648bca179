/**
 * Figures of a soak run: latency histograms per kind of request, growth of the server's RSS and
 * open file descriptors over the samples, and the text report.
 */

/** Latency buckets 10 % wide from 0.01 ms: ~200 counters cover up to two minutes, whatever the run's length. */
const BUCKET_BASE_MS = 0.01
const BUCKET_RATIO = 1.1
const BUCKETS = Math.ceil(Math.log(120_000 / BUCKET_BASE_MS) / Math.log(BUCKET_RATIO)) + 1

/** Counts, statuses and a bounded latency histogram of one kind of request. */
export function kindStats() {
  const buckets = new Uint32Array(BUCKETS)
  let maxMs = 0
  const stats = {
    requests: 0,
    errors: 0,
    statuses: {},
    /** Up to 5 distinct error messages, for the report. */
    errorSamples: [],
    record(ms, status) {
      stats.requests++
      stats.statuses[status] = (stats.statuses[status] ?? 0) + 1
      maxMs = Math.max(maxMs, ms)
      const at = ms <= BUCKET_BASE_MS ? 0 : Math.min(BUCKETS - 1, Math.ceil(Math.log(ms / BUCKET_BASE_MS) / Math.log(BUCKET_RATIO)))
      buckets[at]++
    },
    fail(message) {
      stats.errors++
      if (stats.errorSamples.length < 5 && !stats.errorSamples.includes(message)) stats.errorSamples.push(message)
    },
    /** The upper bound of the bucket holding the p-th percentile (within 10 %), in ms. */
    percentile(p) {
      const total = buckets.reduce((a, b) => a + b, 0)
      if (total === 0) return null
      let seen = 0
      for (let i = 0; i < BUCKETS; i++) {
        seen += buckets[i]
        if (seen >= total * p) return round(Math.min(maxMs, BUCKET_BASE_MS * BUCKET_RATIO ** i))
      }
      return maxMs
    },
    summary(seconds) {
      return {
        requests: stats.requests,
        reqPerSec: round(stats.requests / seconds),
        errors: stats.errors,
        statuses: stats.statuses,
        latencyMs: { p50: stats.percentile(0.5), p99: stats.percentile(0.99), max: round(maxMs) },
        errorSamples: stats.errorSamples,
      }
    },
  }
  return stats
}

/**
 * Growth between the first and the last sample, the peak, and the slope over the later half of
 * the run (per 10 minutes, least squares): a server that only warms up flattens there, a leak
 * does not.
 */
export function growth(samples, field) {
  const points = samples.filter((s) => typeof s[field] === 'number')
  if (points.length === 0) return null
  const first = points[0][field]
  const last = points.at(-1)[field]
  const late = points.slice(Math.floor(points.length / 2))
  return { first, last, max: Math.max(...points.map((s) => s[field])), growth: last - first, latePer10Min: slope(late, field) }
}

/** Least-squares slope per 10 minutes; null under 6 points (a minute of samples), where it says little. */
function slope(points, field) {
  if (points.length < 6) return null
  const xs = points.map((p) => p.tS)
  const ys = points.map((p) => p[field])
  const mx = xs.reduce((a, b) => a + b, 0) / xs.length
  const my = ys.reduce((a, b) => a + b, 0) / ys.length
  let num = 0
  let den = 0
  for (let i = 0; i < xs.length; i++) {
    num += (xs[i] - mx) * (ys[i] - my)
    den += (xs[i] - mx) ** 2
  }
  return den === 0 ? null : round((num / den) * 600)
}

const round = (n) => Math.round(n * 100) / 100

/** The soak results as text: one row per kind, then memory and descriptors, then problems. */
export function renderSoak(results) {
  const lines = [`soak: ${results.mode.seconds} s against ${results.server.url} (pid ${results.server.pid}), ${results.samples.length} samples every ${results.mode.sampleS} s`, '']
  const head = ['kind', 'requests', 'req/s', 'errors', 'p50 ms', 'p99 ms', 'max ms', 'statuses']
  const rows = Object.entries(results.kinds).map(([name, k]) => [
    name,
    String(k.requests),
    String(k.reqPerSec),
    String(k.errors),
    String(k.latencyMs.p50 ?? '-'),
    String(k.latencyMs.p99 ?? '-'),
    String(k.latencyMs.max),
    Object.entries(k.statuses).map(([s, n]) => `${s}:${n}`).join(' '),
  ])
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)))
  for (const row of [head, ...rows]) lines.push(row.map((cell, i) => (i === 0 || i === row.length - 1 ? cell.padEnd(widths[i]) : cell.padStart(widths[i]))).join('  ').trimEnd())
  lines.push('')
  const describe = (label, g, unit) =>
    g === null
      ? `${label}: not sampled (no /proc?)`
      : `${label}: ${g.first} -> ${g.last}${unit} (growth ${g.growth >= 0 ? '+' : ''}${round(g.growth)}, peak ${g.max}; later half ${g.latePer10Min ?? 'n/a'}${unit} per 10 min)`
  lines.push(describe('RSS', results.growth.rssKb, ' kB'))
  lines.push(describe('open fds', results.growth.fds, ''))
  for (const [name, k] of Object.entries(results.kinds)) for (const sample of k.errorSamples) lines.push(`  ${name} error: ${sample}`)
  lines.push('', results.problems.length === 0 ? 'no problems' : `problems:\n${results.problems.map((p) => `  - ${p}`).join('\n')}`)
  return `${lines.join('\n')}\n`
}

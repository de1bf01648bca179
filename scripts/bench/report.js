/** Renders the results as plain-text tables (the JSON file carries the same figures, unrounded). */
export function renderReport(results) {
  const lines = []
  const { fixtures, mode } = results
  lines.push(
    `sinopia-cli bench (${mode.quick ? 'quick' : 'full'}: ${mode.duration} s per scenario, ${mode.connections} connections; ` +
      `node ${results.environment.node}, ${results.environment.cpus} CPUs)`,
    `fixtures: ${fixtures.packument.name} ${fixtures.packument.versions} versions, ${mb(fixtures.packument.bytes)} MB of JSON; ` +
      `${fixtures.tarball.name} tarball ${mb(fixtures.tarball.bytes)} MB`,
    `server started in ${results.server.startupMs} ms`,
    '',
  )

  if (results.cold.length > 0) {
    lines.push(`Cold (concurrent GETs, fresh storage)`)
    lines.push(
      ...table(
        ['request', 'clients', 'uplink requests', 'first ms', 'all ms', 'statuses'],
        results.cold.map((c) => [
          c.name,
          c.clients,
          Object.entries(c.upstreamRequests).map(([k, v]) => `${k}=${v}`).join(' ') || '0',
          c.firstAnswerMs,
          c.allAnsweredMs,
          Object.entries(c.statuses).map(([k, v]) => `${k}x${v}`).join(' '),
        ]),
      ),
      '',
    )
  }

  if (results.scenarios.length > 0) {
    lines.push('Warm (autocannon)')
    lines.push(
      ...table(
        ['scenario', 'req/s', 'MB/s', 'p50 ms', 'p99 ms', 'max ms', 'requests', 'errors', 'non-2xx', 'bytes/resp', 'RSS MB', 'srv CPU%', 'client CPU%'],
        results.scenarios.map((s) => [
          s.name,
          s.reqPerSec.toFixed(1),
          s.mbPerSec.toFixed(1),
          s.latencyMs.p50,
          s.latencyMs.p99,
          s.latencyMs.max,
          s.requests,
          s.errors,
          s.non2xx,
          s.bytesPerResponse,
          s.peakRssKb ? (s.peakRssKb / 1024).toFixed(0) : '-',
          s.serverCpuPct ?? '-',
          s.clientCpuPct,
        ]),
      ),
      'MB/s counts 10^6 bytes of HTTP responses; RSS is the server\'s peak sampled during the scenario; CPU% is of one core.',
      'autocannon decodes every body chunk into a string: binary bodies (gzip, tarball) cost it ~13 ms/MB, so where',
      'client CPU% is near 100 the client, not the server, set the pace.',
      '',
    )
  }

  const memory = results.memory
  if (memory) {
    const peak = memory.peakKb ? `${(memory.peakKb / 1024).toFixed(1)} MB (${memory.source})` : 'unknown'
    lines.push(`server peak RSS: ${peak}`)
  }
  if (results.upstreamDuringLoad) {
    const calls = Object.entries(results.upstreamDuringLoad).map(([k, v]) => `${k}=${v}`).join(' ')
    lines.push(`uplink requests from warm-up to the end: ${calls || '0'}`)
  }
  if (results.serverOutput?.length > 0) {
    lines.push('', 'server output (warnings and errors, last lines):', ...results.serverOutput.map((l) => `  ${l}`))
  }
  if (results.problems.length > 0) {
    lines.push('', `PROBLEMS (${results.problems.length}):`, ...results.problems.map((p) => `  - ${p}`))
  }
  return `${lines.join('\n')}\n`
}

function mb(bytes) {
  return (bytes / 1e6).toFixed(2)
}

/** Left-aligned first column, right-aligned numbers. */
function table(head, rows) {
  const cells = [head, ...rows].map((row) => row.map(String))
  const widths = head.map((_, i) => Math.max(...cells.map((row) => row[i].length)))
  const format = (row) => row.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]) : cell.padStart(widths[i]))).join('  ')
  return [format(cells[0]), widths.map((w) => '-'.repeat(w)).join('  '), ...cells.slice(1).map(format)]
}

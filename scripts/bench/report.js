/**
 * The issue's targets, evaluated on the results: `[{ target, measured, bar, met, issue }]`,
 * `met` null where the figure is missing (nginx skipped, npm ci skipped).
 */
export function evaluateTargets(results) {
  const out = []
  for (const row of results.scenarios) {
    const s = row.sinopia
    const n = row.nginx
    if (!s) continue
    const issue = row.issueRow && !row.gzip
    if (!n) {
      out.push({ target: `${row.name}: req/s vs nginx`, measured: `${s.reqPerSec.toFixed(1)} req/s (no nginx)`, bar: `>= ${row.target.ratio} x`, met: null, issue })
      continue
    }
    const ratio = n.reqPerSec > 0 ? s.reqPerSec / n.reqPerSec : null
    out.push({
      target: `${row.name}: req/s vs nginx`,
      measured: ratio === null ? 'n/a' : `${ratio.toFixed(2)} x (${s.reqPerSec.toFixed(1)} / ${n.reqPerSec.toFixed(1)})`,
      ratio,
      bar: `>= ${row.target.ratio} x`,
      met: ratio === null ? null : ratio >= row.target.ratio,
      issue,
    })
    const p99 = n.latencyMs.p99 > 0 ? s.latencyMs.p99 / n.latencyMs.p99 : null
    out.push({
      target: `${row.name}: p99 vs nginx`,
      measured: p99 === null ? 'n/a' : `${p99.toFixed(2)} x (${s.latencyMs.p99} / ${n.latencyMs.p99} ms)`,
      ratio: p99,
      bar: `<= ${row.target.p99} x`,
      met: p99 === null ? null : p99 <= row.target.p99,
      issue,
    })
  }
  for (const row of results.scenarios.filter((r) => r.gzip && r.sinopia)) {
    const once = results.gzipOnceMs?.[row.nginxPath]
    const perResponse = row.sinopia.serverCpuMsPerResponse
    if (once === undefined || perResponse === null) continue
    out.push({
      target: `${row.name}: pre-compressed`,
      measured: `${perResponse} ms server CPU per response; one gzip of the document: ${once} ms`,
      bar: '< 1/4 of one gzip',
      met: perResponse < once / 4,
      issue: true,
    })
  }
  const memory = results.memory
  if (memory?.peakKb) {
    out.push({
      target: 'server peak RSS, whole run',
      measured: `${(memory.peakKb / 1024).toFixed(1)} MiB (${memory.source})`,
      bar: `<= ${memory.targetKb / 1024} MiB`,
      met: memory.peakKb <= memory.targetKb,
      issue: true,
    })
  }
  const ci = results.npmCi
  if (ci?.medians) {
    out.push({
      target: 'npm ci via server (fresh cache) vs --offline (full cache)',
      measured: `${ci.ratio.toFixed(2)} x (${ci.medians.server} / ${ci.medians.offline} ms, median of ${ci.server.length})`,
      ratio: ci.ratio,
      bar: '<= 1.05 x',
      met: ci.ratio <= 1.05,
      issue: true,
    })
    if (ci.staticRatio) {
      out.push({
        target: 'npm ci from nginx (fresh cache) vs --offline: the same bar for a static server',
        measured: `${ci.staticRatio.toFixed(2)} x (${ci.medians.static} / ${ci.medians.offline} ms)`,
        ratio: ci.staticRatio,
        bar: '<= 1.05 x',
        met: ci.staticRatio <= 1.05,
        issue: false,
      })
    }
  } else if (results.mode.npmCi) {
    out.push({ target: 'npm ci via server vs --offline', measured: 'not measured (see problems)', bar: '<= 1.05 x', met: null, issue: true })
  }
  const packument = results.cold[0]
  if (packument) {
    const uplink = Object.values(packument.upstreamRequests).reduce((a, b) => a + b, 0)
    const ok = packument.statuses['200'] ?? 0
    out.push({
      target: `cold packument, ${packument.clients} clients at once`,
      measured: `${uplink} uplink request(s), ${ok} x 200, last answer ${packument.afterUplinkMs ?? '?'} ms after the uplink's last byte`,
      bar: `1 request, ${packument.clients} answered`,
      met: uplink === 1 && ok === packument.clients && packument.problems.length === 0,
      issue: true,
    })
  }
  return out
}

/** Renders the results as plain-text tables (the JSON file carries the same figures, unrounded). */
export function renderReport(results) {
  const lines = []
  const { fixtures, mode, environment } = results
  const tarballs = fixtures.tarballs.map((t) => `${t.name} ${kb(t.bytes)} kB`).join(', ')
  lines.push(
    `sinopia-cli bench (${mode.quick ? 'quick' : 'full'}: ${mode.duration} s per run, ${mode.connections} connections; ` +
      `node ${environment.node}, ${environment.cpus} CPUs, load average at start ${environment.loadAverageAtStart.join(' ')}; ${results.elapsedS} s in all)`,
    `fixtures: ${fixtures.packument.name} ${fixtures.packument.versions} versions, ${mb(fixtures.packument.bytes)} MB of JSON; tarballs: ${tarballs}` +
      (fixtures.project ? `; npm ci project: ${fixtures.project.packages} packages, ${fixtures.project.versions} versions` : ''),
    `server started in ${results.server.startupMs} ms${results.server.profiled ? ' (running with --cpu-prof: slower than usual)' : ''}` +
      (results.nginx?.url ? `; nginx ${results.nginx.version}, ${results.nginx.workers} worker(s), sendfile on, gzip_static on` : ''),
    `client: autocannon ${results.client.version}` +
      (results.client.bodiesDiscarded
        ? ', its per-chunk body strings switched off (bodies are checked separately, once)'
        : ' as shipped: every body chunk becomes a string (~16 ms per MB of binary); where client CPU% is near 100 the client set the pace, for both servers'),
    '',
  )

  if (results.cold.length > 0) {
    lines.push('Cold (concurrent GETs, fresh storage)')
    lines.push(
      ...table(
        ['request', 'clients', 'uplink requests', 'first ms', 'all ms', 'uplink done ms', 'all after uplink ms', 'statuses'],
        results.cold.map((c) => [
          c.name,
          c.clients,
          Object.entries(c.upstreamRequests).map(([k, v]) => `${k}=${v}`).join(' ') || '0',
          c.firstAnswerMs,
          c.allAnsweredMs,
          c.uplinkDoneMs ?? '-',
          c.afterUplinkMs ?? '-',
          Object.entries(c.statuses).map(([k, v]) => `${k}x${v}`).join(' '),
        ]),
      ),
      '',
    )
  }

  if (results.scenarios.length > 0) {
    lines.push('Warm, side by side (same bytes, same autocannon settings; s = sinopia-cli, n = nginx)')
    const ratio = (a, b) => (a !== undefined && b ? (a / b).toFixed(2) : '-')
    lines.push(
      ...table(
        ['scenario', 'bytes', 's req/s', 'n req/s', 'ratio', 's p99', 'n p99', 'ratio', 's p50', 'n p50', 's MB/s', 'n MB/s', 's CPU%', 'n CPU%', 'cli CPU% s/n', 's ms/resp', 'RSS MB'],
        results.scenarios.map((row) => {
          const s = row.sinopia
          const n = row.nginx
          return [
            row.name,
            row.bytes,
            s ? s.reqPerSec.toFixed(1) : '-',
            n ? n.reqPerSec.toFixed(1) : '-',
            ratio(s?.reqPerSec, n?.reqPerSec),
            s ? s.latencyMs.p99 : '-',
            n ? n.latencyMs.p99 : '-',
            ratio(s?.latencyMs.p99, n?.latencyMs.p99),
            s ? s.latencyMs.p50 : '-',
            n ? n.latencyMs.p50 : '-',
            s ? s.mbPerSec.toFixed(0) : '-',
            n ? n.mbPerSec.toFixed(0) : '-',
            s?.serverCpuPct ?? '-',
            n?.serverCpuPct ?? '-',
            `${s?.clientCpuPct ?? '-'}/${n?.clientCpuPct ?? '-'}`,
            s?.serverCpuMsPerResponse ?? '-',
            s?.peakRssKb ? (s.peakRssKb / 1024).toFixed(0) : '-',
          ]
        }),
      ),
      'p99/p50 in ms; MB = 10^6 bytes of HTTP responses; CPU% is of one core (nginx: master + workers; cli = this process, autocannon);',
      "s ms/resp = sinopia's CPU time per response; RSS = sinopia's peak sampled during its run.",
      '',
    )
    const errors = results.scenarios.flatMap((row) =>
      ['sinopia', 'nginx'].filter((side) => row[side] && row[side].errors + row[side].non2xx > 0).map((side) => `${side} ${row.name}: ${row[side].errors} errors, ${row[side].non2xx} non-2xx`),
    )
    if (errors.length) lines.push(...errors, '')
  }

  const ci = results.npmCi
  if (ci && (ci.server?.length || ci.offline?.length)) {
    lines.push(
      `npm ci of the generated project (${ci.installed} packages in the lockfile; npm ${ci.npm}; the lockfile's npm install took ${ci.installMs} ms, ${ci.uplinkRequestsDuringInstall} uplink requests)`,
      ...table(
        ['run', ...ci.server.map((_, i) => `#${i + 1} ms`), 'median ms'],
        [
          ['through sinopia, fresh npm cache', ...ci.server, ci.medians?.server ?? '-'],
          ...(ci.static?.length ? [['from nginx (same tarballs), fresh npm cache', ...ci.static, ci.medians?.static ?? '-']] : []),
          ['--offline, full npm cache (floor)', ...ci.offline, ci.medians?.offline ?? '-'],
        ],
      ),
      ...(ci.serverCpuS?.length ? [`sinopia's CPU time during each npm ci through it: ${ci.serverCpuS.map((s) => `${s} s`).join(', ')}`] : []),
      ...clientCpuLines(ci.clientCpuS),
      ...npmProfileLines(ci.profiles),
      '',
    )
  }

  if (results.targets.length > 0) {
    lines.push('Targets (* = a row of the issue; the others are held to the same bar)')
    lines.push(
      ...table(
        ['target', 'measured', 'bar', 'met'],
        results.targets.map((t) => [`${t.issue ? '* ' : '  '}${t.target}`, t.measured, t.bar, t.met === null ? 'n/a' : t.met ? 'yes' : 'NO']),
        3,
      ),
      '',
    )
  }

  const memory = results.memory
  if (memory) {
    const peak = memory.peakKb ? `${(memory.peakKb / 1024).toFixed(1)} MiB (${memory.source})` : 'unknown'
    lines.push(`server peak RSS over the whole run: ${peak}`)
  }
  if (results.upstreamDuringLoad) {
    const calls = Object.entries(results.upstreamDuringLoad).map(([k, v]) => `${k}=${v}`).join(' ')
    lines.push(`uplink requests from warm-up to the end of the load runs: ${calls || '0'}`)
  }
  const cost = results.metricsCost
  if (cost?.problem) lines.push('', `metrics cost: ${cost.problem}`)
  else if (cost) {
    lines.push(
      '',
      `metrics cost on ${cost.scenario}: ${cost.on.reqPerSec.toFixed(1)} req/s (p99 ${cost.on.p99} ms) with metrics, ` +
        `${cost.off.reqPerSec.toFixed(1)} req/s (p99 ${cost.off.p99} ms) without: ${cost.ratio ?? 'n/a'} x, back to back in this run`,
    )
  }
  if (results.notes.length > 0) lines.push('', 'notes:', ...results.notes.map((n) => `  - ${n}`))
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

function kb(bytes) {
  return Math.round(bytes / 1000)
}

/** Left-aligned first `leftColumns` columns, right-aligned numbers. */
function table(head, rows, leftColumns = 1) {
  const cells = [head, ...rows].map((row) => row.map(String))
  const widths = head.map((_, i) => Math.max(...cells.map((row) => (row[i] ?? '').length)))
  const format = (row) => row.map((cell, i) => (i < leftColumns ? cell.padEnd(widths[i]) : cell.padStart(widths[i]))).join('  ')
  return [format(cells[0]), widths.map((w) => '-'.repeat(w)).join('  '), ...cells.slice(1).map(format)]
}

/** npm's own CPU seconds per run: a fresh-cache install costs the client more than the floor does. */
function clientCpuLines(cpu) {
  if (!cpu || !cpu.server?.length || !cpu.offline?.length) return []
  const seconds = (list) => list.map((s) => `${s} s`).join(', ')
  return [
    `npm's own CPU time (user + system, with its children): through sinopia ${seconds(cpu.server)}` +
      `${cpu.static?.length ? `; from nginx ${seconds(cpu.static)}` : ''}; --offline ${seconds(cpu.offline)}`,
  ]
}

/** Where npm's main thread went in the profiled runs (--npm-profile): busy, GC, fetch/cache code. */
function npmProfileLines(profiles) {
  if (!profiles || Object.keys(profiles).length === 0) return []
  const label = { server: 'through sinopia', static: 'from nginx', offline: '--offline' }
  const areaMs = (summary, test) => summary.areas.filter((a) => test(a.key)).reduce((sum, a) => sum + a.ms, 0)
  const lines = ["npm's main thread in one profiled npm ci of each kind (node --cpu-prof; slower than the timed runs):"]
  for (const [kind, { ms, dir, summary }] of Object.entries(profiles)) {
    const gc = areaMs(summary, (k) => k === 'garbage collector')
    const fetching = areaMs(summary, (k) => /npm-registry-fetch|minipass-fetch|make-fetch-happen|cacache|ssri|@npmcli\/agent/.test(k))
    lines.push(`  ${(label[kind] ?? kind).padEnd(16)} ${ms} ms wall, ${summary.busyMs} ms busy: GC ${gc} ms, fetch + cache code ${fetching} ms (${dir})`)
  }
  return lines
}

import autocannon from 'autocannon'
import { gunzipSync } from 'node:zlib'
import { get } from './http.js'

const ABBREVIATED = 'application/vnd.npm.install-v1+json'

/** The routes under load, in the order they run. */
export function scenarios({ packageName, tarballName, tarballFile }) {
  const doc = `/${packageName}`
  return [
    { name: 'packument full', path: doc, headers: { accept: 'application/json' } },
    { name: 'packument abbreviated', path: doc, headers: { accept: ABBREVIATED } },
    { name: 'packument full gzip', path: doc, headers: { accept: 'application/json', 'accept-encoding': 'gzip' } },
    { name: 'packument abbreviated gzip', path: doc, headers: { accept: ABBREVIATED, 'accept-encoding': 'gzip' } },
    { name: 'tarball', path: `/${tarballName}/-/${tarballFile}`, headers: { accept: 'application/octet-stream' } },
  ]
}

/**
 * One GET per scenario, so every body is prepared (and compressed) before it is measured.
 * Also checks what load testing cannot see: the status, that a gzip body unpacks to the
 * plain one, and that the ETag brings a 304. Returns `{ sizes, problems }`.
 */
export async function warm(serverUrl, list) {
  const problems = []
  const sizes = {}
  const plain = {}
  for (const scenario of list) {
    const url = serverUrl + scenario.path.slice(1)
    const res = await get(url, { headers: scenario.headers })
    sizes[scenario.name] = res.body.length
    if (res.status !== 200) {
      problems.push(`${scenario.name}: warm-up GET answered ${res.status}: ${res.body.toString('utf8').slice(0, 200)}`)
      continue
    }
    const gzip = Boolean(scenario.headers['accept-encoding'])
    const encoding = res.headers['content-encoding']
    if (gzip && encoding !== 'gzip') problems.push(`${scenario.name}: asked for gzip, got content-encoding ${encoding ?? '(none)'}`)
    if (!gzip && encoding) problems.push(`${scenario.name}: asked for no encoding, got content-encoding ${encoding}`)
    const key = `${scenario.path} ${scenario.headers.accept}`
    if (!gzip) plain[key] = res.body
    else if (encoding === 'gzip' && plain[key] && !gunzipSync(res.body).equals(plain[key])) {
      problems.push(`${scenario.name}: the gzip body does not unpack to the uncompressed one`)
    }
    const etag = res.headers.etag
    if (!etag) problems.push(`${scenario.name}: no ETag`)
    else {
      const again = await get(url, { headers: { ...scenario.headers, 'if-none-match': etag } })
      if (again.status !== 304) problems.push(`${scenario.name}: If-None-Match with its own ETag answered ${again.status}, not 304`)
    }
  }
  return { sizes, problems }
}

/**
 * Runs autocannon for `duration` seconds. `track(stop)` receives a function that ends the
 * run early (for SIGINT). Returns the figures the report shows.
 */
export async function measure(serverUrl, scenario, { connections, duration, track }) {
  const run = autocannon({
    url: serverUrl + scenario.path.slice(1),
    headers: scenario.headers,
    connections,
    duration,
    // Seconds without a complete answer before autocannon counts a timeout. 50 clients of a
    // 6 MB document keep ~300 MB in flight; on a small machine Node's own http server with a
    // fixed buffer already shows a 7 s tail there, so the default 10 s flags the client, not us.
    timeout: 30,
  })
  track(() => run.stop())
  const result = await run
  track(null)
  const completed = result.requests.total
  return {
    name: scenario.name,
    path: scenario.path,
    headers: scenario.headers,
    durationS: result.duration,
    connections,
    requests: completed,
    reqPerSec: result.requests.average,
    mbPerSec: result.throughput.average / 1e6,
    latencyMs: { p50: result.latency.p50, p99: result.latency.p99, avg: result.latency.average, max: result.latency.max },
    bytesPerResponse: completed > 0 ? Math.round(result.throughput.total / completed) : 0,
    // autocannon counts a timeout as an error too.
    errors: result.errors,
    timeouts: result.timeouts,
    non2xx: result.non2xx,
    statusCodes: Object.fromEntries(Object.entries(result.statusCodeStats).map(([code, { count }]) => [code, count])),
  }
}

import autocannon from 'autocannon'
import { createRequire } from 'node:module'
import { gunzipSync } from 'node:zlib'
import { ABBREVIATED, get } from './http.js'

const require = createRequire(import.meta.url)

/**
 * The routes under load, in the order they run. `nginxPath` is where nginx serves the same
 * bytes; `target` is the issue's bar for the row (req/s at least `ratio` x nginx's, p99 at
 * most `p99` x nginx's). The gzip rows carry the bar of their plain row: npm sends
 * Accept-Encoding: gzip, so they are what an install sees. `issueRow` marks the rows the
 * issue's table names (full, abbreviated, ~300 kB tarball).
 */
export function scenarios({ packageName, tarballs }) {
  const doc = `/${packageName}`
  const full = { ratio: 0.5, p99: 2 }
  const abbreviated = { ratio: 0.6, p99: 2 }
  return [
    { name: 'packument full', path: doc, nginxPath: '/full', headers: { accept: 'application/json' }, target: full, issueRow: true },
    {
      name: 'packument abbreviated',
      path: doc,
      nginxPath: '/abbreviated',
      headers: { accept: ABBREVIATED },
      target: abbreviated,
      issueRow: true,
    },
    {
      name: 'packument full gzip',
      path: doc,
      nginxPath: '/full',
      headers: { accept: 'application/json', 'accept-encoding': 'gzip' },
      target: full,
    },
    {
      name: 'packument abbreviated gzip',
      path: doc,
      nginxPath: '/abbreviated',
      headers: { accept: ABBREVIATED, 'accept-encoding': 'gzip' },
      target: abbreviated,
    },
    ...tarballs.map((t) => ({
      name: `tarball ${formatSize(t.bytes)}`,
      path: `/${t.name}/-/${t.file}`,
      nginxPath: `/${t.file}`,
      headers: { accept: 'application/octet-stream' },
      target: { ratio: 0.5, p99: 2 },
      // The issue's row is the ~300 kB tarball; the 1 MiB one is measured to the same bar.
      issueRow: t.bytes < 512 * 1024,
    })),
  ]
}

function formatSize(bytes) {
  return bytes >= 1024 * 1024 ? `${(bytes / 1024 / 1024).toFixed(0)} MiB` : `${Math.round(bytes / 1024)} KiB`
}

/**
 * autocannon 9 appends every body chunk to a string (`body += chunk`, a UTF-8 decode per
 * chunk): ~4 ms per MB of JSON and ~16 ms per MB of binary on one core, which caps the client
 * far below what either server can send (on this kind of machine nginx measured ~60 MB/s of
 * tarball that way, ~2 GB/s without it). Nothing here reads the bodies (no expectBody, no
 * verifyBody: the bytes are checked separately), so the queue's addBody is replaced by a no-op
 * in this process. Returns whether that worked; false leaves autocannon as it is.
 */
export function discardResponseBodies() {
  try {
    const Queue = require('autocannon/lib/pipelinedRequestsQueue.js')
    if (typeof Queue?.prototype?.addBody !== 'function') return false
    Queue.prototype.addBody = function addBody() {}
    return true
  } catch {
    return false
  }
}

/**
 * The exact bytes sinopia serves for each scenario (one GET each, after warm-up), as files
 * for nginx: `{ urlPath, type, body, gzip }`, the gzip form of a document next to it for
 * gzip_static. Also returns `expected`: scenario name -> the bytes and encoding nginx must send.
 */
export async function bytesForNginx(serverUrl, list) {
  const files = new Map()
  const expected = {}
  for (const scenario of list) {
    const res = await get(serverUrl + scenario.path.slice(1), { headers: scenario.headers })
    if (res.status !== 200) throw new Error(`${scenario.name}: GET for nginx's copy answered ${res.status}`)
    const encoding = res.headers['content-encoding'] ?? null
    const file = files.get(scenario.nginxPath) ?? { urlPath: scenario.nginxPath, type: res.headers['content-type'] }
    if (encoding === 'gzip') file.gzip = res.body
    else if (encoding) throw new Error(`${scenario.name}: sinopia answered content-encoding ${encoding}; nginx has no copy of that`)
    else file.body = res.body
    files.set(scenario.nginxPath, file)
    expected[scenario.name] = { body: res.body, encoding }
  }
  for (const file of files.values()) {
    if (!file.body) file.body = gunzipSync(file.gzip)
  }
  return { files: [...files.values()], expected }
}

/** One GET per scenario from nginx: the same status, encoding and bytes as sinopia sent. Returns problems. */
export async function checkNginx(nginxUrl, list, expected) {
  const problems = []
  for (const scenario of list) {
    const res = await get(nginxUrl + scenario.nginxPath.slice(1), { headers: scenario.headers })
    const want = expected[scenario.name]
    const encoding = res.headers['content-encoding'] ?? null
    if (res.status !== 200) problems.push(`nginx ${scenario.name}: answered ${res.status}`)
    else if (encoding !== want.encoding) problems.push(`nginx ${scenario.name}: content-encoding ${encoding}, sinopia sent ${want.encoding}`)
    else if (!res.body.equals(want.body)) problems.push(`nginx ${scenario.name}: ${res.body.length} bytes differ from sinopia's ${want.body.length}`)
  }
  return problems
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
  // A first GET each fills the store (a tarball not fetched yet streams from its download,
  // without an ETag); the checks below are on the stored answers.
  for (const scenario of list) await get(serverUrl + scenario.path.slice(1), { headers: scenario.headers })
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
export async function measure(url, scenario, { connections, duration, track }) {
  const run = autocannon({
    url,
    headers: scenario.headers,
    // Several paths, taken in turn by each connection (the scale mode's spread row).
    ...(scenario.requests ? { requests: scenario.requests } : {}),
    connections,
    duration,
    // Seconds without a complete answer before autocannon counts a timeout. 50 clients of a
    // 10 MB document keep ~500 MB in flight; on a small machine the tail can pass the default
    // 10 s for either server, which would flag the client, not the server.
    timeout: 30,
  })
  track(() => run.stop())
  const result = await run
  track(null)
  const completed = result.requests.total
  return {
    name: scenario.name,
    url,
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

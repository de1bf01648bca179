import { createHash } from 'node:crypto'
import http from 'node:http'
import { performance } from 'node:perf_hooks'
import { get } from './http.js'
import { countsSince } from './upstream.js'

/**
 * `clients` concurrent GETs of one URL the server has not cached yet. Reports how many
 * uplink requests they caused (one shared fetch is the goal), the time until the last
 * answer, and `problems`: failed requests, non-200 answers, bodies that `check` rejects.
 */
export async function coldBurst({ url, clients, upstream, headers = {}, check, uplinkKeys = [] }) {
  const agent = new http.Agent({ keepAlive: false, maxSockets: clients })
  const before = upstream.counts()
  const started = performance.now()
  const times = []
  // Bodies are checked after the last answer, so the checks do not slow the clients down.
  const settled = await Promise.allSettled(
    Array.from({ length: clients }, async () => {
      const res = await get(url, { headers, agent })
      times.push(performance.now() - started)
      return res
    }),
  )
  const allMs = performance.now() - started
  agent.destroy()

  const statuses = {}
  const problems = []
  for (const result of settled) {
    if (result.status === 'rejected') {
      problems.push(`request failed: ${result.reason?.message ?? result.reason}`)
      continue
    }
    const { status, body } = result.value
    statuses[status] = (statuses[status] ?? 0) + 1
    if (status !== 200) problems.push(`HTTP ${status}: ${body.toString('utf8').slice(0, 200)}`)
    else {
      const problem = check(body)
      if (problem) problems.push(problem)
    }
  }
  times.sort((a, b) => a - b)
  // The last uplink answer this burst waited for: every client should be answered right after it.
  const uplinkDone = Math.max(...uplinkKeys.map((key) => upstream.finishedAt(key) ?? -Infinity))
  const uplinkDoneMs = uplinkDone > started ? round(uplinkDone - started) : null
  return {
    url,
    clients,
    upstreamRequests: countsSince(before, upstream.counts()),
    firstAnswerMs: round(times[0] ?? NaN),
    allAnsweredMs: round(allMs),
    uplinkDoneMs,
    // From the uplink's last byte to the last client's last byte.
    afterUplinkMs: uplinkDoneMs === null ? null : round(allMs - uplinkDoneMs),
    statuses,
    problems: dedupe(problems),
  }
}

/** A body check for the packument: valid JSON with all versions, tarball URLs pointing at the server. */
export function packumentCheck({ versions, serverUrl }) {
  let verified = null
  return (body) => {
    const digest = createHash('sha1').update(body).digest('hex')
    // All clients must get the same document; parse it once.
    if (verified) return digest === verified ? null : 'bodies differ between concurrent clients'
    let doc
    try {
      doc = JSON.parse(body.toString('utf8'))
    } catch {
      return 'body is not JSON'
    }
    const got = Object.keys(doc.versions ?? {}).length
    if (got !== versions) return `document lists ${got} versions, the uplink has ${versions}`
    const tarball = Object.values(doc.versions)[0]?.dist?.tarball ?? ''
    if (!tarball.startsWith(serverUrl)) return `tarball URL ${tarball} does not point at the server`
    verified = digest
    return null
  }
}

/** A body check for the tarball: the bytes hash to the published integrity. */
export function tarballCheck({ integrity }) {
  return (body) => {
    const got = `sha512-${createHash('sha512').update(body).digest('base64')}`
    return got === integrity ? null : `tarball of ${body.length} bytes does not match its integrity`
  }
}

function dedupe(problems) {
  const counts = new Map()
  for (const p of problems) counts.set(p, (counts.get(p) ?? 0) + 1)
  return [...counts].map(([p, n]) => (n > 1 ? `${p} (x${n})` : p))
}

function round(ms) {
  return Math.round(ms * 10) / 10
}

import { performance } from 'node:perf_hooks'
import { digests } from './fixtures.js'
import { request } from './http.js'
import { packTarball } from './tar.js'

/**
 * What `npm publish` sends for `name@version` (a small real tarball, its digests in the
 * manifest): `{ body, file, shasum }`, `body` the PUT /:name body as bytes.
 */
export function publishBody(serverUrl, name, version, description = 'bench package') {
  const tarball = packTarball({ 'package.json': JSON.stringify({ name, version, description }), 'index.js': `module.exports = '${version}'\n` })
  const { integrity, shasum } = digests(tarball)
  const file = `${name}-${version}.tgz`
  const doc = {
    _id: name,
    name,
    description,
    'dist-tags': { latest: version },
    versions: { [version]: { name, version, description, dist: { integrity, shasum, tarball: `${serverUrl}${name}/-/${file}` } } },
    _attachments: { [file]: { content_type: 'application/octet-stream', data: tarball.toString('base64'), length: tarball.length } },
  }
  return { body: Buffer.from(JSON.stringify(doc)), file, shasum }
}

/** Registers `name` (npm adduser's request; the default config lets anyone sign up) and returns its token. */
export async function addUser(serverUrl, agent, name, password = `${name}-password-1`) {
  const body = Buffer.from(JSON.stringify({ name, password }))
  const r = await request(`${serverUrl}-/user/org.couchdb.user:${name}`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body, agent })
  if (r.status !== 201) throw new Error(`adduser answered ${r.status}: ${r.body.toString('utf8')}`)
  return JSON.parse(r.body.toString('utf8')).token
}

/**
 * `publishers` concurrent publishers (default 10), each publishing `perPublisher` versions in turn
 * (publisher k on instance k mod n, package k mod `packages`): the latency of each.
 * Every package is published once first, unmeasured: the rows measure adding a version. Before
 * them, `serial` versions one at a time (`alone`): the cost without lock waits.
 */
export async function publishLoad(instances, prefix, token, agent, stopped, { publishers = 10, perPublisher = 10, packages = 3, serial = 10 } = {}) {
  const problems = []
  const headers = { 'content-type': 'application/json', authorization: `Bearer ${token}` }
  const put = async (url, name, version) => {
    const { body } = publishBody(url, name, version)
    const t = performance.now()
    const r = await request(`${url}${name}`, { method: 'PUT', headers, body, agent, timeoutMs: 30_000 }).catch((error) => ({ status: 0, body: Buffer.from(error.message) }))
    const ms = performance.now() - t
    if (r.status !== 201 && problems.length < 10) problems.push(`${name}@${version} on ${url}: status ${r.status}: ${r.body.toString('utf8').slice(0, 200)}`)
    return { ms, ok: r.status === 201 }
  }
  for (let p = 0; p < packages; p++) await put(instances[0].url, `${prefix}-${p}`, '0.0.0')
  // One at a time first: what a publish costs without waiting for another's lock.
  const alone = []
  for (let n = 0; n < serial && !stopped(); n++) {
    const { ms, ok } = await put(instances[0].url, `${prefix}-0`, `0.1.${n}`)
    if (ok) alone.push(ms)
  }
  const latencies = []
  let failed = 0
  const began = performance.now()
  await Promise.all(
    Array.from({ length: publishers }, async (_, k) => {
      const { url } = instances[k % instances.length]
      for (let n = 0; n < perPublisher && !stopped(); n++) {
        const { ms, ok } = await put(url, `${prefix}-${k % packages}`, `1.${k}.${n}`)
        if (ok) latencies.push(ms)
        else failed++
      }
    }),
  )
  const seconds = (performance.now() - began) / 1000
  return { publishes: latencies.length + failed, failed, perSec: round1(latencies.length / seconds), ...percentiles(latencies), alone: percentiles(alone), problems }
}

/** p50, p99 and max in ms (nearest rank); nulls without samples. */
export function percentiles(samples) {
  if (samples.length === 0) return { p50Ms: null, p99Ms: null, maxMs: null }
  const sorted = [...samples].sort((x, y) => x - y)
  const at = (q) => round1(sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)])
  return { p50Ms: at(0.5), p99Ms: at(0.99), maxMs: round1(sorted.at(-1)) }
}

const round1 = (n) => Math.round(n * 10) / 10

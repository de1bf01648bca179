import { request } from 'node:http'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { cleanupRegistries, startRegistry, type RunningRegistry } from '../helpers/server.js'
import { startWatchdog, type WatchdogReport } from '../helpers/watchdog.js'

/**
 * Publish bodies built to stall or fill a real `serve`: each attack runs while a watchdog pings
 * the same server, and fails the test when one ping waits longer than STALL_MS.
 */

const STALL_MS = 200

/**
 * PUT with node's http client. A server that refuses a request before reading its body answers
 * and closes: the client may then see its own write fail (EPIPE, ECONNRESET) before it reads
 * the answer, which comes back as status 0 with the error code.
 */
function put(url: string, body: Buffer | string, token?: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method: 'PUT',
        agent: false,
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), ...(token ? { authorization: `Bearer ${token}` } : {}) },
      },
      (res) => {
        let text = ''
        res.setEncoding('utf8')
        res.on('data', (chunk: string) => (text += chunk))
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }))
        res.on('error', () => resolve({ status: res.statusCode ?? 0, body: text }))
      },
    )
    req.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'EPIPE' || error.code === 'ECONNRESET') resolve({ status: 0, body: error.code })
      else reject(error)
    })
    req.end(body)
  })
}

async function createUser(registry: RunningRegistry, name: string): Promise<string> {
  const res = await fetch(`${registry.url}-/user/org.couchdb.user:${name}`, {
    method: 'PUT',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ _id: `org.couchdb.user:${name}`, name, password: 'attack-Horse-1', type: 'user', roles: [] }),
  })
  const json = (await res.json()) as { token?: string }
  if (res.status !== 201 || !json.token) throw new Error(`adduser ${name}: ${res.status}`)
  return json.token
}

/** Runs `attack` while a watchdog pings the registry; returns what the watchdog saw. */
async function underWatch<T>(registry: RunningRegistry, attack: () => Promise<T>): Promise<{ result: T; watch: WatchdogReport }> {
  const dog = startWatchdog(registry.url, { intervalMs: 10, maxMs: 60_000 })
  try {
    const result = await attack()
    return { result, watch: await dog.stop() }
  } catch (error) {
    await dog.stop()
    throw error
  }
}

/** `depth` nested arrays: `[[[...]]]`. */
const nestedArray = (depth: number) => `${'['.repeat(depth)}${']'.repeat(depth)}`

/**
 * Bodies go out as Buffers made once: encoding a 9 MB string per request would stall this
 * process, which runs the watchdog too, and the stall would be blamed on the server.
 */
const DEEP_BODY = Buffer.from(nestedArray(4_500_000))

describe('publish abuse against a running serve', () => {
  let registry: RunningRegistry
  let token: string
  beforeAll(async () => {
    registry = await startRegistry()
    token = await createUser(registry, 'mallory')
  })
  afterAll(() => cleanupRegistries())

  it('(2) anonymous PUTs of a 9 MB nested array get 401 without the body being parsed: no stall', async () => {
    const { result, watch } = await underWatch(registry, async () => {
      const statuses: number[] = []
      for (let i = 0; i < 20; i++) statuses.push((await put(`${registry.url}victim-pkg`, DEEP_BODY)).status)
      return statuses
    })
    // The server answered 401 to each, before their bodies (its log says so; the client may not get to read it).
    for (const status of result) expect([0, 401]).toContain(status)
    await registry.waitForOutput(/(PUT \/victim-pkg 401[^]*){20}/)
    expect(watch.failures).toBe(0)
    expect(watch.worstMs).toBeLessThan(STALL_MS)
  })

  it('(2) a logged-in user sending a deeply nested body gets 400 (max_json_depth), on every JSON route: no stall', async () => {
    const { result, watch } = await underWatch(registry, async () => [
      await put(`${registry.url}victim-pkg`, DEEP_BODY, token),
      await put(`${registry.url}-/package/victim-pkg/dist-tags/beta`, DEEP_BODY, token),
      await put(`${registry.url}-/user/org.couchdb.user:mallory`, nestedArray(30_000)),
    ])
    for (const answer of result) {
      expect(answer.status).toBe(400)
      expect(answer.body).toMatch(/max_json_depth/)
    }
    expect(watch.worstMs).toBeLessThan(STALL_MS)
  })
})

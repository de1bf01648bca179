import { createServer, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo, Socket } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { cleanupTempDirs, makeTempDir, runNpm } from '../helpers/clients.js'
import { buildPackage } from '../helpers/packages.js'
import { publishBody } from '../helpers/publish.js'
import { cleanupRegistries, startRegistry, type RunningRegistry } from '../helpers/server.js'

/**
 * `npm search` answers from the store first, then from the uplink's own search for packages
 * nobody installed here yet (checked field by field, never a javascript: link), and from the
 * store alone at once when the uplink is down, or after `search.timeout` when it hangs.
 */

interface Uplink {
  url: string
  mode: 'ok' | 'hang'
  searches: number
  close(): Promise<void>
}

async function startSearchUplink(): Promise<Uplink> {
  const sockets = new Set<Socket>()
  const state = { mode: 'ok' as 'ok' | 'hang', searches: 0 }
  const server: Server = createServer((req, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://x')
    if (url.pathname !== '/-/v1/search') {
      res.writeHead(404, { 'content-type': 'application/json' }).end('{"error":"not found"}')
      return
    }
    state.searches++
    if (state.mode === 'hang') return
    const pkg = (name: string, description: string, extra: Record<string, unknown> = {}) => ({
      package: { name, version: '3.1.0', description, keywords: ['widget'], date: '2024-01-02T03:04:05.000Z', links: { npm: `https://uplink.example/package/${name}` }, maintainers: [{ username: 'ann' }], ...extra },
      score: { final: 0.9, detail: { quality: 0.5, popularity: 0.5, maintenance: 0.5 } },
      searchScore: 12,
    })
    const body = {
      objects: [
        pkg('local-widget', 'the uplink has a package of the same name'),
        pkg('remote-widget', 'a widget only the uplink has', { links: { homepage: 'javascript:alert(1)', repository: 'https://git.example/w' } }),
        { package: { name: 42 } },
      ],
      total: 3,
      time: new Date().toUTCString(),
    }
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body))
  })
  server.on('connection', (socket) => {
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as AddressInfo).port
  return {
    url: `http://127.0.0.1:${port}/`,
    get mode() {
      return state.mode
    },
    set mode(mode) {
      state.mode = mode
    },
    get searches() {
      return state.searches
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy()
        server.close(() => resolve())
      }),
  }
}

describe('npm search with the uplink', () => {
  let uplink: Uplink
  let registry: RunningRegistry

  beforeAll(async () => {
    uplink = await startSearchUplink()
    registry = await startRegistry({ upstreamUrl: uplink.url, config: { search: { timeout: '1s' } } })
    const res = await fetch(`${registry.url}-/user/org.couchdb.user:sam`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'sam', password: 'search-Horse-battery', type: 'user', roles: [], date: new Date().toISOString() }),
    })
    const { token } = (await res.json()) as { token: string }
    const local = await buildPackage({ name: 'local-widget', version: '1.0.0', description: 'the widget published here' })
    const put = await fetch(`${registry.url}local-widget`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify(publishBody(local)),
    })
    expect(put.status).toBe(201)
  })
  afterAll(async () => {
    await cleanupRegistries()
    await uplink?.close()
    await cleanupTempDirs()
  })

  const search = async (text: string) => {
    const result = await runNpm(['search', text, '--json'], { cwd: await makeTempDir(), registry: registry.url })
    expect(result.code, result.stderr).toBe(0)
    return JSON.parse(result.stdout) as Array<{ name: string; description: string; links?: Record<string, string> }>
  }

  it('finds a package only the uplink has, after the local results, with only http(s) links', { timeout: 60_000 }, async () => {
    const found = await search('widget')
    expect(found.map((p) => p.name)).toEqual(['local-widget', 'remote-widget'])
    expect(found[0]?.description).toBe('the widget published here')
    expect(found[1]?.links).toEqual({ repository: 'https://git.example/w' })
  })

  it('answers from the store when the uplink hangs (after search.timeout) or is down', { timeout: 60_000 }, async () => {
    uplink.mode = 'hang'
    const before = uplink.searches
    expect((await search('widget')).map((p) => p.name)).toEqual(['local-widget'])
    expect(uplink.searches).toBe(before + 1)
    await uplink.close()
    expect((await search('widget')).map((p) => p.name)).toEqual(['local-widget'])
  })
})

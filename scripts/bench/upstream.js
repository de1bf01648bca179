import { createHash } from 'node:crypto'
import http from 'node:http'
import { performance } from 'node:perf_hooks'
import { gzipSync } from 'node:zlib'

/**
 * A fake uplink on 127.0.0.1: serves routes (URL path -> { body, type }) with an ETag,
 * JSON gzipped when the client takes it, like a real registry. Counts every request as
 * `packument:<name>`, `tarball:<name>` or `other`, so a phase can tell how many uplink
 * calls it caused. Routes are given after listen() (the documents need the port) and
 * are prepared (ETag, gzip) at once, so no request pays for that.
 */
export async function startUpstream() {
  const counts = new Map()
  const finished = new Map()
  const prepared = new Map()
  const count = (key) => counts.set(key, (counts.get(key) ?? 0) + 1)

  const server = http.createServer((req, res) => {
    const path = safeDecode((req.url ?? '/').split('?')[0])
    const route = req.method === 'GET' ? prepared.get(path) : undefined
    if (!route) {
      count('other')
      res.writeHead(404, { 'content-type': 'application/json' })
      res.end('{"error":"not found"}')
      return
    }
    // `/name`, `/@scope/name`: a packument; `/name/-/file.tgz`: a tarball.
    const cut = path.indexOf('/-/')
    const key = cut === -1 ? `packument:${path.slice(1)}` : `tarball:${path.slice(1, cut)}`
    count(key)
    // When the last byte of the answer was handed to the kernel: cold bursts are timed from it.
    res.once('finish', () => finished.set(key, performance.now()))
    const { etag, gzip } = route
    if (req.headers['if-none-match'] === etag) {
      res.writeHead(304, { etag })
      res.end()
      return
    }
    const useGzip = gzip !== null && /\bgzip\b/.test(req.headers['accept-encoding'] ?? '')
    const body = useGzip ? gzip : route.body
    res.writeHead(200, {
      'content-type': route.type,
      'content-length': body.length,
      etag,
      ...(useGzip ? { 'content-encoding': 'gzip' } : {}),
    })
    res.end(body)
  })
  const sockets = new Set()
  server.on('connection', (socket) => {
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
  })
  await new Promise((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', resolve)
  })
  const { port } = server.address()

  return {
    url: `http://127.0.0.1:${port}/`,
    serve(routes) {
      for (const [path, route] of routes) {
        const etag = `"${createHash('sha1').update(route.body).digest('hex')}"`
        prepared.set(path, { ...route, etag, gzip: route.type === 'application/json' ? gzipSync(route.body) : null })
      }
    },
    /** Request counts so far, as a plain object. */
    counts: () => Object.fromEntries(counts),
    /** performance.now() when the last answer for `key` (as counted) was sent, or undefined. */
    finishedAt: (key) => finished.get(key),
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve())
        for (const socket of sockets) socket.destroy()
      }),
  }
}

/** Requests counted between two `counts()` snapshots. */
export function countsSince(before, after) {
  const out = {}
  for (const [key, value] of Object.entries(after)) {
    const diff = value - (before[key] ?? 0)
    if (diff > 0) out[key] = diff
  }
  return out
}

function safeDecode(path) {
  try {
    return decodeURIComponent(path)
  } catch {
    return path
  }
}

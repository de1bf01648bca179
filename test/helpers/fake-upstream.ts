import { createHash } from 'node:crypto'
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http'
import type { Socket } from 'node:net'
import { setTimeout as sleep } from 'node:timers/promises'
import { gunzipSync, gzipSync } from 'node:zlib'
import semver from 'semver'
import type { BuiltPackage, PackageManifest } from './packages.js'

export interface RecordedRequest {
  method: string
  /** As sent: path plus query, still percent-encoded. */
  url: string
  headers: IncomingHttpHeaders
  /** Bodies of non-GET requests, gunzipped when `Content-Encoding: gzip`, parsed when JSON. Set once read. */
  body?: unknown
}

export interface FakeUpstreamOptions {
  packages?: BuiltPackage[]
  /** 0 (a free port) unless given. */
  port?: number
  /** gzip JSON answers when the client sends `Accept-Encoding: gzip` (never tarballs). */
  gzip?: boolean
}

export interface Packument {
  _id: string
  name: string
  description: string
  'dist-tags': Record<string, string>
  versions: Record<string, PackageManifest & { _id: string }>
  time: Record<string, string>
  readme: string
  readmeFilename: string
}

/**
 * A way for the fake to misbehave (fault-injection tests). Status faults answer at once; body
 * faults apply to 200 answers (and skip conditional 304s, so a revalidation meets them too):
 * - `hang`: headers, then nothing until the client gives up;
 * - `drip`: the body one byte every `ms`;
 * - `truncate`: the first half of the body, with a Content-Length that matches it (looks complete);
 * - `reset`: the full Content-Length, half the body, then the connection is destroyed;
 * - `wrong-bytes`: same length, different content (JSON starts with `<`, other bodies get one byte flipped);
 * - `long-length`: the whole body under a Content-Length 1000 bytes longer, and the connection kept open.
 */
export type Fault =
  | { status: 500 | 502 | 503 }
  | { status: 429; retryAfter: number }
  | { body: 'hang' | 'truncate' | 'reset' | 'wrong-bytes' | 'long-length' }
  | { body: 'drip'; ms: number }

/** Which requests a fault applies to. */
export type FaultTarget = 'all' | 'packuments' | 'tarballs' | ((request: RecordedRequest) => boolean)

export interface FakeUpstream {
  /** `http://127.0.0.1:<port>/` */
  readonly url: string
  readonly port: number
  /** Every request received, in order (kept across stop/start; cleared by `reset`). */
  readonly requests: RecordedRequest[]
  /** Requests matching a predicate, or whose path (query ignored, or the whole url) equals the string. */
  count(match?: string | ((request: RecordedRequest) => boolean)): number
  reset(): void
  /** Adds (or replaces) a version; `publishedAt` sets its `time` entry (default: the fake clock, in 2020). */
  addPackage(pkg: BuiltPackage, publishedAt?: Date): void
  setTag(name: string, tag: string, version: string): void
  /** Serve `body` at /-/npm/v1/attestations/<name>@<version> (null: 404 again). */
  setAttestations(name: string, version: string, body: unknown): void
  /** The packument as served now, or undefined. */
  packument(name: string): Packument | undefined
  tarballUrl(name: string, version: string): string
  /** Wait this long before every response's headers. */
  delay(ms: number): void
  /** Send tarballs in chunks of this many bytes, pausing between them; null or 0 turns it off. */
  throttle(bytesPerChunk: number | null, msBetweenChunks?: number): void
  /** Serve tarballs with one byte flipped (same length), so integrity checks fail. */
  corruptTarballs(on: boolean): void
  /** Answer every request with this status and `{"error": ...}`; null to stop. */
  failWith(status: number | null): void
  /** Misbehave on the requests `target` selects (default all) until called with null. */
  fault(fault: Fault | null, target?: FaultTarget): void
  setGzip(on: boolean): void
  /** Close the server and destroy open sockets: clients see connection refused. */
  stop(): Promise<void>
  /** Listen again on the same port. */
  start(): Promise<void>
}

interface PackageState {
  versions: Map<string, BuiltPackage>
  time: Map<string, string>
  tags: Map<string, string>
  created: string
  modified: string
}

const ATTESTATIONS = '/-/npm/v1/attestations/'

/** Starts at a fixed date in the past (old enough for pnpm's minimum release age), one minute per change. */
const CLOCK_START = Date.parse('2020-01-01T00:00:00.000Z')

export async function startFakeUpstream(opts: FakeUpstreamOptions = {}): Promise<FakeUpstream> {
  const packages = new Map<string, PackageState>()
  const attestations = new Map<string, unknown>()
  const requests: RecordedRequest[] = []
  const sockets = new Set<Socket>()
  let clock = CLOCK_START
  let port = opts.port ?? 0
  let gzip = opts.gzip ?? false
  let delayMs = 0
  let chunk: { bytes: number; ms: number } | null = null
  let corrupt = false
  let failure: number | null = null
  let injected: { fault: Fault; target: FaultTarget } | null = null
  /** The body fault each response in flight is to suffer. */
  const bodyFaults = new WeakMap<ServerResponse, Extract<Fault, { body: string }>>()

  const tick = () => new Date((clock += 60_000)).toISOString()
  const baseUrl = () => `http://127.0.0.1:${port}/`
  const tarballUrl = (name: string, filename: string) => `${baseUrl()}${name}/-/${filename}`

  function addPackage(pkg: BuiltPackage, publishedAt?: Date): void {
    const published = publishedAt?.getTime() ?? clock + 60_000
    // The clock (and so `modified`) only moves forward, so If-Modified-Since never hides a change.
    clock = Math.max(clock + 60_000, published)
    const modified = new Date(clock).toISOString()
    let state = packages.get(pkg.name)
    if (!state) {
      state = { versions: new Map(), time: new Map(), tags: new Map(), created: new Date(published).toISOString(), modified }
      packages.set(pkg.name, state)
    }
    state.versions.set(pkg.version, pkg)
    state.time.set(pkg.version, new Date(published).toISOString())
    state.modified = modified
  }

  function distTags(state: PackageState): Record<string, string> {
    const all = [...state.versions.keys()]
    const stable = all.filter((v) => semver.prerelease(v) === null)
    const latest = semver.rsort(stable.length > 0 ? stable : all)[0]
    return { ...(latest === undefined ? {} : { latest }), ...Object.fromEntries(state.tags) }
  }

  function versionDoc(pkg: BuiltPackage): PackageManifest & { _id: string } {
    return { ...pkg.manifest, _id: `${pkg.name}@${pkg.version}`, dist: { ...pkg.manifest.dist, tarball: tarballUrl(pkg.name, pkg.filename) } }
  }

  function packument(name: string): Packument | undefined {
    const state = packages.get(name)
    if (!state) return undefined
    const tags = distTags(state)
    const ordered = semver.sort([...state.versions.keys()])
    const latest = state.versions.get(tags.latest ?? '')
    const description = typeof latest?.manifest.description === 'string' ? latest.manifest.description : ''
    return {
      _id: name,
      name,
      description,
      'dist-tags': tags,
      versions: Object.fromEntries(ordered.map((v) => [v, versionDoc(state.versions.get(v) as BuiltPackage)])),
      time: { created: state.created, modified: state.modified, ...Object.fromEntries(ordered.map((v) => [v, state.time.get(v) as string])) },
      readme: `# ${name}\n\n${description}\n`,
      readmeFilename: 'README.md',
    }
  }

  function sendJson(req: IncomingMessage, res: ServerResponse, status: number, value: unknown, headers: Record<string, string> = {}): void {
    let body = Buffer.from(JSON.stringify(value))
    const out: Record<string, string | number> = { 'content-type': 'application/json', ...headers }
    if (gzip) {
      out.vary = 'Accept-Encoding'
      if (/\bgzip\b/.test(String(req.headers['accept-encoding'] ?? ''))) {
        body = gzipSync(body)
        out['content-encoding'] = 'gzip'
      }
    }
    out['content-length'] = body.length
    if (status === 200 && deliverFaulty(req, res, out, body)) return
    res.writeHead(status, out)
    res.end(req.method === 'HEAD' ? undefined : body)
  }

  /** Sends a 200 answer the way the response's body fault says; false when it has none. */
  function deliverFaulty(req: IncomingMessage, res: ServerResponse, headers: Record<string, string | number>, body: Buffer): boolean {
    const fault = bodyFaults.get(res)
    if (!fault || req.method === 'HEAD') return false
    const json = String(headers['content-type']).includes('json') && headers['content-encoding'] === undefined
    switch (fault.body) {
      case 'hang':
        res.writeHead(200, headers)
        res.flushHeaders()
        return true
      case 'drip': {
        res.writeHead(200, headers)
        let offset = 0
        const timer = setInterval(() => {
          if (res.destroyed || offset >= body.length) {
            clearInterval(timer)
            if (!res.destroyed) res.end()
            return
          }
          res.write(body.subarray(offset, ++offset))
        }, fault.ms)
        res.once('close', () => clearInterval(timer))
        return true
      }
      case 'truncate': {
        const half = body.subarray(0, Math.floor(body.length / 2))
        res.writeHead(200, { ...headers, 'content-length': half.length })
        res.end(half)
        return true
      }
      case 'reset':
        res.writeHead(200, headers)
        res.write(body.subarray(0, Math.floor(body.length / 2)), () => res.socket?.destroy())
        return true
      case 'wrong-bytes': {
        const wrong = Buffer.from(body)
        if (json) wrong[0] = 0x3c
        else wrong[Math.floor(wrong.length / 2)] = (wrong[Math.floor(wrong.length / 2)] as number) ^ 0xff
        res.writeHead(200, headers)
        res.end(wrong)
        return true
      }
      case 'long-length':
        res.writeHead(200, { ...headers, 'content-length': body.length + 1000 })
        res.write(body)
        return true
    }
  }

  function faultFor(record: RecordedRequest): Fault | null {
    if (!injected) return null
    const { fault, target } = injected
    const pathname = record.url.split('?')[0] as string
    const tarball = pathname.includes('/-/') && !pathname.startsWith('/-/')
    const hit =
      typeof target === 'function'
        ? target(record)
        : target === 'all' || (target === 'tarballs' ? tarball : !tarball && !pathname.startsWith('/-/'))
    return hit ? fault : null
  }

  function isFresh(req: IncomingMessage, etag: string, lastModified: string): boolean {
    const ifNoneMatch = req.headers['if-none-match']
    if (ifNoneMatch !== undefined) {
      return ifNoneMatch.split(',').some((tag) => tag.trim().replace(/^W\//, '') === etag || tag.trim() === '*')
    }
    const since = req.headers['if-modified-since']
    return since !== undefined && Date.parse(since) >= Date.parse(lastModified)
  }

  function servePackument(req: IncomingMessage, res: ServerResponse, doc: Packument): void {
    const etag = `"${createHash('sha1').update(JSON.stringify(doc)).digest('hex')}"`
    const lastModified = new Date(doc.time.modified as string).toUTCString()
    const headers = { etag, 'last-modified': lastModified }
    if (!bodyFaults.has(res) && isFresh(req, etag, lastModified)) {
      res.writeHead(304, headers)
      res.end()
      return
    }
    sendJson(req, res, 200, doc, headers)
  }

  async function serveTarball(req: IncomingMessage, res: ServerResponse, pkg: BuiltPackage): Promise<void> {
    let data = pkg.tarball
    if (corrupt) {
      data = Buffer.from(data)
      const at = Math.floor(data.length / 2)
      data[at] = (data[at] as number) ^ 0xff
    }
    const headers = { 'content-type': 'application/octet-stream', 'content-length': data.length }
    if (deliverFaulty(req, res, headers, data)) return
    res.writeHead(200, headers)
    if (req.method === 'HEAD') return void res.end()
    if (!chunk) return void res.end(data)
    const { bytes, ms } = chunk
    let gone = false
    res.once('close', () => (gone = true))
    for (let offset = 0; offset < data.length; offset += bytes) {
      if (gone || res.destroyed) return
      res.write(data.subarray(offset, offset + bytes))
      if (offset + bytes < data.length) await sleep(ms)
    }
    res.end()
  }

  async function readBody(req: IncomingMessage): Promise<unknown> {
    const parts: Buffer[] = []
    for await (const part of req) parts.push(part as Buffer)
    let raw = Buffer.concat(parts)
    if (req.headers['content-encoding'] === 'gzip') raw = gunzipSync(raw)
    const text = raw.toString('utf8')
    try {
      return JSON.parse(text)
    } catch {
      return text
    }
  }

  /** `/name`, `/@scope%2fname`, `/@scope/name`, each optionally followed by `/-/<file>` or `/<version|tag>`. */
  function parsePath(pathname: string): { name: string; rest: string[] } | null {
    let segments: string[]
    try {
      segments = pathname.slice(1).split('/').map(decodeURIComponent)
    } catch {
      return null
    }
    const first = segments[0] ?? ''
    if (first === '') return null
    if (first.startsWith('@') && !first.includes('/')) {
      if (segments[1] === undefined || segments[1] === '') return null
      return { name: `${first}/${segments[1]}`, rest: segments.slice(2) }
    }
    return { name: first, rest: segments.slice(1) }
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const record: RecordedRequest = { method: req.method ?? 'GET', url: req.url ?? '/', headers: req.headers }
    requests.push(record)
    const reading = req.method === 'GET' || req.method === 'HEAD' ? undefined : readBody(req)
    if (delayMs > 0) await sleep(delayMs)
    if (reading) record.body = await reading
    if (failure !== null) return sendJson(req, res, failure, { error: `fake upstream failure ${failure}` })
    const fault = faultFor(record)
    if (fault && 'status' in fault) {
      const headers: Record<string, string> = 'retryAfter' in fault ? { 'retry-after': String(fault.retryAfter) } : {}
      return sendJson(req, res, fault.status, { error: `fake upstream fault ${fault.status}` }, headers)
    }
    if (fault) bodyFaults.set(res, fault)

    const pathname = record.url.split('?')[0] as string
    if (pathname.startsWith('/-/')) {
      if (req.method === 'POST' && pathname.startsWith('/-/npm/v1/security/')) return sendJson(req, res, 200, {})
      if (pathname === '/-/ping') return sendJson(req, res, 200, {})
      if (pathname.startsWith(ATTESTATIONS)) {
        const body = attestations.get(decodeURIComponent(pathname.slice(ATTESTATIONS.length)))
        return body === undefined ? sendJson(req, res, 404, { error: 'not found' }) : sendJson(req, res, 200, body)
      }
      return sendJson(req, res, 404, { error: 'not found' })
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') return sendJson(req, res, 405, { error: 'method not allowed' })
    const parsed = parsePath(pathname)
    const state = parsed ? packages.get(parsed.name) : undefined
    if (!parsed || !state) return sendJson(req, res, 404, { error: 'not found' })

    const { name, rest } = parsed
    if (rest.length === 0) return servePackument(req, res, packument(name) as Packument)
    if (rest.length === 2 && rest[0] === '-') {
      const pkg = [...state.versions.values()].find((p) => p.filename === rest[1])
      return pkg ? serveTarball(req, res, pkg) : sendJson(req, res, 404, { error: 'not found' })
    }
    if (rest.length === 1) {
      const wanted = rest[0] as string
      const version = distTags(state)[wanted] ?? wanted
      const pkg = state.versions.get(version)
      return pkg ? sendJson(req, res, 200, versionDoc(pkg)) : sendJson(req, res, 404, { error: 'not found' })
    }
    return sendJson(req, res, 404, { error: 'not found' })
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      if (!res.headersSent) sendJson(req, res, 500, { error: String(error) })
      else res.destroy()
    })
  })
  server.on('connection', (socket) => {
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
  })

  async function start(): Promise<void> {
    if (server.listening) return
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen(port, '127.0.0.1', () => {
        server.off('error', reject)
        resolve()
      })
    })
    const address = server.address()
    if (address && typeof address === 'object') port = address.port
  }

  async function stop(): Promise<void> {
    if (!server.listening) return
    const closed = new Promise<void>((resolve) => server.close(() => resolve()))
    for (const socket of sockets) socket.destroy()
    await closed
  }

  for (const pkg of opts.packages ?? []) addPackage(pkg)
  await start()

  return {
    get url() {
      return baseUrl()
    },
    get port() {
      return port
    },
    requests,
    count(match) {
      if (match === undefined) return requests.length
      if (typeof match === 'function') return requests.filter(match).length
      return requests.filter((r) => r.url === match || r.url.split('?')[0] === match).length
    },
    reset() {
      requests.length = 0
    },
    addPackage,
    setTag(name, tag, version) {
      const state = packages.get(name)
      if (!state?.versions.has(version)) throw new Error(`fake upstream: no ${name}@${version}`)
      state.tags.set(tag, version)
      state.modified = tick()
    },
    setAttestations(name, version, body) {
      if (body === null) attestations.delete(`${name}@${version}`)
      else attestations.set(`${name}@${version}`, body)
    },
    packument,
    tarballUrl(name, version) {
      const pkg = packages.get(name)?.versions.get(version)
      if (!pkg) throw new Error(`fake upstream: no ${name}@${version}`)
      return tarballUrl(name, pkg.filename)
    },
    delay(ms) {
      delayMs = ms
    },
    throttle(bytesPerChunk, msBetweenChunks = 10) {
      chunk = bytesPerChunk ? { bytes: bytesPerChunk, ms: msBetweenChunks } : null
    },
    corruptTarballs(on) {
      corrupt = on
    },
    failWith(status) {
      failure = status
    },
    fault(fault, target = 'all') {
      injected = fault ? { fault, target } : null
    },
    setGzip(on) {
      gzip = on
    },
    stop,
    start,
  }
}

import { createRequire } from 'node:module'
import type { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import zlib from 'node:zlib'
import type { Dispatcher } from 'undici'
import type { UplinkConfig } from '../config/types.js'
import { SinopiaError } from '../errors.js'
import type { Packument } from '../store/index.js'
import { CircuitBreaker } from './breaker.js'

const pkg = createRequire(import.meta.url)('../../../package.json') as { version: string }
export const USER_AGENT = `sinopia-cli/${pkg.version} node/${process.version}`

export type PackumentResult =
  | { status: 'ok'; doc: Packument; etag?: string; lastModified?: string }
  | { status: 'not-modified' }
  | { status: 'not-found' }

export interface ForwardedResponse {
  status: number
  headers: Record<string, string>
  body: Buffer
}

interface Uplink {
  config: UplinkConfig
  /** Made on the first request: commands that find everything in the store never load undici. */
  dispatcher: Dispatcher | null
  breaker: CircuitBreaker
}

/**
 * The one HTTP client for uplinks, used by `serve`, `mirror` and `lock-sync`. It owns the
 * connection pools (with proxy and CA settings) and the circuit breakers; callers never
 * build uplink requests themselves.
 */
export class UpstreamClient {
  private readonly uplinks = new Map<string, Uplink>()

  constructor(configs: Record<string, UplinkConfig>) {
    for (const config of Object.values(configs)) {
      this.uplinks.set(config.name, { config, dispatcher: null, breaker: new CircuitBreaker(config.maxFails, config.failTimeout) })
    }
  }

  private undici: Promise<typeof import('undici')> | null = null

  /** undici takes ~0.2 s to load: only a process that talks to an uplink pays for it. */
  private async connect(uplink: Uplink): Promise<{ request: typeof import('undici').request; dispatcher: Dispatcher }> {
    const lib = await (this.undici ??= import('undici'))
    if (!uplink.dispatcher) {
      const { config } = uplink
      const tls = { ...(config.ca ? { ca: config.ca } : {}), rejectUnauthorized: config.strictSsl }
      uplink.dispatcher = new lib.EnvHttpProxyAgent({
        ...(config.httpProxy ? { httpProxy: config.httpProxy } : {}),
        ...(config.httpsProxy ? { httpsProxy: config.httpsProxy } : {}),
        ...(config.noProxy ? { noProxy: config.noProxy } : {}),
        connect: tls,
        requestTls: tls,
        headersTimeout: config.timeout,
        bodyTimeout: config.timeout,
        keepAliveTimeout: 30_000,
      })
    }
    return { request: lib.request, dispatcher: uplink.dispatcher }
  }

  has(uplink: string): boolean {
    return this.uplinks.has(uplink)
  }

  config(uplink: string): UplinkConfig {
    return this.get(uplink).config
  }

  /** False while the uplink's circuit is open: callers answer from the store at once. */
  available(uplink: string): boolean {
    return !this.get(uplink).breaker.isOpen()
  }

  /** Each uplink's circuit, for health and metrics (no side effect). */
  states(): Array<{ uplink: string; state: 'closed' | 'open' | 'half-open' }> {
    return [...this.uplinks.values()].map((u) => ({ uplink: u.config.name, state: u.breaker.state() }))
  }

  /** Fetches the full packument, conditionally when `etag`/`lastModified` are given. */
  async packument(
    uplinkName: string,
    name: string,
    cond: { etag?: string; lastModified?: string } = {},
    signal?: AbortSignal,
  ): Promise<PackumentResult> {
    const url = this.get(uplinkName).config.url + encodeURIComponent(name).replace(/^%40/, '@')
    const headers: Record<string, string> = { accept: 'application/json', 'accept-encoding': 'gzip, deflate, br' }
    if (cond.etag) headers['if-none-match'] = cond.etag
    if (cond.lastModified) headers['if-modified-since'] = cond.lastModified
    const res = await this.send(uplinkName, url, { headers, signal })
    if (res.statusCode === 304) {
      await res.body.dump()
      return { status: 'not-modified' }
    }
    if (res.statusCode === 404) {
      await res.body.dump()
      return { status: 'not-found' }
    }
    if (res.statusCode !== 200) throw await unexpected(uplinkName, url, res)
    const raw = await readBody(res)
    let doc: Packument
    try {
      doc = JSON.parse(raw.toString('utf8')) as Packument
    } catch (error) {
      throw new SinopiaError('EUPLINK', `uplink ${uplinkName} sent invalid JSON for ${name}`, { status: 502, cause: error })
    }
    return {
      status: 'ok',
      doc,
      ...(header(res, 'etag') ? { etag: header(res, 'etag') } : {}),
      ...(header(res, 'last-modified') ? { lastModified: header(res, 'last-modified') } : {}),
    }
  }

  /** Starts a tarball download; the caller must consume or destroy `body`. */
  async tarball(uplinkName: string, url: string, signal?: AbortSignal): Promise<{ body: Readable; size?: number }> {
    const res = await this.send(uplinkName, url, { headers: { accept: 'application/octet-stream', 'accept-encoding': 'identity' }, signal })
    if (res.statusCode === 404) {
      await res.body.dump()
      throw new SinopiaError('ENOTFOUND', `uplink ${uplinkName} has no tarball at ${url}`, { status: 404 })
    }
    if (res.statusCode !== 200) throw await unexpected(uplinkName, url, res)
    const length = Number(header(res, 'content-length'))
    return { body: res.body, ...(Number.isSafeInteger(length) && length >= 0 ? { size: length } : {}) }
  }

  /** The uplink's own `npm search` answer (JSON, not yet checked), for `search: {uplink: true}`. */
  async search(uplinkName: string, params: { text: string; size: number; from: number }, signal: AbortSignal): Promise<unknown> {
    const query = new URLSearchParams({ text: params.text, size: String(params.size), from: String(params.from) })
    const url = `${this.get(uplinkName).config.url}-/v1/search?${query.toString()}`
    const res = await this.send(uplinkName, url, { headers: { accept: 'application/json', 'accept-encoding': 'gzip, deflate, br' }, signal })
    if (res.statusCode !== 200) throw await unexpected(uplinkName, url, res)
    return JSON.parse((await readBody(res)).toString('utf8')) as unknown
  }

  /** Passes a request through to the uplink as it is (npm audit). */
  async forward(
    uplinkName: string,
    path: string,
    init: { method: string; headers: Record<string, string>; body?: Buffer },
  ): Promise<ForwardedResponse> {
    const url = this.get(uplinkName).config.url + path.replace(/^\//, '')
    const res = await this.send(uplinkName, url, { method: init.method, headers: init.headers, body: init.body })
    const body = Buffer.from(await res.body.arrayBuffer())
    const headers: Record<string, string> = {}
    for (const key of ['content-type', 'content-encoding']) {
      const value = header(res, key)
      if (value) headers[key] = value
    }
    return { status: res.statusCode, headers, body }
  }

  async close(): Promise<void> {
    await Promise.all([...this.uplinks.values()].map((u) => u.dispatcher?.close()))
  }

  private get(name: string): Uplink {
    const uplink = this.uplinks.get(name)
    if (!uplink) throw new SinopiaError('ECONFIG', `no uplink named ${name}`)
    return uplink
  }

  private async send(
    uplinkName: string,
    url: string,
    init: { method?: string; headers: Record<string, string>; body?: Buffer; signal?: AbortSignal },
  ): Promise<Dispatcher.ResponseData> {
    const uplink = this.get(uplinkName)
    if (uplink.breaker.isOpen()) {
      throw new SinopiaError('EUPLINK', `uplink ${uplinkName} is unavailable (circuit open after repeated failures)`, { status: 503 })
    }
    const { request, dispatcher } = await this.connect(uplink)
    let res: Dispatcher.ResponseData
    try {
      res = await request(url, {
        method: (init.method ?? 'GET') as Dispatcher.HttpMethod,
        headers: { 'user-agent': USER_AGENT, ...uplink.config.headers, ...init.headers },
        dispatcher,
        ...(init.body ? { body: init.body } : {}),
        ...(init.signal ? { signal: init.signal } : {}),
      })
    } catch (error) {
      if (init.signal?.aborted) throw error
      uplink.breaker.failure()
      throw new SinopiaError('EUPLINK', `uplink ${uplinkName} is unreachable: ${describe(error)}`, { status: 503, cause: error })
    }
    if (res.statusCode >= 500) uplink.breaker.failure()
    else uplink.breaker.success()
    return res
  }
}

function header(res: Dispatcher.ResponseData, name: string): string | undefined {
  const value = res.headers[name]
  return Array.isArray(value) ? value[0] : value
}

async function unexpected(uplinkName: string, url: string, res: Dispatcher.ResponseData): Promise<SinopiaError> {
  await res.body.dump()
  return new SinopiaError('EUPLINK', `uplink ${uplinkName} answered ${res.statusCode} for ${url}`, { status: 502 })
}

async function readBody(res: Dispatcher.ResponseData): Promise<Buffer> {
  const encoding = header(res, 'content-encoding')?.trim().toLowerCase()
  const decoder =
    encoding === 'gzip' || encoding === 'x-gzip'
      ? zlib.createGunzip()
      : encoding === 'br'
        ? zlib.createBrotliDecompress()
        : encoding === 'deflate'
          ? zlib.createInflate()
          : null
  if (!decoder) return Buffer.from(await res.body.arrayBuffer())
  const chunks: Buffer[] = []
  decoder.on('data', (chunk: Buffer) => chunks.push(chunk))
  await pipeline(res.body, decoder)
  return Buffer.concat(chunks)
}

function describe(error: unknown): string {
  const cause = (error as { cause?: { code?: string } })?.cause
  const code = (error as { code?: string })?.code ?? cause?.code
  return code ?? (error instanceof Error ? error.message : String(error))
}

import { createRequire } from 'node:module'
import type { Readable } from 'node:stream'
import type { Dispatcher } from 'undici'
import type { UplinkConfig } from '../config/types.js'
import { SinopiaError } from '../errors.js'
import { printable } from '../registry/names.js'
import { BodyTooLarge, byteLimit, checkDeclaredLength, readLimited } from './body.js'
import { DeadlineExceeded, describe, header, originOf, unexpected } from './response.js'
import { CircuitBreaker, type BreakerPermit } from './breaker.js'

const pkg = createRequire(import.meta.url)('../../../package.json') as { version: string }
export const USER_AGENT = `sinopia-cli/${pkg.version} node/${process.version}`

export type PackumentResult<T> =
  | { status: 'ok'; value: T }
  | { status: 'not-modified' }
  | { status: 'not-found' }

/** What a packument body is turned into (parsed and checked) before the answer counts as a success. */
export type PackumentReader<T> = (body: Buffer, headers: { etag?: string; lastModified?: string }) => Promise<T>

/** The default reader: the document parsed as it came, with its validators (tools and tests). */
export interface ParsedPackument {
  doc: unknown
  etag?: string
  lastModified?: string
}

function parsePackument(uplink: string, name: string): PackumentReader<ParsedPackument> {
  return (body, headers) => {
    try {
      return Promise.resolve({ doc: JSON.parse(body.toString('utf8')) as unknown, ...headers })
    } catch (error) {
      return Promise.reject(new SinopiaError('EUPLINK', `uplink ${uplink} sent invalid JSON for ${printable(name)}`, { cause: error }))
    }
  }
}

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
  /** Told once per uplink request whether it went well (the metrics count it); must be cheap. */
  onOutcome: ((uplink: string, ok: boolean) => void) | null = null

  /** `now` drives the circuit breakers (tests move it across fail_timeout). */
  constructor(configs: Record<string, UplinkConfig>, options: { now?: () => number } = {}) {
    for (const config of Object.values(configs)) {
      const breaker = new CircuitBreaker(config.maxFails, config.failTimeout, options.now)
      this.uplinks.set(config.name, { config, dispatcher: null, breaker })
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

  configs(): UplinkConfig[] {
    return [...this.uplinks.values()].map((u) => u.config)
  }

  /** False while the uplink's circuit refuses requests: callers answer from the store at once. Only looks. */
  available(uplink: string): boolean {
    return !this.get(uplink).breaker.isOpen()
  }

  /** Each uplink's circuit, for health and metrics (no side effect). */
  states(): Array<{ uplink: string; state: 'closed' | 'open' | 'half-open' }> {
    return [...this.uplinks.values()].map((u) => ({ uplink: u.config.name, state: u.breaker.state() }))
  }

  /** Whole seconds until the uplink is asked again (Retry-After); at least 1. */
  retryAfter(uplink: string): number {
    return Math.max(1, Math.ceil(this.get(uplink).breaker.retryAfterMs() / 1000))
  }

  /**
   * Fetches the full packument, conditionally when `etag`/`lastModified` are given. `read` turns
   * the body into what the caller keeps (parsing it, off the event loop when it is big); an
   * uplink error it throws (EUPLINK: not JSON, not a packument of that name) counts against the
   * uplink like a failed body, since a healthy registry does not send it.
   */
  async packument<T = ParsedPackument>(
    uplinkName: string,
    name: string,
    cond: { etag?: string; lastModified?: string } = {},
    read: PackumentReader<T> = parsePackument(uplinkName, name) as PackumentReader<T>,
    signal?: AbortSignal,
  ): Promise<PackumentResult<T>> {
    const { config } = this.get(uplinkName)
    const url = config.url + encodeURIComponent(name).replace(/^%40/, '@')
    const headers: Record<string, string> = { accept: 'application/json', 'accept-encoding': 'gzip, deflate, br' }
    if (cond.etag) headers['if-none-match'] = cond.etag
    if (cond.lastModified) headers['if-modified-since'] = cond.lastModified
    const sent = await this.send(uplinkName, url, { headers, signal })
    const { res } = sent
    try {
      if (res.statusCode === 304 || res.statusCode === 404) {
        await res.body.dump()
        sent.permit.success()
        return { status: res.statusCode === 304 ? 'not-modified' : 'not-found' }
      }
      if (res.statusCode !== 200) throw await unexpected(uplinkName, url, res)
      const raw = await jsonBody(sent, config.maxPackumentSize, `the packument of ${printable(name)}`)
      const etag = header(res, 'etag')
      const lastModified = header(res, 'last-modified')
      let value: T
      try {
        value = await read(raw, { ...(etag ? { etag } : {}), ...(lastModified ? { lastModified } : {}) })
      } catch (error) {
        if (error instanceof SinopiaError && error.code === 'EUPLINK') sent.permit.failure()
        throw error
      }
      // Counted only now: headers alone say nothing about a body that never completes.
      sent.permit.success()
      return { status: 'ok', value }
    } finally {
      sent.settle()
    }
  }

  /**
   * Starts a tarball download; the caller must consume or destroy `body`. The uplink counts as
   * healthy only once the body arrived whole; a body that fails, trickles past `deadline` or
   * grows past `max_tarball_size` errors the stream (and counts against the breaker, except the
   * size limit, which says nothing about the uplink's health).
   */
  async tarball(uplinkName: string, url: string, signal?: AbortSignal): Promise<{ body: Readable; size?: number }> {
    const { config } = this.get(uplinkName)
    const origin = originOf(url)
    const own = origin === originOf(config.url)
    if (!own && !config.tarballOrigins.includes(origin ?? '')) {
      throw new SinopiaError('EUPLINK', `uplink ${uplinkName} points a tarball at ${printable(url)}, outside its own origin and tarball_origins; not fetched`, {
        hint: `list that origin under tarball_origins of uplink ${uplinkName} if it is meant to serve tarballs`,
      })
    }
    const headers = { accept: 'application/octet-stream', 'accept-encoding': 'identity' }
    const sent = await this.send(uplinkName, url, { headers, signal, uplinkHeaders: own })
    const { res } = sent
    let size: number | undefined
    try {
      if (res.statusCode === 404) {
        await res.body.dump()
        sent.permit.success()
        throw new SinopiaError('ENOTFOUND', `uplink ${uplinkName} has no tarball at ${printable(url)}`)
      }
      if (res.statusCode !== 200) throw await unexpected(uplinkName, url, res)
      try {
        size = checkDeclaredLength(header(res, 'content-length'), config.maxTarballSize)
      } catch (error) {
        res.body.destroy()
        throw sent.bodyError(error, printable(url), 'max_tarball_size')
      }
    } catch (error) {
      sent.settle()
      throw error
    }
    const body = res.body
    let overLimit = false
    const limited = byteLimit(config.maxTarballSize, (error) => {
      overLimit = true
      return sent.bodyError(error, printable(url), 'max_tarball_size')
    })
    // Healthy only once the uplink sent the whole body; its failure (reset, cut, deadline) fails the stream.
    body.once('end', () => sent.permit.success())
    body.once('error', (error: unknown) => {
      // Destroying the body after the limit was crossed makes it fail too: that is not news.
      if (!overLimit && !limited.destroyed) limited.destroy(sent.bodyError(error, printable(url), 'max_tarball_size'))
    })
    // The consumer sees a failure through its own reading (an async iterator created later still
    // gets the stored error). Until it starts reading (it may first check the disk's room), an
    // 'error' with no listener would be an uncaught exception: a reset right after the headers
    // must never bring the server down.
    limited.on('error', () => undefined)
    // The consumer closing early is not the uplink's fault: the permit goes back uncounted.
    limited.once('close', () => {
      if (!body.destroyed) body.destroy()
      sent.settle()
    })
    body.pipe(limited)
    return { body: limited, ...(size === undefined ? {} : { size }) }
  }

  /** The uplink's own `npm search` answer (JSON, not yet checked), for `search: {uplink: true}`; bounded like a packument. */
  async search(uplinkName: string, params: { text: string; size: number; from: number }, signal: AbortSignal): Promise<unknown> {
    const { config } = this.get(uplinkName)
    const query = new URLSearchParams({ text: params.text, size: String(params.size), from: String(params.from) })
    const url = `${config.url}-/v1/search?${query.toString()}`
    const sent = await this.send(uplinkName, url, { headers: { accept: 'application/json', 'accept-encoding': 'gzip, deflate, br' }, signal })
    const { res } = sent
    try {
      // A registry without a search endpoint says nothing about its health.
      if (res.statusCode === 404) {
        await res.body.dump()
        sent.permit.success()
        return null
      }
      if (res.statusCode !== 200) throw await unexpected(uplinkName, url, res)
      const raw = await jsonBody(sent, config.maxPackumentSize, 'a search answer')
      sent.permit.success()
      try {
        return JSON.parse(raw.toString('utf8')) as unknown
      } catch {
        return null
      }
    } finally {
      sent.settle()
    }
  }

  /** Passes a request through to the uplink as it is (npm audit). */
  async forward(
    uplinkName: string,
    path: string,
    init: { method: string; headers: Record<string, string>; body?: Buffer },
  ): Promise<ForwardedResponse> {
    const { config } = this.get(uplinkName)
    const url = config.url + path.replace(/^\//, '')
    const sent = await this.send(uplinkName, url, { method: init.method, headers: init.headers, body: init.body })
    const { res } = sent
    try {
      // Any status goes back to the client as it is (a 5xx already counted against the breaker).
      let body: Buffer
      try {
        checkDeclaredLength(header(res, 'content-length'), config.maxPackumentSize)
        body = await readLimited(res.body, undefined, config.maxPackumentSize)
      } catch (error) {
        throw sent.bodyError(error, url, 'max_packument_size')
      }
      sent.permit.success()
      const headers: Record<string, string> = {}
      for (const key of ['content-type', 'content-encoding']) {
        const value = header(res, key)
        if (value) headers[key] = value
      }
      return { status: res.statusCode, headers, body }
    } finally {
      sent.settle()
    }
  }

  async close(): Promise<void> {
    await Promise.all([...this.uplinks.values()].flatMap((u) => (u.dispatcher ? [u.dispatcher.close()] : [])))
  }

  private get(name: string): Uplink {
    const uplink = this.uplinks.get(name)
    if (!uplink) throw new SinopiaError('ECONFIG', `no uplink named ${name}`)
    return uplink
  }

  /** The permit as the breaker gave it, also reporting the request's outcome once to `onOutcome` (release reports nothing). */
  private observed(uplink: string, permit: BreakerPermit): BreakerPermit {
    let reported = false
    const report = (ok: boolean) => {
      if (reported) return
      reported = true
      this.onOutcome?.(uplink, ok)
    }
    return {
      success: () => {
        report(true)
        permit.success()
      },
      failure: () => {
        report(false)
        permit.failure()
      },
      release: () => {
        reported = true
        permit.release()
      },
    }
  }

  /**
   * Sends one request under a breaker permit and the uplink's `deadline`. The caller settles the
   * permit once it knows how the body went, and calls `settle()` in a `finally` (which hands
   * back an unsettled permit uncounted and stops the deadline timer).
   */
  private async send(
    uplinkName: string,
    url: string,
    init: { method?: string; headers: Record<string, string>; body?: Buffer; signal?: AbortSignal; uplinkHeaders?: boolean },
  ): Promise<Sent> {
    const uplink = this.get(uplinkName)
    const acquired = uplink.breaker.acquire()
    if (!acquired) {
      throw new SinopiaError('EUPLINKDOWN', `uplink ${uplinkName} is unavailable (circuit open after repeated failures)`, {
        retryAfter: this.retryAfter(uplinkName),
      })
    }
    const permit = this.observed(uplinkName, acquired)
    const deadline = new AbortController()
    const timer = setTimeout(() => deadline.abort(new DeadlineExceeded(uplink.config.deadline)), uplink.config.deadline)
    timer.unref()
    const signal = init.signal ? AbortSignal.any([init.signal, deadline.signal]) : deadline.signal
    const settle = () => {
      clearTimeout(timer)
      permit.release()
    }
    const callerGaveUp = () => init.signal?.aborted === true && !deadline.signal.aborted
    let res: Dispatcher.ResponseData
    try {
      const { request, dispatcher } = await this.connect(uplink)
      res = await request(url, {
        method: init.method ?? 'GET',
        // The uplink's own headers (credentials) go to its own origin only.
        headers: { 'user-agent': USER_AGENT, ...(init.uplinkHeaders === false ? {} : uplink.config.headers), ...init.headers },
        dispatcher,
        signal,
        ...(init.body ? { body: init.body } : {}),
      })
    } catch (error) {
      if (callerGaveUp()) {
        settle()
        throw error
      }
      permit.failure()
      settle()
      throw new SinopiaError('EUPLINKDOWN', `uplink ${uplinkName} is unreachable: ${deadline.signal.aborted ? (deadline.signal.reason as Error).message : describe(error)}`, {
        cause: error,
      })
    }
    // 5xx and 429 (slow down) are the uplink failing; every other status is an answer.
    if (res.statusCode >= 500 || res.statusCode === 429) permit.failure()
    return {
      res,
      permit,
      settle,
      bodyError: (error, what, limitKey) => {
        if (!res.body.destroyed) res.body.destroy()
        if (error instanceof SinopiaError) return error
        if (error instanceof BodyTooLarge) {
          permit.release()
          return new SinopiaError('ETOOLARGE', `uplink ${uplinkName} sent ${what} larger than ${error.limit} bytes; not accepted`, {
            hint: `raise ${limitKey} of uplink ${uplinkName} if it is meant to be that big`,
          })
        }
        if (callerGaveUp()) {
          permit.release()
          return new SinopiaError('EABORTED', `the request for ${what} was abandoned`, { cause: error })
        }
        permit.failure()
        const why = deadline.signal.aborted ? (deadline.signal.reason as Error).message : describe(error)
        return new SinopiaError('EUPLINK', `uplink ${uplinkName} failed while sending ${what}: ${printable(why)}`, { cause: error })
      },
    }
  }
}

/** A JSON answer's bytes, decompressed, within `max_packument_size` (checked on Content-Length first, then as they arrive). */
async function jsonBody(sent: Sent, limit: number, what: string): Promise<Buffer> {
  try {
    checkDeclaredLength(header(sent.res, 'content-length'), limit)
    return await readLimited(sent.res.body, header(sent.res, 'content-encoding'), limit)
  } catch (error) {
    throw sent.bodyError(error, what, 'max_packument_size')
  }
}

interface Sent {
  res: Dispatcher.ResponseData
  permit: BreakerPermit
  /** In a `finally`: stops the deadline; a permit not settled by then is handed back uncounted. */
  settle(): void
  /** The error to throw for a body that failed, settling the permit by what went wrong. */
  bodyError(error: unknown, what: string, limitKey: string): SinopiaError
}

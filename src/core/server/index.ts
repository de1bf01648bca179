import http from 'node:http'
import https from 'node:https'
import type { AddressInfo, Socket } from 'node:net'
import { Auth, FailureLimiter, Tokens, Users } from '../auth/index.js'
import type { Config, ListenAddress } from '../config/types.js'
import { SinopiaError, errnoCode } from '../errors.js'
import type { Logger } from '../log.js'
import { Registry } from '../registry/index.js'
import { SearchIndex, registrySource } from '../search/index.js'
import { openStore } from '../store/index.js'
import { UsageTracker } from '../maintenance/usage.js'
import { UpstreamClient } from '../upstream/client.js'
import { ReadmeRenderer, WebSessions } from '../web/index.js'
import { createApp } from './app.js'
import { BodyCache } from './bodies.js'
import type { ServerContext } from './context.js'
import { Health } from './health.js'
import { Metrics } from './metrics.js'
import { ConfigWatcher } from './reload.js'
import { readTls } from './tls.js'

export { createApp } from './app.js'
export type { ServerContext } from './context.js'

function secureServer(options: https.ServerOptions, handler: http.RequestListener): https.Server {
  try {
    return https.createServer(options, handler)
  } catch (error) {
    throw new SinopiaError('ECONFIG', `cannot serve https with the configured key and certificate: ${error instanceof Error ? error.message : String(error)}`, {
      hint: 'https.key and https.cert must be PEM files of one key pair (or https.pfx with its passphrase)',
    })
  }
}

/** How often, at most, the store's blobs are counted for the metrics (a walk of the content tree). */
const STORE_COUNT_MS = 5 * 60_000

export interface RunningServer {
  /** `http://host:port/` as bound (the real port when 0 was asked for). */
  url: string
  /** Re-reads the config file now and applies what can change live (see reload.ts); SIGHUP in `serve`. */
  reload(): Promise<void>
  /** Stops accepting, lets requests in flight finish for up to `graceMs`, then cuts the rest. */
  close(graceMs?: number): Promise<void>
}

/** Opens the store, builds the registry and listens. Errors say what to fix (port taken, storage not writable). */
export async function startServer(config: Config, listen: ListenAddress, log: Logger, options: { watchConfig?: boolean; searchSyncMs?: number } = {}): Promise<RunningServer> {
  const store = await openStore(config.storage, { onWarning: (message) => log.log('warn', `storage: ${message}`) })
  const upstream = new UpstreamClient(config.uplinks)
  const registry = new Registry(config, store, upstream)
  // Last use of each served tarball, for `prune`: batched in memory, merged into the store every ~30 s and at close.
  const usage = new UsageTracker(store.usage, { onError: (error) => log.log('warn', `could not record tarball usage: ${String(error)}`) })
  registry.tarballs.onUse = (key) => usage.touch(key)
  const { limits } = config
  const limiter = new FailureLimiter({ maxFailures: limits.loginFailures, windowMs: limits.loginWindow, maxTracked: limits.loginTracked })
  const auth = new Auth(Users.of(config, store), new Tokens(store.tokens), limiter)
  const hostForUrls = `${listen.host.includes(':') ? `[${listen.host}]` : listen.host}:${listen.port}`
  // Follows changes from the start, then reads the store in the background: the server answers meanwhile.
  const search = new SearchIndex(registrySource(registry), (name, error) =>
    log.log('warn', `search index: cannot read ${name ?? 'the package list'}: ${error instanceof Error ? error.message : String(error)}`),
  )
  const unfollow = search.follow(registry.packuments)
  // Another instance on the same store (PostgreSQL) published or refreshed a package: this one
  // reads it again and its search index follows; missed announcements resync the index.
  const unwatch = store.packages.watch((name) => {
    registry.packuments.changedElsewhere(name)
    if (name === null) void search.sync()
  })
  const webSessions = new WebSessions(undefined, limits.webSessions)
  // Budgets read on every render: a config reload changes them at once.
  const readmes = new ReadmeRenderer(
    () => ({ maxBytes: ctx.config.limits.readmeSize, timeoutMs: ctx.config.limits.readmeRenderTime, maxQueued: ctx.config.limits.readmeQueue }),
    (reason) => log.log('warn', `a README is shown as plain text: ${reason}`),
  )
  // The store's size for metrics: the store's maintained count (a small file, or one query; a
  // store written by an older version is walked once), read in the background at most every
  // STORE_COUNT_MS and only when scraped, never by the scrape itself.
  let storeTotals: { blobs: number; bytes: number } | null = null
  let countedAt = 0
  let counting: Promise<unknown> | null = null
  const countBlobs = () => {
    if (counting || Date.now() - countedAt < STORE_COUNT_MS) return
    countedAt = Date.now()
    counting = store.blobs.totals()
      .then(
        (totals) => (storeTotals = totals),
        (error: unknown) => log.log('warn', `metrics: cannot count the store's blobs: ${error instanceof Error ? error.message : String(error)}`),
      )
      .finally(() => (counting = null))
  }
  const metrics = new Metrics({
    searchSize: () => search.size,
    storeTotals: () => {
      countBlobs()
      return storeTotals
    },
    uplinkStates: () => upstream.states().map(({ uplink, state }) => ({ uplink, open: state === 'open' ? 1 : state === 'half-open' ? 0.5 : 0 })),
  })
  upstream.onOutcome = (uplink, ok) => {
    if (ctx.config.metrics.enabled) metrics.uplink(uplink, ok)
  }
  const health = new Health(() => store.probe())
  const ctx: ServerContext = {
    config,
    registry,
    upstream,
    auth,
    bodies: new BodyCache(),
    log,
    hostForUrls,
    search,
    webSessions,
    readmes,
    metrics,
    health,
  }
  const app = createApp(ctx)
  // Routes read ctx.config on every request, and every holder of registry.rules sees replace().
  const watcher = new ConfigWatcher({
    file: config.file,
    log,
    current: () => ctx.config,
    apply: (next) => {
      registry.rules.replace(next.packages)
      ctx.config = next
    },
  })

  const handler = app.handler as http.RequestListener
  const tlsFiles = () => readTls(ctx.config.https, config.file)
  const server = listen.tls ? secureServer(await tlsFiles(), handler) : http.createServer(handler)
  server.keepAliveTimeout = config.keepAliveTimeout
  const sockets = new Set<Socket>()
  server.on('connection', (socket: Socket) => {
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
  })
  server.on('clientError', (_error, socket) => {
    if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nconnection: close\r\n\r\n')
    else socket.destroy()
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', (error) => {
      const code = errnoCode(error)
      if (code === 'EADDRINUSE') {
        reject(new SinopiaError('EADDRINUSE', `${listen.host}:${listen.port} is already in use`, { hint: 'stop the other process or pass --listen HOST:PORT' }))
      } else if (code === 'EACCES') {
        reject(new SinopiaError('EACCES', `no permission to listen on ${listen.host}:${listen.port}`, { hint: 'use a port above 1023' }))
      } else if (code === 'EADDRNOTAVAIL' || code === 'ENOTFOUND') {
        reject(new SinopiaError('EADDRNOTAVAIL', `cannot listen on ${listen.host}: no such local address`, { hint: 'check `listen` in the config' }))
      } else reject(error)
    })
    server.listen(listen.port, listen.host, () => resolve())
  })
  // After listen: a server that failed to start leaves no watcher behind.
  if (options.watchConfig) await watcher.start()
  usage.start()
  await health.start()
  countBlobs()
  const started = Date.now()
  const building = search.build().then(() => {
    log.log('info', `search index: ${search.size} packages in ${Date.now() - started} ms`)
    search.watch(options.searchSyncMs)
  })
  const address = server.address() as AddressInfo
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address
  return {
    url: `${listen.tls ? 'https' : 'http'}://${host}:${address.port}/`,
    async reload() {
      await watcher.reload()
      if (!(server instanceof https.Server)) return
      // A renewed certificate, for new connections; the running one stays when the files are bad.
      try {
        server.setSecureContext(await tlsFiles())
        log.log('info', 'https: certificate and key read again')
      } catch (error) {
        log.log('error', `https: keeping the running certificate: ${error instanceof Error ? error.message : String(error)}`)
      }
    },
    async close(graceMs = 10_000) {
      watcher.close()
      health.stop()
      unfollow()
      unwatch()
      search.close()
      const closed = new Promise<void>((resolve) => server.close(() => resolve()))
      server.closeIdleConnections()
      const timer = setTimeout(() => {
        for (const socket of sockets) socket.destroy()
      }, graceMs)
      await closed
      clearTimeout(timer)
      await usage.close().catch((error: unknown) => log.log('warn', `could not record tarball usage: ${String(error)}`))
      await building
      await counting
      await readmes.close()
      await upstream.close()
      // Last: the usage merge above still writes to it.
      await store.close()
    },
  }
}

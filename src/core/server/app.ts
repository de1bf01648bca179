import type { ServerResponse } from 'node:http'
import polka, { type Polka, type Request } from 'polka'
import { SinopiaError } from '../errors.js'
import { printable } from '../registry/names.js'
import type { ServerContext } from './context.js'
import { identifiedName } from './identify.js'
import { routeClass } from './metrics.js'
import { redactPath } from './redact.js'
import { NOSNIFF, sendError, type NotedResponse } from './respond.js'
import { statusOf } from './statuses.js'
import { attestationRoutes } from './routes/attestations.js'
import { auditRoutes } from './routes/audit.js'
import { distTagRoutes } from './routes/dist-tags.js'
import { miscRoutes } from './routes/misc.js'
import { opsRoutes } from './routes/ops.js'
import { packageRoutes } from './routes/packages.js'
import { searchRoutes } from './routes/search.js'
import { userRoutes } from './routes/users.js'
import { webRoutes } from './routes/web.js'

/** The registry's HTTP app, usable without listen() (tests mount `app.handler`). */
export function createApp(ctx: ServerContext): Polka {
  const app = polka({
    onError: (error: unknown, _req: Request, res: ServerResponse) => {
      if (!(error instanceof SinopiaError) || statusOf(error.code) >= 500) {
        ctx.log.log('error', error instanceof Error ? (error.stack ?? error.message) : String(error))
        if (ctx.config.metrics.enabled) ctx.metrics.error(error instanceof SinopiaError ? error.code : 'EINTERNAL')
      }
      sendError(res, error)
    },
    onNoMatch: (_req: Request, res: ServerResponse) => sendError(res, new SinopiaError('ENOROUTE', 'not found')),
  })
  app.use(requestLog(ctx))
  app.use((_req: Request, res: ServerResponse, next: () => void) => {
    res.setHeader('x-content-type-options', NOSNIFF['x-content-type-options'])
    next()
  })
  miscRoutes(app, ctx)
  opsRoutes(app, ctx)
  auditRoutes(app, ctx)
  attestationRoutes(app, ctx)
  distTagRoutes(app, ctx)
  userRoutes(app, ctx)
  searchRoutes(app, ctx)
  webRoutes(app, ctx)
  // Last: it claims every path that is not one of the `/-/` endpoints above.
  packageRoutes(app, ctx)
  return app
}

let requests = 0
/** Request ids: this process's pid and a counter, unique across the processes sharing a storage. */
const idPrefix = `${process.pid.toString(36)}-`

/**
 * One line per request (method, path, status, ms, bytes, cache outcome, request id, user;
 * never headers or bodies), and the request's metrics. The id goes back as `x-request-id`.
 */
function requestLog(ctx: ServerContext) {
  return (req: Request, res: ServerResponse, next: () => void) => {
    const start = process.hrtime.bigint()
    const id = idPrefix + (++requests).toString(36)
    res.setHeader('x-request-id', id)
    res.on('close', () => {
      const seconds = Number(process.hrtime.bigint() - start) / 1e9
      const notes = (res as NotedResponse).notes ?? {}
      const route = routeClass(req.method, req.path)
      // metrics: {enabled: false} turns the counting off too (the bench's metrics row measures what it costs).
      if (ctx.config.metrics.enabled) ctx.metrics.request(route, req.method ?? '-', res.statusCode, seconds, notes.bytes ?? 0, notes.cache)
      if (!ctx.log.enabled('http')) return
      const ms = seconds * 1000
      const aborted = !res.writableFinished
      const status = aborted ? `${res.statusCode}(aborted)` : res.statusCode
      const path = printable(redactPath(req.path))
      const user = identifiedName(req)
      ctx.log.log('http', `${req.method} ${path} ${status} ${ms.toFixed(1)}ms ${notes.bytes ?? 0}b ${notes.cache ?? '-'}`, {
        method: req.method ?? '-',
        path,
        status: res.statusCode,
        ms: Math.round(ms * 10) / 10,
        bytes: notes.bytes ?? 0,
        ...(notes.cache ? { cache: notes.cache } : {}),
        id,
        ...(user ? { user } : {}),
        ...(aborted ? { aborted } : {}),
      })
    })
    next()
  }
}

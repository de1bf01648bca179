import type { ServerResponse } from 'node:http'
import polka, { type Polka, type Request } from 'polka'
import { SinopiaError } from '../errors.js'
import { printable } from '../registry/names.js'
import type { ServerContext } from './context.js'
import { redactPath } from './redact.js'
import { NOSNIFF, sendError, type NotedResponse } from './respond.js'
import { auditRoutes } from './routes/audit.js'
import { distTagRoutes } from './routes/dist-tags.js'
import { miscRoutes } from './routes/misc.js'
import { packageRoutes } from './routes/packages.js'
import { searchRoutes } from './routes/search.js'
import { userRoutes } from './routes/users.js'
import { webRoutes } from './routes/web.js'

/** The registry's HTTP app, usable without listen() (tests mount `app.handler`). */
export function createApp(ctx: ServerContext): Polka {
  const app = polka({
    onError: (error: unknown, _req: Request, res: ServerResponse) => {
      if (!(error instanceof SinopiaError) || error.status >= 500) {
        ctx.log.log('error', error instanceof Error ? (error.stack ?? error.message) : String(error))
      }
      sendError(res, error)
    },
    onNoMatch: (_req: Request, res: ServerResponse) => sendError(res, new SinopiaError('ENOROUTE', 'not found', { status: 404 })),
  })
  app.use(requestLog(ctx))
  app.use((_req: Request, res: ServerResponse, next: () => void) => {
    res.setHeader('x-content-type-options', NOSNIFF['x-content-type-options'])
    next()
  })
  miscRoutes(app, ctx)
  auditRoutes(app, ctx)
  distTagRoutes(app, ctx)
  userRoutes(app, ctx)
  searchRoutes(app, ctx)
  webRoutes(app, ctx)
  // Last: it claims every path that is not one of the `/-/` endpoints above.
  packageRoutes(app, ctx)
  return app
}

/** One line per request: method, path, status, ms, bytes, cache outcome. Never headers or bodies. */
function requestLog(ctx: ServerContext) {
  return (req: Request, res: ServerResponse, next: () => void) => {
    if (!ctx.log.enabled('http')) return next()
    const start = process.hrtime.bigint()
    res.on('close', () => {
      const ms = Number(process.hrtime.bigint() - start) / 1e6
      const notes = (res as NotedResponse).notes ?? {}
      const status = res.writableFinished ? res.statusCode : `${res.statusCode}(aborted)`
      ctx.log.log('http', `${req.method} ${printable(redactPath(req.path))} ${status} ${ms.toFixed(1)}ms ${notes.bytes ?? 0}b ${notes.cache ?? '-'}`)
    })
    next()
  }
}

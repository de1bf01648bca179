import type { ServerResponse } from 'node:http'
import type { Polka, Request } from 'polka'
import { cidrAllows } from '../../auth/cidr.js'
import { SinopiaError } from '../../errors.js'
import type { ServerContext } from '../context.js'
import { methodNotAllowed, note, sendJson } from '../respond.js'

/**
 * For whoever runs the registry: `/-/metrics` (Prometheus text format; `metrics: {enabled,
 * allow, token}` in the config) and `/-/health` (readiness for a load balancer: 503 when the
 * storage takes no writes). `/-/ping` stays the liveness check.
 */
export function opsRoutes(app: Polka, ctx: ServerContext): void {
  app.get('/-/metrics', async (req: Request, res: ServerResponse) => {
    const { enabled, allow, token } = ctx.config.metrics
    if (!enabled) throw new SinopiaError('ENOROUTE', 'not found')
    if (allow.length > 0 && !cidrAllows(allow, req.socket.remoteAddress ?? '')) {
      throw new SinopiaError('EFORBIDDEN', 'metrics are not served to this address')
    }
    if (token !== undefined && req.headers.authorization !== `Bearer ${token}`) {
      res.setHeader('www-authenticate', 'Bearer realm="metrics"')
      throw new SinopiaError('EUNAUTHORIZED', 'metrics need the bearer token of the config (metrics.token)')
    }
    const body = Buffer.from(await ctx.metrics.text())
    res.writeHead(200, { 'content-type': ctx.metrics.contentType, 'content-length': body.length, 'cache-control': 'no-store' })
    res.end(req.method === 'HEAD' ? undefined : body)
    note(res, { bytes: body.length })
  })
  app.all('/-/metrics', (req: Request, res: ServerResponse) => methodNotAllowed(res, req.method, ['GET', 'HEAD']))

  app.get('/-/health', (_req: Request, res: ServerResponse) => {
    const report = ctx.health.report(ctx.upstream.states())
    sendJson(res, report.status === 'ok' ? 200 : 503, report, { 'cache-control': 'no-store' })
  })
  app.all('/-/health', (req: Request, res: ServerResponse) => methodNotAllowed(res, req.method, ['GET', 'HEAD']))
}

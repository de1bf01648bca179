import type { ServerResponse } from 'node:http'
import type { Polka, Request } from 'polka'
import { SinopiaError } from '../../errors.js'
import { readBody } from '../body.js'
import type { ServerContext } from '../context.js'
import { methodNotAllowed } from '../respond.js'

const AUDIT_PATHS = ['/-/npm/v1/security/advisories/bulk', '/-/npm/v1/security/audits/quick', '/-/npm/v1/security/audits']

/**
 * `npm audit` (and yarn classic's): this registry has no advisories of its own, so the
 * request goes to the first uplink as it is (gzip body included) and the answer comes back.
 */
export function auditRoutes(app: Polka, ctx: ServerContext): void {
  const uplink = Object.keys(ctx.config.uplinks)[0]
  for (const path of AUDIT_PATHS) {
    app.post(path, async (req: Request, res: ServerResponse) => {
      if (!uplink) throw new SinopiaError('ENOAUDIT', 'no uplink is configured to answer audits', { status: 404 })
      const body = await readBody(req, ctx.config.maxBodySize)
      const headers: Record<string, string> = { 'content-type': req.headers['content-type'] ?? 'application/json' }
      if (req.headers['content-encoding']) headers['content-encoding'] = req.headers['content-encoding']
      const answer = await ctx.upstream.forward(uplink, path, { method: 'POST', headers, body }).catch((error: unknown) => {
        throw new SinopiaError('EAUDIT', `audit unavailable: ${error instanceof Error ? error.message : String(error)}`, {
          status: 503,
          cause: error,
        })
      })
      res.writeHead(answer.status, { ...answer.headers, 'content-length': answer.body.length })
      res.end(answer.body)
    })
    app.all(path, (req: Request, res: ServerResponse) => methodNotAllowed(res, req.method, ['POST']))
  }
}

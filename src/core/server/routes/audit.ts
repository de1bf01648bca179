import type { ServerResponse } from 'node:http'
import { promisify } from 'node:util'
import zlib from 'node:zlib'
import type { Polka, Request } from 'polka'
import { SinopiaError, badRequest } from '../../errors.js'
import { emptyAuditAnswer, filterAuditBody, namesOf, parseAuditBody, type AuditForm } from '../audit-body.js'
import { readBody } from '../body.js'
import type { ServerContext } from '../context.js'
import { methodNotAllowed, sendJson } from '../respond.js'

const gunzip = promisify(zlib.gunzip)

const AUDIT_PATHS: Record<string, AuditForm> = {
  '/-/npm/v1/security/advisories/bulk': 'bulk',
  '/-/npm/v1/security/audits/quick': 'tree',
  '/-/npm/v1/security/audits': 'tree',
}

/**
 * `npm audit` (and yarn classic's): this registry has no advisories of its own, so the
 * question goes to the first uplink, with that uplink's credentials. Only names it may ask
 * there leave: those whose package rule proxies to that uplink and that were not published
 * here. Private names (rules without `proxy`, `@private/*` and the like) and local packages
 * are cut out of the body first; when none is left, the answer is made here.
 */
export function auditRoutes(app: Polka, ctx: ServerContext): void {
  for (const [path, form] of Object.entries(AUDIT_PATHS)) {
    app.post(path, async (req: Request, res: ServerResponse) => {
      const uplink = Object.keys(ctx.config.uplinks)[0]
      if (!uplink) throw new SinopiaError('ENOAUDIT', 'no uplink is configured to answer audits')
      const body = parseAuditBody(await readAuditBody(req, ctx))
      const allowed = await forwardable(ctx, uplink, namesOf(form, body))
      const filtered = filterAuditBody(form, body, (name) => allowed.has(name))
      if (filtered.names === 0) return sendJson(res, 200, emptyAuditAnswer(form))
      const answer = await ctx.upstream
        .forward(uplink, path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: Buffer.from(JSON.stringify(filtered.body)) })
        .catch((error: unknown) => {
          throw new SinopiaError('EAUDIT', `audit unavailable: ${error instanceof Error ? error.message : String(error)}`, {
            cause: error,
          })
        })
      res.writeHead(answer.status, { ...answer.headers, 'content-length': answer.body.length })
      res.end(answer.body)
    })
    app.all(path, (req: Request, res: ServerResponse) => methodNotAllowed(res, req.method, ['POST']))
  }
}

/** The body as text, gunzipped when sent so; at most `limits.audit_body_size` bytes either way (413). */
async function readAuditBody(req: Request, ctx: ServerContext): Promise<string> {
  const limit = ctx.config.limits.auditBodySize
  const raw = await readBody(req, Math.min(ctx.config.maxBodySize, limit))
  const encoding = (req.headers['content-encoding'] ?? 'identity').trim().toLowerCase()
  if (encoding === 'identity') return raw.toString('utf8')
  if (encoding !== 'gzip' && encoding !== 'x-gzip') {
    throw new SinopiaError('EENCODING', `content-encoding ${encoding} is not supported here: send gzip or none`)
  }
  try {
    return (await gunzip(raw, { maxOutputLength: limit })).toString('utf8')
  } catch (error) {
    if ((error as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE') {
      throw new SinopiaError('EBODYTOOLARGE', `audit body larger than limits.audit_body_size (${limit} bytes) once inflated`)
    }
    throw badRequest('the audit body is not valid gzip')
  }
}

/** Of `names`, those whose rule proxies to `uplink` and that have nothing published here. */
async function forwardable(ctx: ServerContext, uplink: string, names: Set<string>): Promise<Set<string>> {
  const kept = new Set<string>()
  await Promise.all(
    [...names].map(async (name) => {
      const rule = ctx.registry.rules.match(name)
      if (!rule?.proxy.includes(uplink)) return
      const local = await ctx.registry.packuments.local(name).catch(() => undefined)
      if (local === null) kept.add(name)
    }),
  )
  return kept
}

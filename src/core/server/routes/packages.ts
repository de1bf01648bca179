import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Polka, Request } from 'polka'
import { notFound } from '../../errors.js'
import { instantiate, parsePackagePath, type PackageView } from '../../registry/index.js'
import { authorize, identify } from '../identify.js'
import { Body } from '../bodies.js'
import type { ServerContext } from '../context.js'
import { ABBREVIATED_TYPE, etagMatches, pickEncoding, publicBaseUrl, wantsAbbreviated } from '../negotiate.js'
import { addVary, methodNotAllowed, note, setCachePolicy } from '../respond.js'
import { writePackage } from './publish.js'
import { sendTarball } from './tarballs.js'

/** Bodies smaller than this go out uncompressed: gzip would not pay for its headers. */
const COMPRESS_MIN_BYTES = 1024

/** Package URLs in all the spellings clients use: reads here, writes in ./publish.ts. */
export function packageRoutes(app: Polka, ctx: ServerContext): void {
  app.all('*', async (req: Request, res: ServerResponse) => {
    const target = parsePackagePath(req.path)
    if (!target) throw notFound('not found', 'ENOROUTE')
    if (req.method === 'PUT' || req.method === 'DELETE') return writePackage(req, res, ctx, target)
    if (req.method !== 'GET' && req.method !== 'HEAD') methodNotAllowed(res, req.method, ['GET', 'HEAD', 'PUT', 'DELETE'])
    if (target.kind !== 'version' && target.rev !== undefined) throw notFound('not found', 'ENOROUTE')
    const rule = ctx.registry.rules.match(target.name)
    authorize(rule, target.name, await identify(ctx, req), 'access')
    setCachePolicy(res, target.kind === 'tarball' ? 'tarball' : 'document', rule?.access.includes('$all') === true)
    const base = publicBaseUrl(req, ctx.config.urlPrefix, ctx.hostForUrls, ctx.config.trustProxy)
    if (target.kind === 'packument') {
      const fresh = (req.query as Record<string, string | undefined>).write === 'true'
      const answer = await ctx.registry.packuments.get(target.name, { fresh })
      note(res, { cache: answer.cache })
      if (answer.offline) {
        res.setHeader('x-sinopia-offline', '1')
        ctx.log.log('warn', `uplink unavailable: serving ${target.name} from the store (only stored versions advertised)`)
      }
      return sendPackument(req, res, ctx, answer.view, base)
    }
    if (target.kind === 'version') {
      const { manifest, offline } = await ctx.registry.manifest(target.name, target.spec)
      if (offline) res.setHeader('x-sinopia-offline', '1')
      const body = new Body(Buffer.from(instantiate(JSON.stringify(manifest), base)), 'application/json')
      return sendBody(req, res, body)
    }
    return sendTarball(req, res, await ctx.registry.tarballs.open(target.name, target.file))
  })
}

async function sendPackument(req: IncomingMessage, res: ServerResponse, ctx: ServerContext, view: PackageView, base: string): Promise<void> {
  const abbreviated = wantsAbbreviated(req.headers.accept)
  const form = abbreviated ? 'abbreviated' : 'full'
  const body = await ctx.bodies.get(`${view.name}\u0000${view.rev}\u0000${form}\u0000${base}`, async () => {
    // A big document's bytes and hash are made in the view worker, off the event loop.
    const template = view[form]
    const made = await ctx.registry.views.run('body', { template, base }, template.length)
    return new Body(Buffer.from(made.raw.buffer, made.raw.byteOffset, made.raw.byteLength), abbreviated ? ABBREVIATED_TYPE : 'application/json', made.sha1)
  })
  return sendBody(req, res, body)
}

/** Sends a prepared body: 304 on a matching ETag, else the pre-compressed form the client takes. */
export async function sendBody(req: IncomingMessage, res: ServerResponse, body: Body): Promise<void> {
  addVary(res, 'Accept', 'Accept-Encoding')
  const encoding = body.raw.length >= COMPRESS_MIN_BYTES ? pickEncoding(req.headers['accept-encoding']) : null
  if (etagMatches(req.headers['if-none-match'], [body.etag, body.etagFor('gzip'), body.etagFor('br')])) {
    res.writeHead(304, { etag: body.etagFor(encoding) })
    res.end()
    return
  }
  const payload = encoding ? await body.compressed(encoding) : body.raw
  res.writeHead(200, {
    'content-type': body.contentType,
    'content-length': payload.length,
    etag: body.etagFor(encoding),
    ...(encoding ? { 'content-encoding': encoding } : {}),
  })
  res.end(req.method === 'HEAD' ? undefined : payload)
  note(res, { bytes: payload.length })
}

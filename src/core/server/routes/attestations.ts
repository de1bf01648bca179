import type { ServerResponse } from 'node:http'
import type { Polka, Request } from 'polka'
import semver from 'semver'
import { notFound } from '../../errors.js'
import { assertPackageName } from '../../registry/names.js'
import { attestationsKey } from '../../store/index.js'
import type { ServerContext } from '../context.js'
import { authorize, identify } from '../identify.js'
import { NOSNIFF, methodNotAllowed } from '../respond.js'

const PREFIX = '/-/npm/v1/attestations/'

/**
 * `GET /-/npm/v1/attestations/<name>@<version>` (npm audit signatures, provenance): the
 * attestations a bundle brought for the version, as the uplink served them; 404 for any other.
 * This registry does not forward the request to an uplink.
 */
export function attestationRoutes(app: Polka, ctx: ServerContext): void {
  app.all(`${PREFIX}*`, async (req: Request, res: ServerResponse) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') methodNotAllowed(res, req.method, ['GET', 'HEAD'])
    const spec = parseSpec(req.path.slice(PREFIX.length))
    if (!spec) throw notFound('not found', 'ENOROUTE')
    assertPackageName(spec.name)
    const rule = ctx.registry.rules.match(spec.name)
    authorize(rule, spec.name, await identify(ctx, req), 'access')
    const blob = await ctx.registry.store.blobs.open(undefined, attestationsKey(spec.name, spec.version))
    if (!blob) throw notFound(`no attestations for ${spec.name}@${spec.version}`)
    let body: Buffer
    try {
      body = await blob.handle.readFile()
    } finally {
      await blob.handle.close()
    }
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': body.length, ...NOSNIFF })
    res.end(req.method === 'HEAD' ? undefined : body)
  })
}

/** `<name>@<version>`, the name's slash maybe percent-encoded; null when it is not one. */
function parseSpec(raw: string): { name: string; version: string } | null {
  let decoded: string
  try {
    decoded = decodeURIComponent(raw)
  } catch {
    return null
  }
  const at = decoded.lastIndexOf('@')
  if (at <= 0) return null
  const version = decoded.slice(at + 1)
  return semver.valid(version) ? { name: decoded.slice(0, at), version } : null
}

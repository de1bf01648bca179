import type { IncomingMessage } from 'node:http'
import { SinopiaError, badRequest } from '../errors.js'
import { parseJsonWithin } from '../json.js'

/**
 * Reads a request body, refusing it (413) as soon as it passes `limit` bytes: the whole
 * body is never buffered past the limit, whatever Content-Length claims.
 */
export async function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length'])
  if (Number.isFinite(declared) && declared > limit) throw tooLarge(limit)
  const chunks: Buffer[] = []
  let total = 0
  for await (const chunk of req as AsyncIterable<Buffer>) {
    total += chunk.length
    if (total > limit) {
      req.destroy()
      throw tooLarge(limit)
    }
    chunks.push(chunk)
  }
  return Buffer.concat(chunks)
}

/** A JSON body within `limit` bytes and `maxDepth` levels of nesting (see parseJson). */
export async function readJson(req: IncomingMessage, limits: { limit: number; maxDepth: number }): Promise<unknown> {
  return parseJson(await readBody(req, limits.limit), limits.maxDepth)
}

/** A request body as JSON: 400 when it is not, or nests deeper than `max_json_depth`. */
export function parseJson(raw: Buffer, maxDepth: number): unknown {
  const result = parseJsonWithin(raw, maxDepth)
  if (result.ok) return result.value
  if (result.tooDeep) throw badRequest(`the JSON body nests deeper than max_json_depth (${maxDepth})`, 'EJSONDEPTH')
  // The parser's message is not passed on: it may quote the body (a password, say).
  throw badRequest('the request body is not valid JSON', 'EBADJSON')
}

function tooLarge(limit: number): SinopiaError {
  return new SinopiaError('EBODYTOOLARGE', `request body larger than max_body_size (${limit} bytes)`)
}

import type { IncomingMessage } from 'node:http'
import { SinopiaError } from '../errors.js'

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

function tooLarge(limit: number): SinopiaError {
  return new SinopiaError('ETOOLARGE', `request body larger than max_body_size (${limit} bytes)`, { status: 413 })
}

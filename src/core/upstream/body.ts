import { Transform, type Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import zlib from 'node:zlib'

/** Thrown when an uplink body crosses a configured size; the message says which limit. */
export class BodyTooLarge extends Error {
  constructor(readonly limit: number) {
    super(`body larger than ${limit} bytes`)
  }
}

/** A Content-Length above `limit` fails before any byte is read. */
export function checkDeclaredLength(contentLength: string | undefined, limit: number): number | undefined {
  const length = Number(contentLength)
  if (contentLength === undefined || !Number.isSafeInteger(length) || length < 0) return undefined
  if (length > limit) throw new BodyTooLarge(limit)
  return length
}

/** Passes bytes through and fails (with `wrap`'s error) as soon as more than `limit` went by. */
export function byteLimit(limit: number, wrap: (error: BodyTooLarge) => Error = (error) => error): Transform {
  let seen = 0
  return new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      seen += chunk.length
      if (seen > limit) callback(wrap(new BodyTooLarge(limit)))
      else callback(null, chunk)
    },
  })
}

function decoderFor(encoding: string | undefined): Transform | null {
  switch (encoding?.trim().toLowerCase()) {
    case 'gzip':
    case 'x-gzip':
      return zlib.createGunzip()
    case 'br':
      return zlib.createBrotliDecompress()
    case 'deflate':
      return zlib.createInflate()
    default:
      return null
  }
}

/**
 * Reads a whole (JSON) body, decompressed, holding at most `limit` bytes: the wire bytes and
 * the decompressed bytes are both counted, so neither a huge body nor a small gzip bomb gets
 * further than the limit before the read is aborted.
 */
export async function readLimited(body: Readable, encoding: string | undefined, limit: number): Promise<Buffer> {
  const chunks: Buffer[] = []
  const decoder = decoderFor(encoding)
  const collect = async (source: AsyncIterable<Buffer>) => {
    for await (const chunk of source) chunks.push(chunk)
  }
  if (decoder) await pipeline(body, byteLimit(limit), decoder, byteLimit(limit), collect)
  else await pipeline(body, byteLimit(limit), collect)
  return Buffer.concat(chunks)
}

import { createHash } from 'node:crypto'
import { promisify } from 'node:util'
import zlib from 'node:zlib'

const gzip = promisify(zlib.gzip)
const brotli = promisify(zlib.brotliCompress)

export type Encoding = 'br' | 'gzip'

/** A serialized response body with its strong ETag and its compressed forms, made once each. */
export class Body {
  readonly etag: string
  private readonly encoded = new Map<Encoding, Promise<Buffer>>()

  constructor(
    readonly raw: Buffer,
    readonly contentType: string,
  ) {
    this.etag = `"${createHash('sha1').update(raw).digest('base64url')}"`
  }

  /** The ETag of the representation in `encoding`: a strong ETag differs per encoding. */
  etagFor(encoding: Encoding | null): string {
    return encoding ? `${this.etag.slice(0, -1)}-${encoding}"` : this.etag
  }

  /** Compressed once, off the main thread (zlib's thread pool), shared by concurrent callers. */
  compressed(encoding: Encoding): Promise<Buffer> {
    let pending = this.encoded.get(encoding)
    if (!pending) {
      pending =
        encoding === 'gzip'
          ? gzip(this.raw, { level: 6 })
          : brotli(this.raw, { params: { [zlib.constants.BROTLI_PARAM_QUALITY]: 5, [zlib.constants.BROTLI_PARAM_SIZE_HINT]: this.raw.length } })
      this.encoded.set(encoding, pending)
    }
    return pending
  }

  get bytes(): number {
    return this.raw.length * 1.3
  }
}

/**
 * Bodies keyed by what determines their bytes (package, revision, form, base URL),
 * least recently used evicted past a byte budget. Built on the first request for a
 * revision, then served as they are: no per-request serialization or compression.
 */
export class BodyCache {
  private readonly bodies = new Map<string, Body>()
  private total = 0

  constructor(private readonly budget: number) {}

  get(key: string, build: () => Body): Body {
    const hit = this.bodies.get(key)
    if (hit) {
      this.bodies.delete(key)
      this.bodies.set(key, hit)
      return hit
    }
    const body = build()
    this.bodies.set(key, body)
    this.total += body.bytes
    for (const [old, value] of this.bodies) {
      if (this.total <= this.budget || old === key) break
      this.bodies.delete(old)
      this.total -= value.bytes
    }
    return body
  }
}

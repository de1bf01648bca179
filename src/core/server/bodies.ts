import { createHash } from 'node:crypto'
import { promisify } from 'node:util'
import zlib from 'node:zlib'
import { LRUCache } from 'lru-cache'
import { CACHE_BOUNDS } from '../cache-bounds.js'

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
  private readonly bodies: LRUCache<string, Body>

  constructor(budget: number = CACHE_BOUNDS.responseBodyBytes) {
    this.bodies = new LRUCache({ maxSize: budget, sizeCalculation: (body) => Math.max(1, Math.ceil(body.bytes)) })
  }

  get(key: string, build: () => Body): Body {
    const hit = this.bodies.get(key)
    if (hit) return hit
    const body = build()
    this.bodies.set(key, body)
    return body
  }

  /** Approximate bytes held now (at most the budget). */
  get bytes(): number {
    return this.bodies.calculatedSize
  }
}

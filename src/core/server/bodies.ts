import { createHash } from 'node:crypto'
import { promisify } from 'node:util'
import zlib from 'node:zlib'
import { LRUCache } from 'lru-cache'
import { CACHE_BOUNDS } from '../cache-bounds.js'
import { SingleFlight } from '../upstream/single-flight.js'

const gzip = promisify(zlib.gzip)
const brotli = promisify(zlib.brotliCompress)

export type Encoding = 'br' | 'gzip'

/** A serialized response body with its strong ETag and its compressed forms, made once each. */
export class Body {
  readonly etag: string
  private readonly encoded = new Map<Encoding, Promise<Buffer>>()

  /** `sha1`: the bytes' hash in base64url when already known (computed with them in the view worker). */
  constructor(
    readonly raw: Buffer,
    readonly contentType: string,
    sha1?: string,
  ) {
    this.etag = `"${sha1 ?? createHash('sha1').update(raw).digest('base64url')}"`
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
  private readonly building = new SingleFlight<Body>()

  constructor(budget: number = CACHE_BOUNDS.responseBodyBytes) {
    this.bodies = new LRUCache({ maxSize: budget, sizeCalculation: (body) => Math.max(1, Math.ceil(body.bytes)) })
  }

  /** The body under `key`, built once however many requests ask while it is being built. */
  async get(key: string, build: () => Promise<Body>): Promise<Body> {
    const hit = this.bodies.get(key)
    if (hit) return hit
    return this.building.run(key, async () => {
      const body = await build()
      this.bodies.set(key, body)
      return body
    })
  }

  /** Approximate bytes held now (at most the budget). */
  get bytes(): number {
    return this.bodies.calculatedSize
  }
}

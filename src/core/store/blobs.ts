import { once } from 'node:events'
import { createReadStream } from 'node:fs'
import { open, type FileHandle } from 'node:fs/promises'
import path from 'node:path'
import type { Writable } from 'node:stream'
import cacache from 'cacache'
import ssri from 'ssri'
import { errnoCode } from '../errors.js'

export interface OpenBlob {
  handle: FileHandle
  size: number
  /** The sha512 integrity the blob is stored under. */
  integrity: string
}

export interface BlobWrite {
  /** Write the bytes here, then end() it. Destroy it to abandon the write. */
  stream: Writable
  /** Resolves once the blob is verified and visible; rejects (EINTEGRITY, EBADSIZE, ...) otherwise. */
  done: Promise<{ integrity: string; size: number }>
}

/** The sha512 hash of an SRI string, as its own SRI string, or null when it has none. */
export function sha512Of(integrity: string | undefined): string | null {
  if (!integrity) return null
  const hash = ssri.parse(integrity).sha512?.[0]
  return hash ? hash.toString() : null
}

/**
 * What a tarball must hash to, from a packument's `dist`: its `integrity` when present,
 * else the legacy sha1 `shasum`. Null when there is nothing to verify against.
 */
export function expectedIntegrity(dist: { integrity?: unknown; shasum?: unknown } | undefined): string | null {
  if (typeof dist?.integrity === 'string' && dist.integrity.trim()) {
    const parsed = ssri.parse(dist.integrity).toString()
    if (parsed) return parsed
  }
  if (typeof dist?.shasum === 'string' && /^[0-9a-f]{40}$/i.test(dist.shasum)) {
    return ssri.fromHex(dist.shasum.toLowerCase(), 'sha1').toString()
  }
  return null
}

/**
 * Tarballs, content-addressed by sha512 in a cacache folder. Reads go straight to the content
 * file (cacache's own read path re-hashes every byte, which the hot path cannot afford; the
 * bytes were verified once, as they were written). Writes go through cacache, which hashes
 * while streaming into a temp file and renames into place only when the digest matches.
 */
export class BlobStore {
  constructor(readonly dir: string) {}

  /** cacache content path: sha512-<base64> -> content-v2/sha512/ab/cd/<rest of hex digest>. */
  contentPath(sha512Integrity: string): string {
    const hex = ssri.parse(sha512Integrity, { single: true }).hexDigest()
    return path.join(this.dir, 'content-v2', 'sha512', hex.slice(0, 2), hex.slice(2, 4), hex.slice(4))
  }

  /**
   * The sha512 integrity of the blob for `integrity` (if that has sha512) or, failing that,
   * the one recorded under `key` when it was stored (for versions that only have a sha1 shasum).
   */
  async resolve(integrity: string | undefined, key: string): Promise<string | null> {
    const direct = sha512Of(integrity)
    if (direct) return direct
    const info = await cacache.get.info(this.dir, key)
    return info ? sha512Of(info.integrity) : null
  }

  async open(integrity: string | undefined, key: string): Promise<OpenBlob | null> {
    const sha512 = await this.resolve(integrity, key)
    if (!sha512) return null
    let handle: FileHandle
    try {
      handle = await open(this.contentPath(sha512), 'r')
    } catch (error) {
      if (errnoCode(error) === 'ENOENT') return null
      throw error
    }
    const { size } = await handle.stat()
    return { handle, size, integrity: sha512 }
  }

  async has(integrity: string | undefined, key: string): Promise<boolean> {
    const blob = await this.open(integrity, key)
    if (!blob) return false
    await blob.handle.close()
    return true
  }

  /** Re-hashes a stored blob against `integrity` (any algorithm it carries); false on mismatch or absence. */
  async verify(sha512Integrity: string, integrity: string): Promise<boolean> {
    try {
      await ssri.checkStream(createReadStream(this.contentPath(sha512Integrity)), integrity)
      return true
    } catch {
      return false
    }
  }

  /**
   * Removes the blob recorded under `key`, unless `inUse(integrity)` says something else
   * still refers to the same bytes. The index entry goes either way.
   */
  async remove(key: string, inUse: (integrity: string) => Promise<boolean>): Promise<void> {
    const info = await cacache.get.info(this.dir, key)
    if (!info) return
    const sha512 = sha512Of(info.integrity)
    await (cacache.rm.entry as (cache: string, key: string, opts: { removeFully: boolean }) => Promise<unknown>)(this.dir, key, { removeFully: true })
    if (sha512 && !(await inUse(sha512))) await cacache.rm.content(this.dir, sha512)
  }

  /** Starts storing a blob that must hash to `expected` (and be `size` bytes, when known). */
  write(key: string, expected: string, size?: number): BlobWrite {
    const stream = cacache.put.stream(this.dir, key, {
      integrity: expected,
      algorithms: ['sha512'],
      ...(size === undefined ? {} : { size }),
    }) as unknown as Writable
    let written = 0
    stream.on('size', (n: number) => {
      written = n
    })
    // cacache can emit a failure more than once; the first rejects `done`, the rest are the same news.
    stream.on('error', () => undefined)
    // `once` rejects when the stream emits 'error' (EINTEGRITY, EBADSIZE, disk errors) first.
    const done = once(stream, 'integrity').then(([computed]) => {
      const integrity = sha512Of(String(computed))
      if (!integrity) throw new Error('stored blob has no sha512 digest')
      return { integrity, size: written }
    })
    // The rejection is observed by whoever awaits `done`; keep an unobserved one from crashing us.
    done.catch(() => undefined)
    return { stream, done }
  }
}

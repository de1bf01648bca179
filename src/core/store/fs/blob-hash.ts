import { createHash } from 'node:crypto'
import type { FileHandle } from 'node:fs/promises'
import ssri from 'ssri'
import { readChunksBlocking } from '../../fs/read-blocking.js'
import type { TimeSlice } from '../../fs/time-slice.js'
import { openOrNull } from '../../fs/stat.js'

/** The sha512 integrity and size of a file, through a handle that stays open (the blob is served from it next). */
export async function hashHandle(handle: FileHandle): Promise<{ integrity: string; size: number }> {
  const hasher = ssri.create({ algorithms: ['sha512'] })
  const size = await eachChunk(handle, Buffer.allocUnsafe(1024 * 1024), false, (chunk) => hasher.update(chunk))
  return { integrity: hasher.digest().toString(), size }
}

/** Bytes read at once by sha512OfFile: a whole small tarball in one read. */
const SMALL_READ = 64 * 1024

/**
 * The sha512 digest (base64) and size of a file as read from disk now; null when it is missing.
 * For the many tiny tarballs of a store: an open, usually one read and a close, each a single
 * trip to the thread pool, where a read stream costs several and its machinery besides.
 */
export async function sha512OfFile(file: string): Promise<{ digest: string; size: number } | null> {
  const handle = await openOrNull(file)
  if (!handle) return null
  try {
    const hash = createHash('sha512')
    // A short read of a regular file is its end: no second read to learn it.
    const size = await eachChunk(handle, Buffer.allocUnsafe(SMALL_READ), true, (chunk) => hash.update(chunk))
    return { digest: hash.digest('base64'), size }
  } finally {
    await handle.close()
  }
}

/** Reads `handle` from its start through `buffer`, each chunk to `fn`; returns the bytes read. */
async function eachChunk(handle: FileHandle, buffer: Buffer, shortReadEnds: boolean, fn: (chunk: Buffer) => void): Promise<number> {
  let size = 0
  for (;;) {
    const { bytesRead } = await handle.read(buffer, 0, buffer.length, size)
    if (bytesRead === 0) break
    fn(buffer.subarray(0, bytesRead))
    size += bytesRead
    if (shortReadEnds && bytesRead < buffer.length) break
  }
  return size
}

/**
 * sha512OfFile for a walk over every blob (verify), read with blocking calls (see
 * readChunksBlocking). The digest is hex, as content files are named.
 */
export async function sha512HexOfFileBlocking(file: string, buffer: Buffer, slice: TimeSlice): Promise<{ hex: string; size: number } | null> {
  const hash = createHash('sha512')
  const size = await readChunksBlocking(file, buffer, (chunk) => hash.update(chunk), slice)
  return size === null ? null : { hex: hash.digest('hex'), size }
}

import { open } from 'node:fs/promises'
import type pg from 'pg'
import ssri from 'ssri'

/** Blob bytes are rows of this many bytes (the last one shorter): see schema.ts. */
export const CHUNK_BYTES = 1024 * 1024

/**
 * Copies a file into chunk rows of `contentId`, on `client` (inside the caller's transaction),
 * hashing what it sends: returns the sha512 integrity and size of the bytes that went into the
 * rows, for the caller to check before it commits.
 */
export async function uploadChunks(client: pg.ClientBase, contentId: string, file: string): Promise<{ integrity: string; size: number }> {
  const hasher = ssri.create({ algorithms: ['sha512'] })
  const handle = await open(file, 'r')
  let size = 0
  try {
    const buffer = Buffer.allocUnsafe(CHUNK_BYTES)
    for (let seq = 0; ; seq++) {
      let filled = 0
      while (filled < CHUNK_BYTES) {
        const { bytesRead } = await handle.read(buffer, filled, CHUNK_BYTES - filled, size + filled)
        if (bytesRead === 0) break
        filled += bytesRead
      }
      if (filled === 0 && seq > 0) break
      const chunk = buffer.subarray(0, filled)
      hasher.update(chunk)
      size += filled
      await client.query('INSERT INTO sinopia_blob_chunks (content_id, seq, data) VALUES ($1, $2, $3)', [contentId, seq, chunk])
      if (filled < CHUNK_BYTES) break
    }
  } finally {
    await handle.close()
  }
  return { integrity: hasher.digest().toString(), size }
}

/** Thrown when the chunks end early: the content was removed while it was read. */
export class ContentGone extends Error {}

/**
 * The chunks of `contentId` in order, one query each, so a 50 MB blob never sits in memory
 * whole. `size` bytes are expected: fewer rows than that means the content went meanwhile.
 */
export async function* readChunks(pool: pg.Pool, contentId: string, size: number): AsyncGenerator<Buffer> {
  let read = 0
  for (let seq = 0; read < size || seq === 0; seq++) {
    const { rows } = await pool.query<{ data: Buffer }>('SELECT data FROM sinopia_blob_chunks WHERE content_id = $1 AND seq = $2', [contentId, seq])
    const data = rows[0]?.data
    if (!data) {
      if (read < size) throw new ContentGone(`content ${contentId} ended after ${read} of ${size} bytes`)
      return
    }
    read += data.length
    yield data
  }
}

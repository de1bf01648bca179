import { createReadStream } from 'node:fs'
import type { FileHandle } from 'node:fs/promises'
import { pipeline } from 'node:stream/promises'
import ssri from 'ssri'

/** The sha512 integrity and size of a file as read from disk now. Read errors (EIO, ...) are thrown. */
export async function hashFile(file: string): Promise<{ integrity: string; size: number }> {
  const hasher = ssri.create({ algorithms: ['sha512'] })
  let size = 0
  await pipeline(createReadStream(file, { highWaterMark: 1024 * 1024 }), async (chunks: AsyncIterable<Buffer>) => {
    for await (const chunk of chunks) {
      hasher.update(chunk)
      size += chunk.length
    }
  })
  return { integrity: hasher.digest().toString(), size }
}

/** The same, through a handle that stays open (the blob is served from it next). */
export async function hashHandle(handle: FileHandle): Promise<{ integrity: string; size: number }> {
  const hasher = ssri.create({ algorithms: ['sha512'] })
  const buffer = Buffer.allocUnsafe(1024 * 1024)
  let size = 0
  for (;;) {
    const { bytesRead } = await handle.read(buffer, 0, buffer.length, size)
    if (bytesRead === 0) break
    hasher.update(buffer.subarray(0, bytesRead))
    size += bytesRead
  }
  return { integrity: hasher.digest().toString(), size }
}

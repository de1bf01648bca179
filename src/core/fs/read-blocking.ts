import { closeSync, openSync, readSync } from 'node:fs'
import { errnoCode } from '../errors.js'
import type { TimeSlice } from './time-slice.js'

/**
 * Reads `file` from its start through `buffer` with blocking calls, each chunk to `onChunk`
 * (the chunk is `buffer`'s, valid only during the call); returns the bytes read, or null when
 * the file does not exist. A short read of a regular file is its end, so a small file costs an
 * open, one read and a close: a few µs each, where a trip through the thread pool costs tens.
 * For walks over every file of a store; between chunks of a big file the event loop gets its turn.
 */
export async function readChunksBlocking(file: string, buffer: Buffer, onChunk: (chunk: Buffer) => void, slice: TimeSlice): Promise<number | null> {
  let fd: number
  try {
    fd = openSync(file, 'r')
  } catch (error) {
    if (errnoCode(error) === 'ENOENT') return null
    throw error
  }
  try {
    let size = 0
    for (;;) {
      const bytesRead = readSync(fd, buffer, 0, buffer.length, size)
      if (bytesRead === 0) break
      onChunk(buffer.subarray(0, bytesRead))
      size += bytesRead
      if (bytesRead < buffer.length) break
      await slice.pause()
    }
    return size
  } finally {
    closeSync(fd)
  }
}

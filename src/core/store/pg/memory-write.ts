import { Writable } from 'node:stream'
import ssri from 'ssri'
import { sha512Of } from '../integrity.js'

/**
 * A blob write that collects the bytes in memory, hashing them as they pass and checking the
 * size and digest at the end with the codes of the disk writer (fs/blob-write.ts): EBADSIZE,
 * EINTEGRITY, and EABORTED when the stream is destroyed. For blobs small enough to go into the
 * database as one chunk: `done` gives the bytes that were hashed, which are the very bytes sent.
 */
export function memoryWrite(expected: string, size: number): { stream: Writable; done: Promise<{ integrity: string; size: number; bytes: Buffer }> } {
  const wanted = ssri.parse(expected)
  const hasher = ssri.create({ algorithms: [...new Set(['sha512', wanted.pickAlgorithm()])] })
  const chunks: Buffer[] = []
  let written = 0
  let result: { integrity: string; size: number; bytes: Buffer } | null = null
  const stream = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      written += chunk.length
      if (written > size) return callback(Object.assign(new Error(`Bad data size: expected ${size} bytes, but got more`), { code: 'EBADSIZE' }))
      hasher.update(chunk)
      chunks.push(chunk)
      callback()
    },
    final(callback) {
      if (written !== size) return callback(Object.assign(new Error(`Bad data size: expected ${size} bytes, but got ${written} instead`), { code: 'EBADSIZE' }))
      // ssri types it as a Buffer; it is an Integrity.
      const computed = (hasher.digest() as unknown as ssri.Integrity).toString()
      if (!wanted.match(computed)) return callback(Object.assign(new Error(`Integrity check failed: wanted ${expected}, found ${computed}`), { code: 'EINTEGRITY' }))
      result = { integrity: sha512Of(computed) as string, size: written, bytes: Buffer.concat(chunks, written) }
      callback()
    },
  })
  const done = new Promise<{ integrity: string; size: number; bytes: Buffer }>((resolve, reject) => {
    stream.once('finish', () => (result ? resolve(result) : reject(new Error('blob write ended without a result'))))
    stream.once('error', reject)
    stream.once('close', () => reject(Object.assign(new Error('blob write abandoned'), { code: 'EABORTED' })))
  })
  done.catch(() => undefined)
  return { stream, done }
}

import { randomUUID } from 'node:crypto'
import { open, rename, rm, type FileHandle } from 'node:fs/promises'
import path from 'node:path'
import { Writable } from 'node:stream'
import ssri from 'ssri'
import { SinopiaError } from '../../errors.js'
import { sha512OfFile } from './blob-hash.js'
import { sha512Of } from '../integrity.js'
import { inDir } from '../../fs/dirs.js'
import { statOrNull } from '../../fs/stat.js'

/**
 * Writes one blob: into `<blobs>/tmp/` (same filesystem as the content, so the final rename is
 * atomic), hashing as the bytes pass; then fsync, a second hash of what the file now holds, and
 * only then the rename to `target`. Every write(2) is checked for the bytes it really wrote: a
 * short write on a filling disk is retried, so it fails with ENOSPC rather than leaving a hole
 * (fs-minipass, under cacache's writer, took short writes as complete and so put truncated
 * files at their final address while the digest of the bytes it was given matched).
 * A target that already exists is replaced by the verified bytes (same name, same content, or
 * a bad copy being repaired); readers with the old file open keep reading the old inode.
 */
export function writeBlobFile(
  tmpDir: string,
  target: (sha512: string) => string,
  expected: string,
  size: number | undefined,
  /** Told, just after the rename, the size of the file the blob replaced (null: none was there); awaited before `done`. */
  placed?: (size: number, replaced: number | null) => Promise<void>,
): { stream: Writable; done: Promise<{ integrity: string; size: number }> } {
  const tmp = path.join(tmpDir, `${process.pid}-${randomUUID()}`)
  const wanted = ssri.parse(expected)
  const algorithms = [...new Set(['sha512', wanted.pickAlgorithm()])]
  const hasher = ssri.create({ algorithms })
  let handle: FileHandle | null = null
  let written = 0
  let abandoned = false
  let result: { integrity: string; size: number } | null = null

  const openTmp = async (): Promise<FileHandle> => {
    if (handle) return handle
    handle = await inDir(tmpDir, () => open(tmp, 'wx'))
    return handle
  }

  const commit = async (): Promise<{ integrity: string; size: number }> => {
    const file = await openTmp()
    if (size !== undefined && written !== size) {
      throw Object.assign(new Error(`Bad data size: expected ${size} bytes, but got ${written} instead`), { code: 'EBADSIZE' })
    }
    // ssri types it as a Buffer; it is an Integrity.
    const computed = hasher.digest() as unknown as ssri.Integrity
    if (!wanted.match(computed.toString())) {
      throw Object.assign(new Error(`Integrity check failed: wanted ${expected}, found ${computed.toString()}`), { code: 'EINTEGRITY' })
    }
    // `algorithms` always holds sha512.
    const sha512 = sha512Of(computed.toString()) as string
    await file.sync()
    handle = null
    await file.close()
    // What reached the disk, read back: the only digest a reader may rely on. Through a 64 KiB
    // buffer, one read for most tarballs: a read stream of 1 MiB chunks allocated 2 MiB per
    // publish of a small tarball, which the garbage collector then spent its time on.
    const onDisk = await sha512OfFile(tmp)
    if (!onDisk || `sha512-${onDisk.digest}` !== sha512 || onDisk.size !== written) {
      throw new SinopiaError('ECORRUPT', `the blob written to ${tmp} reads back as ${onDisk?.size ?? 'no'} bytes with another digest`, {
        hint: 'the storage volume returned other bytes than were written to it: check the disk',
      })
    }
    const destination = target(sha512)
    const before = placed ? await statOrNull(destination) : null
    await inDir(path.dirname(destination), () => rename(tmp, destination))
    const told = placed?.(written, before ? before.size : null)
    await syncDir(path.dirname(destination))
    await told
    return { integrity: sha512, size: written }
  }

  const cleanup = async (): Promise<void> => {
    const file = handle
    handle = null
    await file?.close().catch(() => undefined)
    if (!result) await rm(tmp, { force: true })
  }

  const stream = new Writable({
    highWaterMark: 1024 * 1024,
    write(chunk: Buffer, _encoding, callback) {
      ;(async () => {
        const file = await openTmp()
        // Destroyed while the temp file was being created: the cleanup ran before it existed.
        if (abandoned) return cleanup()
        written += chunk.length
        if (size !== undefined && written > size) {
          throw Object.assign(new Error(`Bad data size: expected ${size} bytes, but got more`), { code: 'EBADSIZE' })
        }
        hasher.update(chunk)
        await writeAll(file, chunk)
      })().then(() => callback(), callback)
    },
    final(callback) {
      commit().then((r) => {
        result = r
        callback()
      }, callback)
    },
    destroy(error, callback) {
      abandoned = true
      cleanup().then(
        () => callback(error),
        () => callback(error),
      )
    },
  })
  const done = new Promise<{ integrity: string; size: number }>((resolve, reject) => {
    stream.once('finish', () => (result ? resolve(result) : reject(new Error('blob write ended without a result'))))
    stream.once('error', reject)
    stream.once('close', () => reject(Object.assign(new Error('blob write abandoned'), { code: 'EABORTED' })))
  })
  done.catch(() => undefined)
  return { stream, done }
}

/** write(2) may write less than asked (a filling disk): go on until all is written or it fails. */
async function writeAll(file: FileHandle, chunk: Buffer): Promise<void> {
  let offset = 0
  while (offset < chunk.length) {
    const { bytesWritten } = await file.write(chunk, offset, chunk.length - offset, null)
    if (bytesWritten === 0) throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC', syscall: 'write' })
    offset += bytesWritten
  }
}

/** Makes a rename durable: without it a power cut can lose a publish that was acknowledged. */
async function syncDir(dir: string): Promise<void> {
  const handle = await open(dir, 'r')
  try {
    await handle.sync()
  } finally {
    await handle.close()
  }
}

import { randomBytes } from 'node:crypto'
import { open, rename, rm } from 'node:fs/promises'
import path from 'node:path'

/**
 * Writes `data` to `file` so that readers see the old content or the new, never a mix:
 * temp file in the same folder (same filesystem, so rename is atomic), fsync, rename.
 * The temp name carries the pid so two processes sharing a store never collide.
 * `mode` is set on the temp file before any byte is written, so a secret is never readable
 * by others, not even for a moment, and an older file's wider mode goes with it.
 */
export async function writeFileAtomic(file: string, data: string | Buffer, options: { mode?: number } = {}): Promise<void> {
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`)
  let renamed = false
  try {
    const handle = await open(tmp, 'wx', options.mode ?? 0o666)
    try {
      // The umask may have narrowed the mode given to open(); chmod sets it exactly.
      if (options.mode !== undefined) await handle.chmod(options.mode)
      await handle.writeFile(data)
      await handle.sync()
    } finally {
      await handle.close()
    }
    await rename(tmp, file)
    renamed = true
  } finally {
    if (!renamed) await rm(tmp, { force: true })
  }
}

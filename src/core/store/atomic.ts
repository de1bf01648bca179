import { randomBytes } from 'node:crypto'
import { open, rename, rm } from 'node:fs/promises'
import path from 'node:path'

/**
 * Writes `data` to `file` so that readers see the old content or the new, never a mix:
 * temp file in the same folder (same filesystem, so rename is atomic), fsync, rename.
 * The temp name carries the pid so two processes sharing a store never collide.
 */
export async function writeFileAtomic(file: string, data: string | Buffer): Promise<void> {
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`)
  let renamed = false
  try {
    const handle = await open(tmp, 'wx')
    try {
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

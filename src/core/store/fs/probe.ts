import { readFile, rm } from 'node:fs/promises'
import path from 'node:path'
import { writeFileAtomic } from '../../fs/atomic.js'

/**
 * Whether the storage takes writes now: a small file written (fsync, rename), read back and
 * removed, in the storage root. Throws the write's error (EROFS, ENOSPC, EACCES, ...).
 * The name carries the pid, so processes sharing a storage never touch each other's probe.
 */
export async function probeWritable(root: string): Promise<void> {
  const file = path.join(root, `.probe-${process.pid}`)
  const stamp = `${Date.now()}\n`
  try {
    await writeFileAtomic(file, stamp)
    if ((await readFile(file, 'utf8')) !== stamp) throw new Error(`${file} did not read back as written`)
  } finally {
    await rm(file, { force: true }).catch(() => undefined)
  }
}

import { mkdir } from 'node:fs/promises'
import { errnoCode } from '../errors.js'

/**
 * mkdir -p that reports the real cause: Node's recursive mkdir says ENOENT where mkdir(2) said
 * EROFS (a storage volume remounted read-only), which would read as a bug instead of a disk state.
 */
export async function ensureDir(dir: string): Promise<void> {
  try {
    await mkdir(dir, { recursive: true })
  } catch (error) {
    if (errnoCode(error) !== 'ENOENT') throw error
    try {
      await mkdir(dir)
    } catch (again) {
      if (errnoCode(again) === 'EEXIST') return
      throw errnoCode(again) === 'ENOENT' ? error : again
    }
  }
}

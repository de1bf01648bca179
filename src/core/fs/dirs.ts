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

/**
 * Runs `fn`, and once more after making `dir` when it failed with ENOENT: for writes into a
 * folder that almost always exists already, where an ensureDir first would cost a mkdir and a
 * stat on every write (two trips through the thread pool per file the store writes).
 */
export async function inDir<T>(dir: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn()
  } catch (error) {
    if (errnoCode(error) !== 'ENOENT') throw error
    await ensureDir(dir)
    return fn()
  }
}

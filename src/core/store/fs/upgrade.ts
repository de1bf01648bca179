import { appendFileSync, mkdirSync, readFileSync, readdirSync, rmdirSync, unlinkSync } from 'node:fs'
import path from 'node:path'
import { errnoCode } from '../../errors.js'
import { writeFileAtomic } from '../../fs/atomic.js'
import { TimeSlice } from '../../fs/time-slice.js'
import { entriesFileOf, formatLine, lastLines } from './entries.js'
import { STORE_FORMAT, entriesDir, formatFile, formatOneIndexDir } from './layout.js'
import { eachFile } from './listing.js'

/**
 * Upgrades a format 1 storage folder to format 2 (see layout.ts): the live entry of every key
 * of cacache's index-v5 (one bucket file per key) is appended to its package's entries file and
 * the bucket is removed, then the old index's folders, and only then is the new format written. Nothing else changes: the
 * content, the documents and the usage records are the same in both formats.
 *
 * Call under the store's format lock, before anything else uses the folder. A crash at any
 * point leaves format 1, and the next open does it again: an entry appended twice reads as once
 * (the last line of a key wins), and a bucket is removed only after its entries were appended
 * (on a journaling file system the removal is not on disk before the append is).
 * Blocking reads and appends, one bucket at a time, with turns of the event loop between (the
 * lock's refresh timer must run): ~1 minute for a million entries.
 */
export async function upgradeFromFormatOne(root: string, blobsDir: string): Promise<{ entries: number }> {
  const slice = new TimeSlice()
  mkdirSync(entriesDir(blobsDir), { recursive: true })
  let entries = 0
  for (const bucket of eachFile(formatOneIndexDir(blobsDir))) {
    for (const line of lastLines(readOrEmpty(bucket.path)).latest.values()) {
      if (line.integrity === null) continue
      appendFileSync(entriesFileOf(blobsDir, line.key), formatLine(line))
      entries++
    }
    unlinkSync(bucket.path)
    await slice.pause()
  }
  // The emptied folders, deepest first. Not fs.rm: its recursive walk starts the removal of a
  // whole tree at once, which held 2 GB for the million buckets of a 1M-tarball store.
  const index = formatOneIndexDir(blobsDir)
  for (const a of namesIn(index)) {
    for (const b of namesIn(path.join(index, a))) removeDir(path.join(index, a, b))
    removeDir(path.join(index, a))
    await slice.pause()
  }
  removeDir(index)
  await writeFileAtomic(formatFile(root), JSON.stringify({ format: STORE_FORMAT }) + '\n')
  return { entries }
}

function removeDir(dir: string): void {
  try {
    rmdirSync(dir)
  } catch (error) {
    if (errnoCode(error) !== 'ENOENT') throw error
  }
}

function namesIn(dir: string): string[] {
  try {
    return readdirSync(dir)
  } catch (error) {
    if (errnoCode(error) === 'ENOENT') return []
    throw error
  }
}

function readOrEmpty(file: string): string {
  try {
    return readFileSync(file, 'utf8')
  } catch (error) {
    if (errnoCode(error) === 'ENOENT') return ''
    throw error
  }
}

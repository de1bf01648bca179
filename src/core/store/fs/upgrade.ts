import { appendFileSync, mkdirSync, readFileSync } from 'node:fs'
import { rm } from 'node:fs/promises'
import { errnoCode } from '../../errors.js'
import { writeFileAtomic } from '../../fs/atomic.js'
import { TimeSlice } from '../../fs/time-slice.js'
import { entriesFileOf, formatLine, lastLines } from './entries.js'
import { STORE_FORMAT, entriesDir, formatFile, formatOneIndexDir } from './layout.js'
import { eachFile } from './listing.js'

/**
 * Upgrades a format 1 storage folder to format 2 (see layout.ts): the live entry of every key
 * of cacache's index-v5 (one bucket file per key) is appended to its package's entries file, the
 * old index is removed, and only then is the new format written. Nothing else changes: the
 * content, the documents and the usage records are the same in both formats.
 *
 * Call under the store's format lock, before anything else uses the folder. A crash at any
 * point leaves format 1, and the next open does it again: an entry appended twice reads as once
 * (the last line of a key wins), and buckets already removed had their entries appended first.
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
    await slice.pause()
  }
  await rm(formatOneIndexDir(blobsDir), { recursive: true, force: true })
  await writeFileAtomic(formatFile(root), JSON.stringify({ format: STORE_FORMAT }) + '\n')
  return { entries }
}

function readOrEmpty(file: string): string {
  try {
    return readFileSync(file, 'utf8')
  } catch (error) {
    if (errnoCode(error) === 'ENOENT') return ''
    throw error
  }
}

import { spawnSync } from 'node:child_process'
import { appendFileSync, mkdirSync, readFileSync, readdirSync, rmSync, rmdirSync, unlinkSync } from 'node:fs'
import path from 'node:path'
import { errnoCode } from '../../errors.js'
import { writeFileAtomic } from '../../fs/atomic.js'
import { TimeSlice } from '../../fs/time-slice.js'
import { entriesFileOf, formatLine, lastLines } from './entries.js'
import { STORE_FORMAT, entriesDir, formatFile, formatOneIndexDir } from './layout.js'
import { eachFile } from './listing.js'

/** What format.json says while an upgrade runs: a format 1 reader refuses it (it reads only 1). */
export const UPGRADING = { format: STORE_FORMAT, upgrading: 1 }

/**
 * Upgrades a format 1 storage folder to format 2 (see layout.ts): the live entry of every key
 * of cacache's index-v5 (one bucket file per key) is appended to its package's entries file.
 * Nothing else changes: the content, the documents and the usage records are the same in both.
 *
 * Call under the store's format lock, before anything else uses the folder. Crash-safe by order:
 * 1. format.json becomes UPGRADING first, so an older version refuses the folder from then on
 *    (its prune would take every moved entry's content for an orphan);
 * 2. the entries are appended, index-v5 left as it is;
 * 3. the file system is synced (syncfs, through coreutils' `sync -f`: one call where an fsync per
 *    entries file would be 100,000), so the appends are on disk before anything says they are;
 * 4. format.json becomes format 2, and only then is index-v5 removed (removeFormatOneIndex).
 * A crash before 4 leaves UPGRADING and index-v5 whole: the next open does it all again (an
 * entry appended twice reads as once, the last line of a key winning). A crash during the removal
 * leaves a part of index-v5, removed by the next open.
 *
 * Blocking reads and appends, one bucket at a time, with turns of the event loop between (the
 * lock's refresh timer must run): 42 s for 109,000 entries on a 2-core machine.
 */
export async function upgradeFromFormatOne(root: string, blobsDir: string): Promise<{ entries: number }> {
  const slice = new TimeSlice()
  await writeFileAtomic(formatFile(root), JSON.stringify(UPGRADING) + '\n')
  mkdirSync(entriesDir(blobsDir), { recursive: true })
  let entries = 0
  for (const bucket of eachFile(formatOneIndexDir(blobsDir))) {
    for (const line of lastLines(readBucket(bucket.path)).latest.values()) {
      if (line.integrity === null) continue
      appendFileSync(entriesFileOf(blobsDir, line.key), formatLine(line))
      entries++
    }
    await slice.pause()
  }
  syncFileSystem(blobsDir)
  await writeFileAtomic(formatFile(root), JSON.stringify({ format: STORE_FORMAT }) + '\n')
  await removeFormatOneIndex(blobsDir)
  return { entries }
}

/**
 * Removes what is left of format 1's index once format 2 is written, one folder at a time; best
 * effort (what it cannot remove stays, for the next open to try again). Not fs.rm: its recursive
 * walk starts the removal of a whole tree at once, which held 2 GB for the million buckets of a
 * 1M-tarball store.
 */
export async function removeFormatOneIndex(blobsDir: string): Promise<void> {
  const slice = new TimeSlice()
  const index = formatOneIndexDir(blobsDir)
  for (const a of namesIn(index)) {
    for (const b of namesIn(path.join(index, a))) {
      for (const rest of namesIn(path.join(index, a, b))) quietly(() => removeOne(path.join(index, a, b, rest)))
      quietly(() => rmdirSync(path.join(index, a, b)))
      await slice.pause()
    }
    quietly(() => rmdirSync(path.join(index, a)))
  }
  quietly(() => rmdirSync(index))
}

/** syncfs(2) of the file system holding `dir`; a plain sync where `sync -f` is missing. */
function syncFileSystem(dir: string): void {
  const synced = spawnSync('sync', ['-f', dir], { stdio: 'ignore' })
  if (synced.status !== 0) spawnSync('sync', [], { stdio: 'ignore' })
}

/** A bucket file; anything else found in its place (a stray folder) with all it holds. */
function removeOne(file: string): void {
  try {
    unlinkSync(file)
  } catch (error) {
    if (errnoCode(error) !== 'EISDIR' && errnoCode(error) !== 'EPERM') throw error
    rmSync(file, { recursive: true, force: true })
  }
}

function quietly(fn: () => void): void {
  try {
    fn()
  } catch {
    // Best effort: see removeFormatOneIndex.
  }
}

function namesIn(dir: string): string[] {
  try {
    return readdirSync(dir)
  } catch {
    return []
  }
}

/** A bucket's text; '' for anything that is not a readable file (a stray folder, one gone meanwhile). */
function readBucket(file: string): string {
  try {
    return readFileSync(file, 'utf8')
  } catch (error) {
    if (errnoCode(error) === 'ENOENT' || errnoCode(error) === 'EISDIR') return ''
    throw error
  }
}

import { createHash } from 'node:crypto'
import { readFileSync, readdirSync, statSync } from 'node:fs'
import path from 'node:path'
import cacache from 'cacache'
import { errnoCode } from '../../errors.js'
import { TimeSlice } from '../../fs/time-slice.js'
import { sha512Of } from '../integrity.js'
import type { BlobEntry } from '../types.js'

/** One file of blob content; its path is its digest (see layout.ts). */
export interface ContentFile {
  integrity: string
  hex: string
  path: string
  size: number
  mtimeMs: number
}

/** What a line of a cacache index bucket holds (index-v5: `<sha1 of the JSON>\t<JSON>`, appended per write). */
interface IndexLine {
  key?: unknown
  integrity?: string | null
  size?: number
  time?: number
}

/**
 * Every live entry of the cacache index under `blobsDir`, one bucket file at a time, in the
 * order of the buckets' hashed names (no order a caller may rely on); entries without a sha512
 * digest are skipped. Read here rather than through cacache.ls.stream(), which writes every
 * entry of the index into its stream without waiting for the reader, so a slow consumer (verify,
 * a migration) would hold the whole index in memory: this walk holds one folder listing and one
 * bucket file (a few lines) at a time. The format is cacache's on-disk index-v5: lines whose sha1
 * does not match are torn writes and skipped, the last line of a key wins, a null integrity is
 * a deletion (all as cacache itself reads them).
 *
 * The bucket files are read with blocking calls, the event loop getting a turn every few ms (see
 * TimeSlice): through the thread pool, 16 reads in flight, 109,000 buckets cost ~14 s of CPU on
 * a loaded 2-core machine, nearly all of it the round trips of an open, a stat, a read and a close each.
 */
export async function* eachIndexEntry(blobsDir: string): AsyncGenerator<BlobEntry> {
  const slice = new TimeSlice()
  for (const bucket of eachFile(path.join(blobsDir, 'index-v5'))) {
    yield* bucketEntries(readTextOrEmpty(bucket.path))
    await slice.pause()
  }
}

/** A bucket file's text; '' when it was removed while we walked (the last entry of its key went). */
function readTextOrEmpty(file: string): string {
  try {
    return readFileSync(file, 'utf8')
  } catch (error) {
    if (errnoCode(error) === 'ENOENT') return ''
    throw error
  }
}

/** The live entries of one bucket file's text: the last line of each key, unless it is a deletion. */
export function bucketEntries(text: string): BlobEntry[] {
  const latest = new Map<string, IndexLine>()
  for (const line of text.split('\n')) {
    const tab = line.indexOf('\t')
    if (tab < 0) continue
    const json = line.slice(tab + 1)
    if (createHash('sha1').update(json).digest('hex') !== line.slice(0, tab)) continue
    let parsed: IndexLine
    try {
      parsed = JSON.parse(json) as IndexLine
    } catch {
      continue
    }
    if (parsed && typeof parsed.key === 'string') latest.set(parsed.key, parsed)
  }
  const out: BlobEntry[] = []
  for (const [key, line] of latest) {
    const integrity = sha512Of(line.integrity ?? undefined)
    if (integrity) out.push({ key, integrity, size: line.size ?? 0, time: line.time ?? 0 })
  }
  return out
}

/** The live entry of `key`, or null. */
export async function readEntry(blobsDir: string, key: string): Promise<BlobEntry | null> {
  const info = await cacache.get.info(blobsDir, key)
  const integrity = info ? sha512Of(info.integrity) : null
  return info && integrity ? { key, integrity, size: info.size ?? 0, time: info.time } : null
}

/** Removes `key` from the index (its bucket file, not a tombstone); the content is left alone. */
export async function removeEntry(blobsDir: string, key: string): Promise<void> {
  await (cacache.rm.entry as (cache: string, key: string, opts: { removeFully: boolean }) => Promise<unknown>)(blobsDir, key, { removeFully: true })
}

/**
 * Every content file: content-v2/sha512/ab/cd/<rest> is the blob whose sha512 hex digest is
 * "abcd<rest>". Anything else found there (temp names, other algorithms) is skipped. Stat-ed
 * with blocking calls between turns of the event loop, as eachIndexEntry reads.
 */
export async function* listContent(blobsDir: string): AsyncGenerator<ContentFile> {
  const slice = new TimeSlice()
  for (const found of contentFiles(blobsDir)) {
    // Removed while we walked (a prune, an unpublish): not there any more.
    const info = statSync(found.path, { throwIfNoEntry: false })
    if (info?.isFile()) yield { integrity: integrityOfHex(found.name), hex: found.name, path: found.path, size: info.size, mtimeMs: info.mtimeMs }
    await slice.pause()
  }
}

/** The content files' names (their sha512 hex digests) and paths, one folder listing held at a time. */
export function* contentFiles(blobsDir: string): Generator<{ name: string; path: string }> {
  for (const found of eachFile(path.join(blobsDir, 'content-v2', 'sha512'))) if (/^[0-9a-f]{128}$/.test(found.name)) yield found
}

/** sha512-<base64> of a hex digest. */
export function integrityOfHex(hex: string): string {
  return `sha512-${Buffer.from(hex, 'hex').toString('base64')}`
}

/**
 * Every name three folders down from `root` (cacache's `ab/cd/<rest>` fan-out, content and index
 * alike), with the three parts joined: one folder listing held at a time.
 */
function* eachFile(root: string): Generator<{ name: string; path: string }> {
  for (const a of names(root)) {
    for (const b of names(path.join(root, a))) {
      for (const rest of names(path.join(root, a, b))) yield { name: a + b + rest, path: path.join(root, a, b, rest) }
    }
  }
}

function names(dir: string): string[] {
  try {
    return readdirSync(dir).sort()
  } catch (error) {
    if (errnoCode(error) === 'ENOENT' || errnoCode(error) === 'ENOTDIR') return []
    throw error
  }
}

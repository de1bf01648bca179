import { createHash } from 'node:crypto'
import { readFile, readdir, stat } from 'node:fs/promises'
import path from 'node:path'
import cacache from 'cacache'
import ssri from 'ssri'
import { errnoCode } from '../../errors.js'
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
 */
export async function* eachIndexEntry(blobsDir: string): AsyncGenerator<BlobEntry> {
  const texts = readAhead(eachFile(path.join(blobsDir, 'index-v5')), async (bucket) => {
    try {
      return await readFile(bucket.path, 'utf8')
    } catch (error) {
      // Removed while we walked (the last entry of its key went).
      if (errnoCode(error) === 'ENOENT') return ''
      throw error
    }
  })
  for await (const text of texts) yield* bucketEntries(text)
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
 * "abcd<rest>". Anything else found there (temp names, other algorithms) is skipped.
 */
export async function* listContent(blobsDir: string): AsyncGenerator<ContentFile> {
  const files = (async function* () {
    for await (const found of eachFile(path.join(blobsDir, 'content-v2', 'sha512'))) if (/^[0-9a-f]{128}$/.test(found.name)) yield found
  })()
  const stated = readAhead(files, async (found) => {
    try {
      return { found, info: await stat(found.path) }
    } catch (error) {
      // Removed while we walked (a prune, an unpublish): not there any more.
      if (errnoCode(error) === 'ENOENT') return null
      throw error
    }
  })
  for await (const item of stated) {
    if (!item?.info.isFile()) continue
    const { found, info } = item
    yield { integrity: ssri.fromHex(found.name, 'sha512').toString(), hex: found.name, path: found.path, size: info.size, mtimeMs: info.mtimeMs }
  }
}

/**
 * Reads (stats, bucket files) of a walk kept in flight at once. One at a time, each waits its turn
 * on the thread pool: 109,000 index buckets took 42 s on a loaded 2-core machine.
 */
const READ_AHEAD = 16

/** `read` of each item, up to READ_AHEAD of them at once, yielded in the items' order: what is held is that window. */
async function* readAhead<T, R>(items: AsyncIterable<T>, read: (item: T) => Promise<R>): AsyncGenerator<R> {
  const window: Array<Promise<R>> = []
  for await (const item of items) {
    const pending = read(item)
    // Observed when its turn comes; an early failure must not go unhandled meanwhile.
    pending.catch(() => undefined)
    window.push(pending)
    if (window.length >= READ_AHEAD) yield await (window.shift() as Promise<R>)
  }
  while (window.length > 0) yield await (window.shift() as Promise<R>)
}

/**
 * Every name three folders down from `root` (cacache's `ab/cd/<rest>` fan-out, content and index
 * alike), with the three parts joined: one folder listing held at a time.
 */
async function* eachFile(root: string): AsyncGenerator<{ name: string; path: string }> {
  for (const a of await names(root)) {
    for (const b of await names(path.join(root, a))) {
      for (const rest of await names(path.join(root, a, b))) yield { name: a + b + rest, path: path.join(root, a, b, rest) }
    }
  }
}

async function names(dir: string): Promise<string[]> {
  try {
    return (await readdir(dir)).sort()
  } catch (error) {
    if (errnoCode(error) === 'ENOENT' || errnoCode(error) === 'ENOTDIR') return []
    throw error
  }
}

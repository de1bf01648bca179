import { readdir, stat } from 'node:fs/promises'
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

/** What cacache's listing stream yields per live index entry (its types say otherwise). */
interface IndexEntry {
  key: string
  integrity?: string
  size?: number
  time: number
}

/**
 * Every live entry of the cacache index under `blobsDir`. Entries without a sha512 digest are
 * skipped. Taken one at a time from cacache's stream and kept in the returned shape only:
 * cacache.ls() first gathers every raw entry (with its content path and metadata) into an
 * array and then into one object, several times the size of this list at its peak.
 */
export async function listEntries(blobsDir: string): Promise<BlobEntry[]> {
  const out: BlobEntry[] = []
  // A key lives in the one bucket its hash names, and the stream yields each bucket's live entry per key once.
  for await (const entry of cacache.ls.stream(blobsDir) as unknown as AsyncIterable<IndexEntry>) {
    const integrity = sha512Of(entry.integrity)
    if (integrity) out.push({ key: entry.key, integrity, size: entry.size ?? 0, time: entry.time })
  }
  return out.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))
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
  const root = path.join(blobsDir, 'content-v2', 'sha512')
  for (const a of await names(root)) {
    for (const b of await names(path.join(root, a))) {
      for (const rest of await names(path.join(root, a, b))) {
        const hex = a + b + rest
        if (!/^[0-9a-f]{128}$/.test(hex)) continue
        const file = path.join(root, a, b, rest)
        let info
        try {
          info = await stat(file)
        } catch (error) {
          // Removed while we walked (a prune, an unpublish): not there any more.
          if (errnoCode(error) === 'ENOENT') continue
          throw error
        }
        if (!info.isFile()) continue
        yield { integrity: ssri.fromHex(hex, 'sha512').toString(), hex, path: file, size: info.size, mtimeMs: info.mtimeMs }
      }
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

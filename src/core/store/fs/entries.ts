import { hash } from 'node:crypto'
import { readFileSync, readdirSync } from 'node:fs'
import { appendFile, readFile, rm } from 'node:fs/promises'
import path from 'node:path'
import { errnoCode } from '../../errors.js'
import { writeFileAtomic } from '../../fs/atomic.js'
import { inDir } from '../../fs/dirs.js'
import type { KeyedLock } from '../../fs/lock.js'
import { TimeSlice } from '../../fs/time-slice.js'
import { sha512Of } from '../integrity.js'
import { packageOfKey } from '../keys.js'
import type { BlobEntry } from '../types.js'
import { entriesDir, entriesLock } from './layout.js'

/**
 * One line of an entries file: `\n<sha1 hex of the JSON>\t<JSON>`, appended per change. The same
 * line as a cacache index-v5 bucket's, so format 1's lines carry over as they are (upgrade.ts).
 * A null integrity removes the key.
 */
export interface EntryLine {
  key: string
  integrity: string | null
  time: number
  size: number
  /** `{verified: 1}`: the bytes were hashed after they reached the disk (see blobs.ts). */
  metadata?: { verified?: unknown } | null
}

/**
 * The name of the entries file a key is kept in: its package's name percent-encoded (see
 * layout.ts), a leading `.` too (encodeURIComponent leaves it), so that no name is `.`, `..` or
 * hidden like a temp file. A real `%` is always encoded as `%25`: no two names meet.
 */
export function entriesFileName(key: string): string {
  const encoded = encodeURIComponent(packageOfKey(key) ?? key)
  return encoded.startsWith('.') ? `%2E${encoded.slice(1)}` : encoded
}

export const entriesFileOf = (blobsDir: string, key: string) => path.join(entriesDir(blobsDir), entriesFileName(key))

/** A live entry as the blob store reads it back. */
export interface StoredEntry extends BlobEntry {
  verified: boolean
}

/**
 * The sha1 hex a line starts with, of its JSON. One-shot: a walk checks a million lines, and
 * crypto.hash took 0.55 s for them where a Hash object each took 1.4 s.
 */
const lineSum = (json: string) => hash('sha1', json, 'hex')

/**
 * A line as appended: the newline comes first, so that a torn append (a crash mid-write leaves
 * no newline after it) stays a line of its own, skipped, instead of swallowing the next one.
 */
export function formatLine(line: EntryLine): string {
  const json = JSON.stringify(line)
  return `\n${lineSum(json)}\t${json}`
}

/**
 * The last line of each key in `text`, removals included. A line whose sha1 does not match is a
 * torn write (a crash mid-append) and is skipped, as is one that is not an entry.
 */
export function lastLines(text: string): { lines: number; latest: Map<string, EntryLine> } {
  const latest = new Map<string, EntryLine>()
  let lines = 0
  for (const line of text.split('\n')) {
    const tab = line.indexOf('\t')
    if (tab < 0) continue
    const json = line.slice(tab + 1)
    if (lineSum(json) !== line.slice(0, tab)) continue
    let parsed: Partial<EntryLine> | null
    try {
      parsed = JSON.parse(json) as Partial<EntryLine> | null
    } catch {
      continue
    }
    if (!parsed || typeof parsed.key !== 'string') continue
    lines++
    // Set right in place (a walk meets a million lines: no second object each).
    if (typeof parsed.integrity !== 'string') parsed.integrity = null
    if (typeof parsed.time !== 'number') parsed.time = 0
    if (typeof parsed.size !== 'number') parsed.size = 0
    latest.set(parsed.key, parsed as EntryLine)
  }
  return { lines, latest }
}

/** The live entry a line stands for: a sha512 integrity is what the blob store serves by. */
export function liveEntry(line: EntryLine): StoredEntry | null {
  const integrity = sha512Of(line.integrity ?? undefined)
  if (!integrity) return null
  return { key: line.key, integrity, size: line.size, time: line.time, verified: line.metadata?.verified === 1 }
}

/**
 * The blob index of a storage folder, format 2: one entries file per package under
 * `blobs/entries/`, holding the keys of that package's tarballs and attestations (a key of no
 * package has a file of its own name). One file per package, not per key as cacache's index-v5
 * had: a walk of the whole index (storage info, verify, prune) reads as many files as there are
 * packages, ten times fewer than tarballs in a typical cache, and a package's versions are read
 * together.
 *
 * Every change of a file (an append, a removal, a compaction) is made under its cross-process
 * lock (`blobs/entries.locks/<file>`), so a compaction, which rewrites the file, never drops a
 * line another process appended. Reads take no lock: appends are whole lines (O_APPEND) and a
 * compaction replaces the file by rename, so a reader sees one state or the next.
 */
export class FsEntries {
  constructor(
    readonly blobsDir: string,
    private readonly lock: KeyedLock,
  ) {}

  /** The live entry of `key`, or null. */
  async get(key: string): Promise<StoredEntry | null> {
    const line = (await this.read(this.file(entriesFileName(key)))).latest.get(key)
    return line ? liveEntry(line) : null
  }

  /** Points `key` at content (`time` defaults to now). */
  async put(key: string, entry: { integrity: string; size: number; time?: number; verified: boolean }): Promise<void> {
    const line = formatLine({ key, integrity: entry.integrity, time: entry.time ?? Date.now(), size: entry.size, metadata: entry.verified ? { verified: 1 } : null })
    const name = entriesFileName(key)
    const file = this.file(name)
    await this.withLock(name, () => inDir(path.dirname(file), () => appendFile(file, line)))
  }

  /**
   * Marks `key`'s entry verified (its bytes were hashed on disk: blobs.ts), keeping its time, if
   * it still points at `integrity`: one removed or replaced meanwhile is left as it is.
   */
  async markVerified(key: string, integrity: string): Promise<void> {
    const name = entriesFileName(key)
    const file = this.file(name)
    await this.withLock(name, async () => {
      const line = (await this.read(file)).latest.get(key)
      const entry = line ? liveEntry(line) : null
      if (!line || !entry || entry.integrity !== integrity || entry.verified) return
      await appendFile(file, formatLine({ ...line, metadata: { ...line.metadata, verified: 1 } }))
    })
  }

  /**
   * Removes the entries of `keys` that are there and that `still` accepts (checked under the
   * lock, so what is removed is what was checked); returns them. One step per entries file:
   * removals are lines of their own, unless the file then holds more dead lines than live ones:
   * then it is written again with the live ones only (or removed, when none is left), so a
   * package's file stays near the size of what it holds.
   */
  async remove(keys: readonly string[], still?: (entry: StoredEntry) => boolean): Promise<StoredEntry[]> {
    const byFile = new Map<string, string[]>()
    for (const key of keys) {
      const name = entriesFileName(key)
      const group = byFile.get(name)
      if (group) group.push(key)
      else byFile.set(name, [key])
    }
    const removed: StoredEntry[] = []
    for (const [name, group] of byFile) {
      const file = this.file(name)
      await this.withLock(name, async () => {
        const { lines, latest } = await this.read(file)
        const gone: StoredEntry[] = []
        for (const key of group) {
          const line = latest.get(key)
          const entry = line ? liveEntry(line) : null
          if (!entry || (still && !still(entry))) continue
          gone.push(entry)
          latest.delete(key)
        }
        if (gone.length === 0) return
        const live = [...latest.values()].filter((line) => line.integrity !== null)
        if (live.length === 0) await rm(file, { force: true })
        else if (lines + gone.length - live.length > live.length) await writeFileAtomic(file, live.map(formatLine).join(''))
        else await appendFile(file, gone.map((entry) => formatLine({ key: entry.key, integrity: null, time: Date.now(), size: 0 })).join(''))
        removed.push(...gone)
      })
    }
    return removed
  }

  /** An entries file by its name (entriesFileName). */
  private file(name: string): string {
    return path.join(entriesDir(this.blobsDir), name)
  }

  /** Runs `fn` holding the lock of the entries file `name`. */
  private withLock<T>(name: string, fn: () => Promise<T>): Promise<T> {
    return this.lock.withLock(entriesLock(this.blobsDir, name), fn)
  }

  private async read(file: string): Promise<ReturnType<typeof lastLines>> {
    try {
      return lastLines(await readFile(file, 'utf8'))
    } catch (error) {
      if (errnoCode(error) === 'ENOENT') return { lines: 0, latest: new Map() }
      throw error
    }
  }
}

/**
 * Every live entry of the index under `blobsDir`, one entries file at a time, in the order of
 * their names (no order a caller may rely on): one folder listing and one file held at a time.
 * Read with blocking calls, the event loop getting a turn every few ms (see TimeSlice): it runs
 * on a walk thread (walk-worker.ts), where a trip through the thread pool per file would cost
 * more than the read.
 */
export async function* eachEntry(blobsDir: string): AsyncGenerator<BlobEntry> {
  const slice = new TimeSlice()
  const dir = entriesDir(blobsDir)
  for (const name of namesIn(dir)) {
    // Temp files of a compaction in progress (writeFileAtomic's `.<name>.<pid>...tmp`).
    if (name.startsWith('.')) continue
    for (const line of lastLines(readTextOrEmpty(path.join(dir, name))).latest.values()) {
      const integrity = sha512Of(line.integrity ?? undefined)
      if (integrity) yield { key: line.key, integrity, size: line.size, time: line.time }
    }
    await slice.pause()
  }
}

function namesIn(dir: string): string[] {
  try {
    return readdirSync(dir).sort()
  } catch (error) {
    if (errnoCode(error) === 'ENOENT') return []
    throw error
  }
}

/** A file's text; '' when it was removed while we walked (the last entry of its package went). */
function readTextOrEmpty(file: string): string {
  try {
    return readFileSync(file, 'utf8')
  } catch (error) {
    if (errnoCode(error) === 'ENOENT') return ''
    throw error
  }
}

import { randomBytes } from 'node:crypto'
import { constants } from 'node:fs'
import { link, open, rename, rm, stat, writeFile, type FileHandle } from 'node:fs/promises'
import { errnoCode } from '../../errors.js'
import type { KeyedLock } from '../../fs/lock.js'
import type { Changes } from '../types.js'

/** Past this size the journal is rotated (about 100,000 changes of 40-byte names). */
export const JOURNAL_LIMIT = 4 * 1024 * 1024
/** Appends that find the journal rotated under them write again; more rotations than this in a row is a bug. */
const MAX_RETRIES = 5
/** The header line is `#` and a 12-character id. */
const HEADER_MAX = 64

/**
 * The folder store's change feed (see Packages.changesSince): `changes.log`, one line per write
 * or removal of a served document, by any process. Line 1 is `#<id>`, which names this file
 * (inode numbers come back after a removal, so they cannot); every other line is an
 * encodeURIComponent'd package name. A cursor is `<id>:<byte offset>`.
 *
 * Appends are one small O_APPEND write each, which the kernel never interleaves with another.
 * Past its limit the file is renamed to `changes.1` (replacing the one before) and a new
 * one started, so a reader that polls at least once per rotation still reads every change: its
 * cursor names `changes.1`, whose tail it reads before the new file. An append that lands in
 * the renamed file after the rotation is written again to the new one.
 */
export class ChangeJournal {
  private readonly previous: string
  private readonly lockPath: string

  constructor(
    private readonly file: string,
    private readonly lock: KeyedLock,
    /** Past this size the journal is rotated (smaller in tests). */
    private readonly limit = JOURNAL_LIMIT,
  ) {
    this.previous = `${file.replace(/\.log$/, '')}.1`
    this.lockPath = `${file}.lock`
  }

  /** Records that `name`'s served documents changed (call after the change is in place). */
  async note(name: string): Promise<void> {
    const line = `${encodeURIComponent(name)}\n`
    for (let attempt = 0; attempt < MAX_RETRIES; attempt++) {
      const handle = await this.openForAppend()
      let written: { ino: number; size: number }
      try {
        await handle.write(line)
        written = await handle.stat()
      } finally {
        await handle.close()
      }
      const now = await stat(this.file).catch(() => null)
      // Still the journal: readers will find the line. Else it went into a rotated file, which
      // a reader may have finished already.
      if (now?.ino === written.ino) {
        if (written.size > this.limit) await this.rotate()
        return
      }
    }
  }

  /** Where the journal ends now: changesSince(cursor) later gives what was noted after this. */
  async cursor(): Promise<string> {
    const current = await this.readFrom(this.file, null)
    return `${current.id}:${current.end}`
  }

  async changesSince(cursor: string): Promise<Changes> {
    const split = cursor.lastIndexOf(':')
    const id = cursor.slice(0, split)
    const offset = Number(cursor.slice(split + 1))
    const names = new Set<string>()
    let current = await this.readFrom(this.file, id === '' ? null : { id, offset })
    if (current.names === null) {
      // Rotated since: the rest of the file the cursor is in, then all of the new one.
      const before = await this.readFrom(this.previous, { id, offset }, false)
      if (before.names === null) return { names: null, cursor: `${current.id}:${current.end}` }
      for (const name of before.names) names.add(name)
      current = await this.readFrom(this.file, { id: current.id, offset: 0 })
    }
    for (const name of current.names ?? []) names.add(name)
    return { names: [...names], cursor: `${current.id}:${current.end}` }
  }

  /**
   * The names in `file` after `from.offset` when the file is `from.id` (names null when it is
   * another file), its id, and the offset after its last whole line. `create`: start the file
   * when there is none.
   */
  private async readFrom(file: string, from: { id: string; offset: number } | null, create = true): Promise<{ id: string; end: number; names: string[] | null }> {
    let handle
    try {
      handle = await open(file, 'r')
    } catch (error) {
      if (errnoCode(error) !== 'ENOENT') throw error
      if (!create) return { id: '', end: 0, names: null }
      await this.start()
      return this.readFrom(file, from, false)
    }
    try {
      const { size, ino } = await handle.stat()
      const head = Buffer.alloc(Math.min(size, HEADER_MAX))
      await handle.read(head, 0, head.length, 0)
      const headerEnd = head.indexOf(10)
      // A file without its header (a crash in the middle of rotate) is named by nothing a cursor holds.
      const id = head[0] === 0x23 && headerEnd > 0 ? head.subarray(1, headerEnd).toString() : `unnamed-${ino}`
      const body = headerEnd + 1
      if (!from || from.id !== id) {
        // Another file than the cursor's: only where its last whole line ends is wanted.
        const last = Buffer.alloc(Math.min(size - body, 4096))
        await handle.read(last, 0, last.length, size - last.length)
        return { id, end: Math.max(body, size - last.length + last.lastIndexOf(10) + 1), names: null }
      }
      const start = Math.max(from.offset, body)
      // Only the part after the cursor is read: a poll costs what changed, not the journal's size.
      const tail = Buffer.alloc(Math.max(0, size - start))
      if (tail.length > 0) await handle.read(tail, 0, tail.length, start)
      // A line still being written (never seen on a local disk, but cheap to allow) is left for the next read.
      const whole = tail.lastIndexOf(10) + 1
      const names = whole > 0 ? tail.subarray(0, whole - 1).toString().split('\n').flatMap(nameOf) : []
      return { id, end: start + whole, names }
    } finally {
      await handle.close()
    }
  }

  private async openForAppend(): Promise<FileHandle> {
    for (;;) {
      try {
        // No O_CREAT: a file this created would lack its header.
        return await open(this.file, constants.O_WRONLY | constants.O_APPEND)
      } catch (error) {
        if (errnoCode(error) !== 'ENOENT') throw error
        await this.start()
      }
    }
  }

  /** Creates the journal with its header unless it exists: linked into place whole, so no reader sees it half written. */
  private async start(): Promise<void> {
    const tmp = `${this.file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`
    await writeFile(tmp, `#${randomBytes(9).toString('base64url')}\n`)
    try {
      await link(tmp, this.file)
    } catch (error) {
      if (errnoCode(error) !== 'EEXIST') throw error
    } finally {
      await rm(tmp, { force: true })
    }
  }

  /** Moves a full journal to `changes.1` and starts a new one; one process at a time, and only once per fill. */
  private async rotate(): Promise<void> {
    await this.lock.withLock(this.lockPath, async () => {
      const info = await stat(this.file).catch(() => null)
      if (!info || info.size <= this.limit) return
      await rename(this.file, this.previous)
      await this.start()
    })
  }
}

/** A line's name; a line no name encodes to (a write cut by a crash, joined to the next) is skipped rather than stop the feed there. */
function nameOf(line: string): string[] {
  if (line === '') return []
  try {
    return [decodeURIComponent(line)]
  } catch {
    return []
  }
}

import type { TarballEntry } from './view.js'

/**
 * A package's versions and where each tarball is, for the tarball routes, kept as the view's
 * table text (one row per version, see ViewData.table) and one Int32Array that indexes it.
 *
 * Why not a Map and arrays: a hostile uplink's package may have 100,000 versions, and a package
 * is held twice while cached (the uplink's view and the served one). As maps and strings that is
 * ~600,000 objects on the main thread's heap, each marked by every full garbage collection for
 * as long as the package stays cached: on a loaded 2-core machine those pauses reached half a
 * second. One string and one typed array are two objects, and nothing is built per row on the
 * main thread: the index is made with the table, in the view worker for big documents.
 */

/** Row ends are '\n', fields are split by '\t' (buildView keeps both out of every field). */
const ROW = 10
const FIELD = 9

/**
 * The index of a table: `[rows, slots, rowStart x rows, slot x slots]`. Slots are an open-addressed
 * hash of each row's version (linear probing, at most half full); a slot holds row + 1, 0 is empty.
 */
export function indexTable(table: string): Int32Array {
  const starts: number[] = []
  for (let start = 0; start < table.length; start = rowEnd(table, start) + 1) starts.push(start)
  const rows = starts.length
  let slots = 8
  while (slots < rows * 2) slots *= 2
  const index = new Int32Array(2 + rows + slots)
  index[0] = rows
  index[1] = slots
  index.set(starts, 2)
  const base = 2 + rows
  for (let row = 0; row < rows; row++) {
    const start = starts[row] as number
    const end = fieldEnd(table, start)
    let slot = hashRange(table, start, end) & (slots - 1)
    // A version seen again takes the earlier one's slot: the later row answers for it. (buildView's
    // versions come from an object's keys, so this does not happen there.)
    while (index[base + slot] !== 0 && !sameVersion(table, starts[(index[base + slot] as number) - 1] as number, start, end)) slot = (slot + 1) & (slots - 1)
    index[base + slot] = row + 1
  }
  return index
}

export class VersionIndex {
  private readonly rows: number
  private readonly slots: number
  /** The uplink's own file names that differ from the conventional one (rare) -> version. */
  private readonly owns: Map<string, string>
  private readonly prefix: string

  constructor(
    name: string,
    private readonly table: string,
    private readonly index: Int32Array,
    /** With several uplinks, their names: a row's last field is the index of its version's. */
    private readonly uplinks: string[] = [],
    owns: Array<[file: string, version: string]> = [],
  ) {
    this.rows = index[0] ?? 0
    this.slots = index[1] ?? 0
    this.owns = new Map(owns)
    this.prefix = `${name.slice(name.lastIndexOf('/') + 1)}-`
  }

  get size(): number {
    return this.rows
  }

  /** What this index holds in memory, about (a one-byte string's characters, the typed array). */
  get bytes(): number {
    return this.table.length + this.index.byteLength
  }

  has(version: string): boolean {
    return this.rowOf(version) !== -1
  }

  get(version: string): TarballEntry | undefined {
    const row = this.rowOf(version)
    if (row === -1) return undefined
    const [, expected = '', upstreamUrl = '', , origin = ''] = this.rowText(row).split('\t')
    const uplink = origin === '' ? undefined : this.uplinks[Number(origin)]
    return { version, expected: expected || null, upstreamUrl: upstreamUrl || null, ...(uplink ? { uplink } : {}) }
  }

  /** Every version, in the table's order. */
  *keys(): IterableIterator<string> {
    for (let row = 0; row < this.rows; row++) {
      const start = this.start(row)
      const version = this.table.slice(start, fieldEnd(this.table, start))
      // A version listed twice is named once (where its row is, the later one).
      if (this.rowOf(version) === row) yield version
    }
  }

  /** The version a tarball file name is for: its conventional name first, else the uplink's own. */
  byFile(file: string): string | undefined {
    if (file.startsWith(this.prefix) && file.endsWith('.tgz')) {
      const version = file.slice(this.prefix.length, -'.tgz'.length)
      if (this.has(version)) return version
    }
    return this.owns.get(file)
  }

  private rowOf(version: string): number {
    if (this.rows === 0 || version.includes('\t') || version.includes('\n')) return -1
    const base = 2 + this.rows
    const mask = this.slots - 1
    for (let slot = hashString(version) & mask; ; slot = (slot + 1) & mask) {
      const held = this.index[base + slot] ?? 0
      if (held === 0) return -1
      const start = this.start(held - 1)
      if (this.table.startsWith(version, start) && this.table.charCodeAt(start + version.length) === FIELD) return held - 1
    }
  }

  private start(row: number): number {
    return this.index[2 + row] as number
  }

  private rowText(row: number): string {
    const start = this.start(row)
    return this.table.slice(start, rowEnd(this.table, start))
  }
}

/** Where a row's first field (its version) ends. */
function fieldEnd(table: string, start: number): number {
  for (let i = start; i < table.length; i++) {
    const code = table.charCodeAt(i)
    if (code === FIELD || code === ROW) return i
  }
  return table.length
}

/** Where the row starting at `start` ends (its '\n', or the table's end). */
function rowEnd(table: string, start: number): number {
  const end = table.indexOf('\n', start)
  return end === -1 ? table.length : end
}

/** Whether the versions of the rows starting at `other` and at `start` (ending at `end`) are the same. */
function sameVersion(table: string, other: number, start: number, end: number): boolean {
  if (fieldEnd(table, other) - other !== end - start) return false
  for (let i = 0; i < end - start; i++) if (table.charCodeAt(other + i) !== table.charCodeAt(start + i)) return false
  return true
}

/** FNV-1a over UTF-16 code units: the same for a version inside the table and the one asked for. */
function hashRange(text: string, from: number, to: number): number {
  let hash = 0x811c9dc5
  for (let i = from; i < to; i++) hash = Math.imul(hash ^ text.charCodeAt(i), 0x01000193)
  return hash >>> 0
}

const hashString = (text: string) => hashRange(text, 0, text.length)

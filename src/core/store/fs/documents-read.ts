import { statSync } from 'node:fs'
import { readChunksBlocking } from '../../fs/read-blocking.js'
import { TimeSlice } from '../../fs/time-slice.js'
import type { DocumentKind } from '../documents.js'
import type { ScanDepth, ScannedDocument } from '../scan.js'
import type { StoredText } from '../types.js'
import { fetchedFile, localFile, upstreamFile } from './layout.js'

/** Bytes read at once: a whole document of most packages in one read. */
const SCAN_READ = 64 * 1024

/**
 * Reads packages' documents for a scan of every package (Packages.scan, on its worker threads)
 * with blocking calls, an open, usually one read and a close per document, the event loop
 * getting a turn every few ms: through the thread pool, storage info of 100,000 packages spent
 * ~50 s of CPU on the round trips of the reads and stats of their documents.
 */
export class DocumentReader {
  private readonly slice = new TimeSlice()
  private readonly scratch = Buffer.allocUnsafe(SCAN_READ)
  /** The packument's own: its bytes are checked after the other documents are read. */
  private readonly packumentScratch = Buffer.allocUnsafe(SCAN_READ)

  constructor(private readonly root: string) {}

  /**
   * A package's documents as a scan at `depth` takes them: the fetched record and local.json
   * as text; the packument as bytes at 'parse' (valid until the next call: they may be in a
   * buffer it reuses), stat-ed only below; with 'size' the fetched record too.
   */
  async forScan(name: string, depth: ScanDepth): Promise<Record<DocumentKind, ScannedDocument | null>> {
    await this.slice.pause()
    const upstream = depth === 'parse' ? await this.packument(upstreamFile(this.root, name)) : sizeOnly(upstreamFile(this.root, name))
    const fetched = depth === 'size' ? sizeOnly(fetchedFile(this.root, name)) : await this.text(fetchedFile(this.root, name))
    return { upstream, fetched, local: await this.text(localFile(this.root, name)) }
  }

  private async text(file: string): Promise<StoredText | null> {
    const read = await this.bytes(file, this.scratch)
    return read && { text: read.raw.toString('utf8'), bytes: read.bytes }
  }

  private async packument(file: string): Promise<ScannedDocument | null> {
    const read = await this.bytes(file, this.packumentScratch)
    return read && { text: null, ...read }
  }

  /**
   * A document's bytes: where they were read when one read took them all (valid until the next
   * read into `scratch`), else copied out whole (a chunk may end inside a character).
   */
  private async bytes(file: string, scratch: Buffer): Promise<{ raw: Buffer; bytes: number } | null> {
    let raw: Buffer | null = null
    const parts: Buffer[] = []
    const bytes = await readChunksBlocking(
      file,
      scratch,
      (chunk) => {
        if (chunk.length < scratch.length && parts.length === 0) raw = chunk
        else parts.push(Buffer.from(chunk))
      },
      this.slice,
    )
    if (bytes === null) return null
    return { raw: parts.length > 0 ? Buffer.concat(parts, bytes) : (raw ?? Buffer.alloc(0)), bytes }
  }
}

/** A document's size; not a file is EISDIR, as its read would be (a scan at 'parse' depth). */
function sizeOnly(file: string): ScannedDocument | null {
  const found = statSync(file, { throwIfNoEntry: false })
  if (!found) return null
  if (!found.isFile()) throw Object.assign(new Error(`EISDIR: illegal operation on a directory, read '${file}'`), { code: 'EISDIR', syscall: 'read', path: file })
  return { text: null, bytes: found.size }
}

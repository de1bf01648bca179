import { Header, Pax } from 'tar'

const BLOCK = 512

/**
 * Writes a tar stream entry by entry with fixed metadata (mode 0644, uid/gid 0, no names, one
 * mtime), so the same entries always give the same bytes. Names too long for ustar get a pax
 * header that carries only the path. The caller writes entries in the order it wants them.
 */
export class TarWriter {
  constructor(
    /** Takes the archive's bytes in order; resolves when the next chunk may come (backpressure). */
    private readonly write: (chunk: Buffer) => Promise<void>,
    private readonly mtime: Date,
  ) {}

  /** The header of a file of `size` bytes; its data must follow through `data`, then `pad(size)`. */
  async header(path: string, size: number): Promise<void> {
    const fields = { path, mode: 0o644, uid: 0, gid: 0, size, mtime: this.mtime, type: 'File' as const, uname: '', gname: '' }
    const block = Buffer.alloc(BLOCK)
    const header = new Header(fields)
    if (header.encode(block)) await this.write(new Pax({ path }).encode())
    await this.write(block)
  }

  async data(chunk: Buffer): Promise<void> {
    await this.write(chunk)
  }

  /** Zeroes up to the next 512-byte boundary after `size` bytes of data. */
  async pad(size: number): Promise<void> {
    const rest = size % BLOCK
    if (rest !== 0) await this.write(Buffer.alloc(BLOCK - rest))
  }

  async file(path: string, bytes: Buffer): Promise<void> {
    await this.header(path, bytes.length)
    await this.write(bytes)
    await this.pad(bytes.length)
  }

  /** The two zero blocks that end an archive. */
  async end(): Promise<void> {
    await this.write(Buffer.alloc(BLOCK * 2))
  }
}

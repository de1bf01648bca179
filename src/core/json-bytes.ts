/**
 * JSON.stringify straight to UTF-8 bytes, for documents of megabytes: the big maps (a packument's
 * `versions`, `time`) are serialized one entry at a time into a growing Buffer, so the whole
 * document never exists as one string besides its bytes (an 11 MB document as a string and as
 * bytes at once is 22 MB, where this holds the bytes and one version's text). Same bytes as
 * `Buffer.from(JSON.stringify(value))` for JSON data (what JSON.parse gives, and objects built of it).
 */


/** Unused room kept rather than copied away: at most 1/16 of the bytes. */
const SPARE_FRACTION = 16

/**
 * `depth`: levels of objects written entry by entry. `shared`: the bytes in shared memory, which
 * other threads read where it is (a copy posted to the view worker would be one more document).
 */
export function jsonBytes(value: unknown, { sizeHint = 64 * 1024, depth = 2, shared = false }: { sizeHint?: number; depth?: number; shared?: boolean } = {}): Buffer {
  if (!opened(value, 0, depth) && !shared) return Buffer.from(JSON.stringify(value))
  const out = new ByteSink(sizeHint, shared)
  if (!opened(value, 0, depth)) {
    out.write(JSON.stringify(value))
    return out.done()
  }
  writeObject(out, value as Record<string, unknown>, 0, depth)
  return out.done()
}

/**
 * True for the memory of an array jsonBytes returned with some unused room after it: the array
 * starts it and nothing else uses it, so it may move to another thread whole (see registry/transfer.ts).
 */
export function ownsItsMemory(memory: ArrayBuffer): boolean {
  return roomy.has(memory)
}

const roomy = new WeakSet<ArrayBuffer>()

/** A plain object without toJSON above `depth` (levels of objects opened): its entries are written one by one. */
function opened(value: unknown, level: number, depth: number): boolean {
  return level < depth && value !== null && typeof value === 'object' && !Array.isArray(value) && typeof (value as { toJSON?: unknown }).toJSON !== 'function'
}

function writeObject(out: ByteSink, object: Record<string, unknown>, level: number, depth: number): void {
  out.write('{')
  let first = true
  for (const key of Object.keys(object)) {
    const value = object[key]
    if (opened(value, level + 1, depth)) {
      out.write(`${first ? '' : ','}${JSON.stringify(key)}:`)
      writeObject(out, value as Record<string, unknown>, level + 1, depth)
    } else {
      const text = JSON.stringify(value) as string | undefined
      // JSON.stringify leaves out what has no JSON form (undefined, functions, symbols).
      if (text === undefined) continue
      out.write(`${first ? '' : ','}${JSON.stringify(key)}:${text}`)
    }
    first = false
  }
  out.write('}')
}

/** Bytes appended to a Buffer that grows by half when full; `done` gives them in a Buffer of their exact size. */
class ByteSink {
  private buffer: Buffer
  private used = 0

  constructor(
    hint: number,
    private readonly shared: boolean,
  ) {
    this.buffer = this.alloc(Math.max(1024, hint))
  }

  private alloc(size: number): Buffer {
    return this.shared ? Buffer.from(new SharedArrayBuffer(size)) : Buffer.allocUnsafeSlow(size)
  }

  write(text: string): void {
    // At most 3 bytes per UTF-16 unit; the exact length is only worked out when that might not fit.
    const most = text.length * 3
    if (this.used + most > this.buffer.length) this.grow(Buffer.byteLength(text))
    this.used += this.buffer.write(text, this.used)
  }

  private grow(bytes: number): void {
    if (this.used + bytes <= this.buffer.length) return
    const next = this.alloc(Math.max(this.used + bytes, Math.ceil(this.buffer.length * 1.5)))
    this.buffer.copy(next, 0, 0, this.used)
    this.buffer = next
  }

  /**
   * The bytes, in memory of their own (so they move between threads without a copy, see
   * registry/transfer.ts): the buffer itself when little of it is left unused, else a copy of what was
   * written (a second buffer of the document's size for a moment, where a string was before).
   */
  done(): Buffer {
    if (this.buffer.length - this.used <= this.used / SPARE_FRACTION) {
      if (!this.shared) roomy.add(this.buffer.buffer as ArrayBuffer)
      return this.buffer.subarray(0, this.used)
    }
    const exact = this.alloc(this.used)
    this.buffer.copy(exact, 0, 0, this.used)
    return exact
  }
}

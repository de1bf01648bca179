/**
 * A JSON document's skeleton: its syntax checked byte by byte (RFC 8259, as JSON.parse takes it
 * after a UTF-8 decode), and a much smaller text of the same shape to parse instead. Nesting
 * levels up to `keep` are kept with their keys; a container at level `keep` (the top value is
 * level 0) is written empty, of the same type; every string value is written empty and every
 * number as 0. So `JSON.parse(skeleton)` has every key and every value's type down to level
 * `keep`, and nothing else: for a check of a document's shape that looks no deeper, at a fifth
 * of the cost of parsing it (verify reads every cached packument, gigabytes at 100,000 packages).
 *
 * Null when the bytes are not one JSON value. The scan is exact on valid UTF-8; inside strings
 * it takes any byte from 0x20 up, as the decode before JSON.parse turns a bad sequence into
 * U+FFFD rather than failing.
 */
export function jsonSkeleton(raw: Uint8Array, keep: number): string | null {
  return new SkeletonScan(raw, keep).run()
}

const QUOTE = 0x22
const BACKSLASH = 0x5c
const COMMA = 0x2c
const COLON = 0x3a
const OPEN_ARRAY = 0x5b
const CLOSE_ARRAY = 0x5d
const OPEN_OBJECT = 0x7b
const CLOSE_OBJECT = 0x7d
const MINUS = 0x2d
const PLUS = 0x2b
const DOT = 0x2e
const ZERO = 0x30
const NINE = 0x39

/** Space, tab, line feed, carriage return: JSON's only whitespace. */
const SPACE = new Uint8Array(256)
for (const byte of [0x20, 0x09, 0x0a, 0x0d]) SPACE[byte] = 1
/** The bytes a string holds as they are: any from 0x20 up but the quote and the backslash. */
const PLAIN = new Uint8Array(256).fill(1, 0x20)
PLAIN[QUOTE] = 0
PLAIN[BACKSLASH] = 0
/** The bytes after a backslash that make an escape (`u` is followed by four hex digits). */
const ESCAPE = new Uint8Array(256)
for (const ch of '"\\/bfnrtu') ESCAPE[ch.charCodeAt(0)] = 1
const HEX = new Uint8Array(256)
for (const ch of '0123456789abcdefABCDEF') HEX[ch.charCodeAt(0)] = 1

const LITERALS = [Buffer.from('true'), Buffer.from('false'), Buffer.from('null')]

/**
 * Where skeletons are written, reused (a scan runs start to end at once); grown once to
 * SCRATCH_MAX, and a bigger document's skeleton gets a buffer of its own.
 */
const SCRATCH_MAX = 1024 * 1024
let scratch = Buffer.allocUnsafe(64 * 1024)

class SkeletonScan {
  private at = 0
  /** Open containers, innermost last: true for an object. */
  private readonly open: boolean[] = []
  /** Whether the innermost container was just opened (no member read yet). */
  private fresh = false
  private readonly out: Buffer
  private written = 0

  constructor(
    private readonly raw: Uint8Array,
    private readonly keep: number,
  ) {
    // The skeleton is never longer than the document: everything it writes replaces as much or more.
    if (raw.length > SCRATCH_MAX) this.out = Buffer.allocUnsafe(raw.length)
    else {
      if (scratch.length < raw.length) scratch = Buffer.allocUnsafe(SCRATCH_MAX)
      this.out = scratch
    }
  }

  run(): string | null {
    if (!this.value()) return null
    for (;;) {
      this.space()
      const open = this.open.length
      if (open === 0) return this.at === this.raw.length ? this.out.toString('utf8', 0, this.written) : null
      // In a container: its first member (fresh), or after one, a comma and the next; or its end.
      const inObject = this.open[open - 1] as boolean
      const byte = this.raw[this.at]
      const shown = open <= this.keep
      if (byte === (inObject ? CLOSE_OBJECT : CLOSE_ARRAY)) {
        this.at++
        this.open.pop()
        this.fresh = false
        if (open - 1 <= this.keep) this.emit(byte)
        continue
      }
      if (this.fresh) this.fresh = false
      else {
        if (byte !== COMMA) return null
        this.at++
        if (shown) this.emit(COMMA)
      }
      if (!(inObject ? this.member(shown) : this.value())) return null
    }
  }

  /**
   * One value at the current level. A container is only opened (its members are read by run(),
   * so that the scan's own depth never follows the document's).
   */
  private value(): boolean {
    this.space()
    const shown = this.open.length <= this.keep
    const byte = this.raw[this.at]
    if (byte === OPEN_OBJECT || byte === OPEN_ARRAY) {
      this.at++
      if (shown) this.emit(byte)
      this.open.push(byte === OPEN_OBJECT)
      this.fresh = true
      return true
    }
    if (byte === QUOTE) {
      if (!this.string()) return false
      if (shown) {
        this.emit(QUOTE)
        this.emit(QUOTE)
      }
      return true
    }
    if (byte === MINUS || isDigit(byte)) {
      if (!this.number()) return false
      if (shown) this.emit(ZERO)
      return true
    }
    for (const literal of LITERALS) {
      if (byte !== literal[0]) continue
      if (!this.literal(literal)) return false
      if (shown) for (const b of literal) this.emit(b)
      return true
    }
    return false
  }

  /** A key, its colon and its value. */
  private member(shown: boolean): boolean {
    this.space()
    const start = this.at
    if (this.raw[this.at] !== QUOTE || !this.string()) return false
    if (shown) {
      this.out.set(this.raw.subarray(start, this.at), this.written)
      this.written += this.at - start
    }
    this.space()
    if (this.raw[this.at] !== COLON) return false
    this.at++
    if (shown) this.emit(COLON)
    return this.value()
  }

  /** A string from its opening quote: past its closing one when valid. */
  private string(): boolean {
    const raw = this.raw
    let at = this.at + 1
    for (;;) {
      while (PLAIN[raw[at] as number] === 1) at++
      const byte = raw[at++]
      if (byte === QUOTE) break
      // The end of the bytes, a control character, or an escape.
      if (byte !== BACKSLASH) return false
      const escape = raw[at++] as number
      if (ESCAPE[escape] !== 1) return false
      if (escape !== 0x75) continue
      for (let i = 0; i < 4; i++) if (HEX[raw[at++] as number] !== 1) return false
    }
    this.at = at
    return true
  }

  private number(): boolean {
    const raw = this.raw
    let at = this.at
    if (raw[at] === MINUS) at++
    const digits = () => {
      const from = at
      while (isDigit(raw[at])) at++
      return at > from
    }
    if (raw[at] === ZERO) at++
    else if (!digits()) return false
    if (raw[at] === DOT) {
      at++
      if (!digits()) return false
    }
    if (raw[at] === 0x65 || raw[at] === 0x45) {
      at++
      if (raw[at] === PLUS || raw[at] === MINUS) at++
      if (!digits()) return false
    }
    this.at = at
    return true
  }

  private literal(literal: Buffer): boolean {
    for (let i = 0; i < literal.length; i++) if (this.raw[this.at + i] !== literal[i]) return false
    this.at += literal.length
    return true
  }

  private space(): void {
    while (SPACE[this.raw[this.at] as number] === 1) this.at++
  }

  private emit(byte: number): void {
    this.out[this.written++] = byte
  }
}

function isDigit(byte: number | undefined): boolean {
  return byte !== undefined && byte >= ZERO && byte <= NINE
}

import { base64Value } from '../store/index.js'

/**
 * One small number per content, for what maintenance holds while the index streams past
 * (prune's reference counts, verify's flags), in typed arrays rather than a Map of strings.
 *
 * A content is told apart by 90 bits of its sha512 digest (chars 7..21 of a `sha512-` base64
 * integrity, 6 bits each, in three 30-bit words): two contents sharing them is a chance below
 * 1e-13 even among ten million. The digest's bits are uniform, so the first word is the hash.
 * A slot is 16 bytes (three key words and the value, whose top bit marks the slot used), at
 * most 70 % full: at 1.09M contents ~25 MB, where a Map of short string ids took ~85 MB and
 * a young-generation string per lookup. Any other string (a sha1, a test's "a") is kept by
 * its whole text in a Map beside the table.
 *
 * A value of 0 reads the same as an absent content, so counts can go down to 0 without a delete.
 * A `narrow` table holds values up to 127 in one byte (verify's flags): 13 bytes a slot, ~5 MB
 * less at 1.09M contents.
 */
export class ContentTable {
  private keys: Uint32Array
  private values: Uint32Array | Uint8Array
  private capacity: number
  private used = 0
  private readonly other = new Map<string, number>()
  /** The value's top bit marks a used slot; the bits below it hold the value. */
  private readonly usedBit: number
  private readonly valueMask: number

  /**
   * `expected`: how many contents the caller thinks it will hold (a hint: the table grows past
   * it; one above MAX_EXPECTED, or not a count, is not trusted that far).
   */
  constructor(expected = 0, options: { narrow?: boolean } = {}) {
    const hint = Number.isFinite(expected) && expected > 0 ? Math.min(expected, MAX_EXPECTED) : 0
    this.capacity = Math.max(16, Math.ceil(hint / MAX_LOAD))
    this.keys = new Uint32Array(this.capacity * 3)
    this.usedBit = options.narrow ? 0x80 : 0x80000000
    this.valueMask = this.usedBit - 1
    this.values = this.newValues(this.capacity)
  }

  get(integrity: string): number {
    if (!split(integrity)) return this.other.get(integrity) ?? 0
    const slot = this.find()
    return slot < 0 ? 0 : (this.values[slot] as number) & this.valueMask
  }

  set(integrity: string, value: number): void {
    if (!(value >= 0 && value <= this.valueMask && Number.isInteger(value))) throw new RangeError(`content table value out of range: ${value}`)
    if (!split(integrity)) {
      this.other.set(integrity, value)
      return
    }
    let slot = this.find()
    if (slot < 0) {
      if (this.used + 1 > this.capacity * MAX_LOAD) {
        this.grow()
        slot = this.find()
      }
      slot = ~slot
      this.keys[slot * 3] = word[0] as number
      this.keys[slot * 3 + 1] = word[1] as number
      this.keys[slot * 3 + 2] = word[2] as number
      this.used++
    }
    this.values[slot] = (this.usedBit | value) >>> 0
  }

  /** Adds `delta` to the content's value and returns the new one. */
  add(integrity: string, delta: number): number {
    const value = this.get(integrity) + delta
    this.set(integrity, value)
    return value
  }

  /** ORs `bits` into the content's value and returns the new one. */
  mark(integrity: string, bits: number): number {
    const value = this.get(integrity) | bits
    this.set(integrity, value)
    return value
  }

  /** Every value held (0 for a content counted down to nothing), in no particular order. */
  *eachValue(): Generator<number> {
    for (let slot = 0; slot < this.capacity; slot++) {
      const value = this.values[slot] as number
      if (value & this.usedBit) yield value & this.valueMask
    }
    yield* this.other.values()
  }

  /**
   * The slot of the key in `word`, or, when it is absent, ~ the free slot where it would go
   * (linear probing from the first word).
   */
  private find(): number {
    const a = word[0] as number
    const b = word[1] as number
    const c = word[2] as number
    let slot = a % this.capacity
    for (;;) {
      if (((this.values[slot] as number) & this.usedBit) === 0) return ~slot
      const at = slot * 3
      if (this.keys[at] === a && this.keys[at + 1] === b && this.keys[at + 2] === c) return slot
      slot = slot + 1 === this.capacity ? 0 : slot + 1
    }
  }

  private grow(): void {
    const keys = this.keys
    const values = this.values
    const held = word.slice()
    this.capacity *= 2
    this.keys = new Uint32Array(this.capacity * 3)
    this.values = this.newValues(this.capacity)
    for (let slot = 0; slot < values.length; slot++) {
      if (((values[slot] as number) & this.usedBit) === 0) continue
      word[0] = keys[slot * 3] as number
      word[1] = keys[slot * 3 + 1] as number
      word[2] = keys[slot * 3 + 2] as number
      const free = ~this.find()
      this.keys.set(keys.subarray(slot * 3, slot * 3 + 3), free * 3)
      this.values[free] = values[slot] as number
    }
    word.set(held)
  }

  private newValues(capacity: number): Uint32Array | Uint8Array {
    return this.usedBit === 0x80 ? new Uint8Array(capacity) : new Uint32Array(capacity)
  }
}

const MAX_LOAD = 0.7
/** 4M contents (~96 MB of table): a bigger hint (a count file edited by hand) is grown into, not allocated at once. */
const MAX_EXPECTED = 4 * 1024 * 1024
const PREFIX = 'sha512-'
const WORDS = 3
const CHARS_PER_WORD = 5

/** The key words of the last split(), shared so that a lookup allocates nothing. */
const word = new Uint32Array(WORDS)

/** Puts the integrity's key in `word`; false when it is not a sha512 in base64. */
function split(integrity: string): boolean {
  if (!integrity.startsWith(PREFIX) || integrity.length < PREFIX.length + WORDS * CHARS_PER_WORD) return false
  let at = PREFIX.length
  for (let w = 0; w < WORDS; w++) {
    let bits = 0
    for (let i = 0; i < CHARS_PER_WORD; i++) {
      const sixtet = base64Value(integrity.charCodeAt(at++))
      if (sixtet < 0) return false
      bits = bits * 64 + sixtet
    }
    word[w] = bits
  }
  return true
}

import { isAlias, isMap, isScalar, isSeq, LineCounter, parseDocument, type Document, type Node, type Scalar } from 'yaml'
import { SinopiaError } from '../errors.js'
import { parseDuration, parseSize } from './units.js'
import type { ConfigWarning } from './types.js'

/** A value in the config file and where it is, so that every message can name both. */
export interface Field {
  /** `uplinks.npmjs.timeout`, `packages['@*\/*'].access`, `logs[0].level`. */
  path: string
  /** 1-based; the line of the key for map values, of the item for list items. */
  line?: number
  /** Aliases already followed. Null when empty (`key:` with nothing after it), which counts as not set. */
  node: Node | null
}

const PLAIN_KEY = /^[\w$-]+$/

function childPath(parent: string, key: string): string {
  if (PLAIN_KEY.test(key)) return parent === '' ? key : `${parent}.${key}`
  return `${parent}['${key}']`
}

function describe(node: Node | null): string {
  if (isMap(node)) return 'a map'
  if (isSeq(node)) return 'a list'
  const value: unknown = isScalar(node) ? node.value : null
  if (value === null || value === undefined) return 'nothing'
  if (typeof value === 'string') return `"${value}"`
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return String(value)
  // Other scalars (a YAML 1.1 timestamp, binary) are shown as the file wrote them.
  return (node as Scalar).source ?? String(node)
}

/**
 * The parsed YAML document plus the warnings found so far. Readers below return plain values or
 * throw ECONFIG naming the file, line and key path.
 */
export class Source {
  readonly warnings: ConfigWarning[] = []

  private constructor(
    readonly file: string,
    private readonly doc: Document,
    private readonly lines: LineCounter,
  ) {}

  static parse(text: string, file: string): Source {
    const lines = new LineCounter()
    const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true })
    const source = new Source(file, doc, lines)
    const [error] = doc.errors
    if (error) {
      const at = { path: '', line: lines.linePos(error.pos[0]).line || 1, node: null }
      source.fail(at, `invalid YAML: ${error.message}`, 'fix the YAML syntax at that line (indent with spaces, quote values that start with * or @)')
    }
    for (const warning of doc.warnings) {
      source.warn({ path: '', line: lines.linePos(warning.pos[0]).line || 1, node: null }, warning.message)
    }
    return source
  }

  root(): Field {
    return { path: '', line: 1, node: this.resolve(this.doc.contents) }
  }

  private resolve(node: unknown): Node | null {
    const target = isAlias(node) ? node.resolve(this.doc) : node
    if (isMap(target) || isSeq(target)) return target
    if (isScalar(target)) return target.value === null ? null : target
    return null
  }

  private lineOf(node: unknown): number | undefined {
    const start = (node as { range?: [number, number, number] } | null)?.range?.[0]
    return start === undefined ? undefined : this.lines.linePos(start).line || 1
  }

  private where(at: Field): string {
    const line = at.line === undefined ? '' : `${at.line}:`
    const key = at.path === '' ? '' : ` ${at.path}:`
    return `${this.file}:${line}${key}`
  }

  fail(at: Field, problem: string, hint: string): never {
    throw new SinopiaError('ECONFIG', `${this.where(at)} ${problem}`, { hint })
  }

  /** Runs a value parser that throws plain errors (units, listen) and adds the location to its message. */
  attempt<T>(at: Field, parse: () => T, hint: string): T {
    try {
      return parse()
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error)
      this.fail(at, message, error instanceof SinopiaError && error.hint !== undefined ? error.hint : hint)
    }
  }

  warn(at: Field, problem: string): void {
    this.warnings.push({ key: at.path, line: at.line, message: `${this.where(at)} ${problem}` })
  }

  child(parent: Field, key: string): Field {
    return { path: childPath(parent.path, key), line: parent.line, node: null }
  }

  /** Entries of a map in file order. Not set is an empty map; anything else that is not a map is an error. */
  entries(at: Field): Array<[string, Field]> {
    if (at.node === null) return []
    if (!isMap(at.node)) this.fail(at, `expected a map of keys, got ${describe(at.node)}`, 'indent the keys that belong under it')
    return at.node.items.map((pair): [string, Field] => {
      const key: unknown = isScalar(pair.key) ? pair.key.value : undefined
      const keyLine = this.lineOf(pair.key) ?? at.line
      if (typeof key !== 'string' && typeof key !== 'number') {
        this.fail({ ...at, line: keyLine }, 'expected a plain key', 'keys must be plain words or quoted strings')
      }
      const name = String(key)
      return [name, { path: childPath(at.path, name), line: keyLine, node: this.resolve(pair.value) }]
    })
  }

  /**
   * The keys of a map that the caller knows and that have a value, by name. Other keys get a warning,
   * never an error: with the reason from `ignored` (one per key, or one for all), else "unknown key".
   */
  fields<K extends string>(at: Field, known: readonly K[], ignored: Record<string, string> | string = {}): Partial<Record<K, Field>> {
    const result: Partial<Record<K, Field>> = {}
    for (const [key, field] of this.entries(at)) {
      if ((known as readonly string[]).includes(key)) {
        if (field.node !== null) result[key as K] = field
      }
      else if (typeof ignored === 'string') this.warn(field, `ignored: ${ignored}`)
      else if (Object.hasOwn(ignored, key)) this.warn(field, `ignored: ${ignored[key]}`)
      else this.warn(field, 'unknown key, ignored')
    }
    return result
  }

  items(at: Field): Field[] {
    if (!isSeq(at.node)) return [at]
    return at.node.items.map((item, index) => ({
      path: `${at.path}[${index}]`,
      line: this.lineOf(item) ?? at.line,
      node: this.resolve(item),
    }))
  }

  scalar(at: Field): unknown {
    return isScalar(at.node) ? at.node.value : undefined
  }

  string(at: Field, hint: string): string {
    const value = this.scalar(at)
    if (typeof value !== 'string' || value.trim() === '') this.fail(at, `expected text, got ${describe(at.node)}`, hint)
    return value.trim()
  }

  boolean(at: Field): boolean {
    const value = this.scalar(at)
    if (typeof value !== 'boolean') this.fail(at, `expected true or false, got ${describe(at.node)}`, 'write true or false')
    return value
  }

  integer(at: Field, min: number, hint: string): number {
    const value = this.scalar(at)
    if (typeof value !== 'number' || !(Number.isInteger(value) || value === Infinity) || value < min) {
      this.fail(at, `expected a whole number of at least ${min}, got ${describe(at.node)}`, hint)
    }
    return value
  }

  duration(at: Field, options: { positive?: boolean } = {}): number {
    const value = this.scalar(at)
    const hint = 'write a duration like 500ms, 30s, 2m, 1h 30m or 1d; a bare number counts as seconds'
    if (typeof value !== 'string' && typeof value !== 'number') this.fail(at, `expected a duration, got ${describe(at.node)}`, hint)
    const ms = this.attempt(at, () => parseDuration(value), hint)
    if (options.positive && ms <= 0) this.fail(at, `duration must be more than 0, got ${describe(at.node)}`, hint)
    return ms
  }

  size(at: Field): number {
    const value = this.scalar(at)
    const hint = 'write a size like 512kb, 10mb or 1gb; a bare number counts as bytes'
    if (typeof value !== 'string' && typeof value !== 'number') this.fail(at, `expected a size, got ${describe(at.node)}`, hint)
    return this.attempt(at, () => parseSize(value), hint)
  }

  /** A space-separated string (`$all admin`) or a YAML list, each item with its own location. */
  words(at: Field): Array<{ word: string; at: Field }> {
    const result: Array<{ word: string; at: Field }> = []
    const hint = 'write the names separated by spaces, or as a YAML list'
    for (const item of this.items(at)) {
      const value = this.scalar(item)
      if (item.node === null) continue
      if (typeof value !== 'string' && typeof value !== 'number') this.fail(item, `expected names, got ${describe(item.node)}`, hint)
      for (const word of String(value).split(/\s+/)) if (word !== '') result.push({ word, at: item })
    }
    return result
  }
}

/**
 * The top-level keys `text` sets to a value (`key:` with nothing after it counts as not set,
 * as everywhere in the config). For text that parses; a reload asks what the file lost.
 */
export function topLevelKeys(text: string, file: string): Set<string> {
  const src = Source.parse(text, file)
  return new Set(src.entries(src.root()).filter(([, field]) => field.node !== null).map(([key]) => key))
}

import { readFile, realpath, stat } from 'node:fs/promises'
import path from 'node:path'
import picomatch from 'picomatch'
import { isAlias, isMap, isScalar, isSeq, Pair, Parser, parseDocument, Scalar, type Document, type ToStringOptions, type YAMLMap } from 'yaml'
import { errnoCode, SinopiaError } from '../errors.js'
import { writeFileAtomic } from '../fs/atomic.js'
import { KeyedLock } from '../fs/lock.js'
import { parseConfig } from './parse.js'
import type { PackageRule } from './types.js'

/**
 * Edits of the `packages` rules in a config file's text. Pure functions over the text, through the
 * yaml Document API, so comments, key order and quoting survive; every result is checked with
 * parseConfig before it is returned, and `editConfigFile` writes it atomically under a lock.
 */

type RuleKey = 'access' | 'publish' | 'unpublish' | 'proxy'

export interface RuleChange {
  access?: string[]
  publish?: string[]
  unpublish?: string[]
  /** Uplink names in order; null removes the rule's proxy, so its packages never come from an uplink (a full fork). */
  proxy?: string[] | null
}

export interface RuleEditOptions {
  /** Put a new rule (or move an existing one) just before the rule with this pattern. */
  before?: string
  /** The config file's path, for messages and relative paths; default `config.yaml`. */
  file?: string
}

const RULE_KEYS: readonly RuleKey[] = ['access', 'publish', 'unpublish', 'proxy']
/** Sinopia's names for the same keys: a rule that uses one keeps using it. */
const LEGACY: Record<RuleKey, string> = { access: 'allow_access', publish: 'allow_publish', unpublish: 'allow_unpublish', proxy: 'proxy_access' }
const SPECIAL = ['$all', '$anonymous', '$authenticated']
const DEFAULT_FILE = 'config.yaml'

const badRule = (message: string, hint: string) => new SinopiaError('EBADRULE', message, { hint })

/** The rules in effect, in order (the defaults when the file has no `packages`). */
export function listRules(text: string, file = DEFAULT_FILE): PackageRule[] {
  return parseConfig(text, file).config.packages
}

/**
 * Creates the rule for `pattern` or changes the given keys of the existing one, in place. A new rule
 * goes just before `before`; without it, before the first rule whose glob matches the new pattern
 * itself (`**` catches `secret-*`, `@*\/*` catches `@acme/*`), which would otherwise take every name
 * it is meant for; else at the end. Values are written as space-separated strings (`alice bob`),
 * except where the file already holds a list.
 */
export function setRule(text: string, pattern: string, change: RuleChange, options: RuleEditOptions = {}): string {
  const file = options.file ?? DEFAULT_FILE
  const { config } = parseConfig(text, file)
  if (pattern.trim() === '') throw badRule('empty package pattern', "give a glob like 'secret-*', '@acme/*' or '**'")
  if (!RULE_KEYS.some((key) => change[key] !== undefined) && options.before === undefined) {
    throw badRule(`nothing to change for '${pattern}'`, 'say who gets access, publish or unpublish, or which uplinks to proxy')
  }
  if (options.before === pattern) throw badRule(`a rule cannot go before itself ('${pattern}')`, 'name another pattern')
  for (const key of ['access', 'publish', 'unpublish'] as const) {
    const odd = names(change[key] ?? []).find((name) => name.startsWith('$') && !SPECIAL.includes(name))
    if (odd) throw badRule(`${key}: unknown group "${odd}"`, `the groups are ${SPECIAL.join(', ')}; other names are users`)
  }
  for (const uplink of names(change.proxy ?? [])) {
    if (!Object.hasOwn(config.uplinks, uplink)) {
      const known = Object.keys(config.uplinks)
      throw new SinopiaError('ECONFIG', `${path.resolve(file)}: proxy names uplink "${uplink}", which does not exist`, {
        hint: known.length === 0 ? 'no uplinks are defined: add one under uplinks first' : `add it under uplinks first, or name one of: ${known.join(', ')}`,
      })
    }
  }

  const doc = openDocument(text)
  const rules = rulesMap(doc, config.packages)
  let index = indexOf(rules, pattern)
  if (index === -1) {
    if (change.access === undefined || change.publish === undefined) {
      throw badRule(`no rule for '${pattern}' yet, and a new rule needs both access and publish`, 'say who may install and who may publish')
    }
    const key = new Scalar(pattern)
    // Quoted like the file's other patterns (the default config uses single quotes).
    key.type = rules.items.map((pair) => (pair.key as Scalar).type).find((type) => type === Scalar.QUOTE_DOUBLE || type === Scalar.QUOTE_SINGLE) ?? Scalar.QUOTE_SINGLE
    index = options.before === undefined ? defaultPosition(patterns(rules), pattern) : required(rules, options.before, file)
    place(rules, (items) => items.splice(index, 0, new Pair(key, doc.createNode({}))))
  } else if (options.before !== undefined) {
    const before = options.before
    place(rules, (items) => {
      const [pair] = items.splice(index, 1)
      index = required(rules, before, file)
      items.splice(index, 0, pair!)
    })
  }
  const rule = ruleMap(doc, rules.items[index]!, pattern)
  for (const key of RULE_KEYS) {
    const value = change[key]
    if (value !== undefined) setKey(doc, rule, key, value === null ? null : names(value))
  }
  return render(doc, text, file)
}

/** Removes the rule for `pattern`; an ENORULE error when there is none. */
export function removeRule(text: string, pattern: string, options: { file?: string } = {}): string {
  const file = options.file ?? DEFAULT_FILE
  const { config } = parseConfig(text, file)
  const doc = openDocument(text)
  const rules = rulesMap(doc, config.packages)
  const index = required(rules, pattern, file)
  place(rules, (items) => items.splice(index, 1))
  return render(doc, text, file)
}

/** Where a rule sits after an edit, and whether an earlier rule takes the names it is meant for. */
export interface RulePlace {
  rule: PackageRule
  index: number
  /** The pattern of the rule right after it; null when it is the last. */
  next: string | null
  /** The first earlier rule whose glob matches this rule's pattern (`**` before `secret-*`): it never applies. */
  shadowedBy: string | null
}

export function placeOf(rules: PackageRule[], pattern: string): RulePlace | null {
  const index = rules.findIndex((rule) => rule.pattern === pattern)
  if (index === -1) return null
  const earlier = rules.slice(0, index).find((rule) => picomatch(rule.pattern)(pattern))
  return { rule: rules[index]!, index, next: rules[index + 1]?.pattern ?? null, shadowedBy: earlier?.pattern ?? null }
}

const locks = new KeyedLock()

/**
 * Read, edit, check, write: under a lock on `<file>.lock` (this process and others), the new text
 * checked with parseConfig, then written atomically with the file's mode kept. A missing file is an
 * ECONFIG error (never created here); a symlink is followed and its target rewritten.
 */
export async function editConfigFile(file: string, edit: (text: string, file: string) => string): Promise<{ file: string; text: string; changed: boolean }> {
  const target = await configTarget(path.resolve(file))
  return locks.withLock(`${target}.lock`, async () => {
    const text = await readText(target)
    const next = edit(text, target)
    if (next === text) return { file: target, text, changed: false }
    try {
      parseConfig(next, target)
    } catch (error) {
      const problem = error instanceof Error ? error.message : String(error)
      throw new SinopiaError('ECONFIG', `the edit would leave ${target} invalid, so nothing was written: ${problem}`, {
        hint: error instanceof SinopiaError && error.hint !== undefined ? error.hint : 'check the values given',
        cause: error,
      })
    }
    const { mode } = await stat(target)
    // The mode is set on the temp file before a byte is written: no moment with a wider one.
    await writeFileAtomic(target, next, { mode: mode & 0o7777 })
    return { file: target, text: next, changed: true }
  })
}

/** setRule on a file; where the rule ended up, and whether it was new. */
export async function setRuleInFile(file: string, pattern: string, change: RuleChange, before?: string): Promise<RulePlace & { file: string; created: boolean }> {
  let created = false
  const result = await editConfigFile(file, (text, target) => {
    created = !listRules(text, target).some((rule) => rule.pattern === pattern)
    return setRule(text, pattern, change, { file: target, ...(before === undefined ? {} : { before }) })
  })
  const place = placeOf(listRules(result.text, result.file), pattern)
  if (!place) throw new Error(`setRule left no rule for '${pattern}'`)
  return { ...place, file: result.file, created }
}

export async function removeRuleFromFile(file: string, pattern: string): Promise<{ file: string }> {
  const result = await editConfigFile(file, (text, target) => removeRule(text, pattern, { file: target }))
  return { file: result.file }
}

async function configTarget(file: string): Promise<string> {
  try {
    return await realpath(file)
  } catch (error) {
    if (errnoCode(error) !== 'ENOENT') return file
    throw new SinopiaError('ECONFIG', `no config file at ${file}`, {
      hint: '`sinopia-cli serve` writes a default one on first start; or point --config or SINOPIA_CONFIG at yours',
    })
  }
}

async function readText(file: string): Promise<string> {
  try {
    return await readFile(file, 'utf8')
  } catch (error) {
    throw new SinopiaError('ECONFIG', `cannot read the config file ${file} (${errnoCode(error) ?? String(error)})`, {
      hint: 'check that the path is a file this user may read and write',
      cause: error,
    })
  }
}

function names(list: string[]): string[] {
  return [...new Set(list.flatMap((item) => item.split(/\s+/)).filter((name) => name !== ''))]
}

function openDocument(text: string): Document {
  // parseConfig already accepted the text, so this parse has no errors.
  return parseDocument(text, { uniqueKeys: true })
}

/** The `packages` map, created when missing with the rules that applied without it, so none is lost. */
function rulesMap(doc: Document, current: PackageRule[]): YAMLMap {
  if (!doc.has('packages')) {
    const map = doc.createNode({}) as YAMLMap
    for (const rule of current) {
      const key = new Scalar(rule.pattern)
      key.type = Scalar.QUOTE_SINGLE
      const value = { access: rule.access.join(' '), publish: rule.publish.join(' '), ...(rule.proxy.length > 0 ? { proxy: rule.proxy.join(' ') } : {}) }
      map.items.push(new Pair(key, doc.createNode(value)))
    }
    doc.set('packages', map)
    return map
  }
  const node = doc.get('packages', true)
  if (node === null || node === undefined || (isScalar(node) && node.value === null)) {
    const map = doc.createNode({}) as YAMLMap
    doc.set('packages', map)
    return map
  }
  if (!isMap(node) || node.anchor !== undefined) {
    throw badRule('packages is a YAML alias or anchor, shared with another part of the file', 'edit this file by hand')
  }
  return node
}

type KeyLayout = { spaceBefore?: boolean; commentBefore?: string | null }

/**
 * Changes the order of rules with their layout: the comment above a rule moves and goes with it (the
 * library holds the one above the first rule on the map), and a blank line between rules, if the
 * file has them, separates moved and new rules too, never the first from `packages:`.
 */
function place(rules: YAMLMap, change: (items: Pair[]) => void): void {
  const keys = () => rules.items.map((pair) => pair.key as KeyLayout)
  const [first] = keys()
  if (first && rules.commentBefore) {
    first.commentBefore = first.commentBefore ? `${rules.commentBefore}\n${first.commentBefore}` : rules.commentBefore
    rules.commentBefore = null
  }
  const separated = keys().slice(1).some((key) => key.spaceBefore)
  const had = new Set(keys())
  change(rules.items)
  keys().forEach((key, i) => {
    if (i === 0) key.spaceBefore = false
    else if (separated && (!had.has(key) || i === 1)) key.spaceBefore = true
  })
}

function keyText(pair: Pair): string {
  return isScalar(pair.key) ? String(pair.key.value) : String(pair.key)
}

function patterns(rules: YAMLMap): string[] {
  return rules.items.map(keyText)
}

function indexOf(rules: YAMLMap, pattern: string): number {
  return patterns(rules).indexOf(pattern)
}

function required(rules: YAMLMap, pattern: string, file: string): number {
  const index = indexOf(rules, pattern)
  if (index !== -1) return index
  const known = patterns(rules)
  throw new SinopiaError('ENORULE', `no rule for '${pattern}' in ${path.resolve(file)}`, {
    hint: known.length === 0 ? 'there are no rules' : `the patterns are: ${known.map((p) => `'${p}'`).join(', ')}`,
  })
}

function defaultPosition(existing: string[], pattern: string): number {
  const index = existing.findIndex((glob) => picomatch(glob)(pattern))
  return index === -1 ? existing.length : index
}

/** The rule's map; an empty rule (`'x':` alone) becomes a map. Shared (anchored or aliased) rules are left alone. */
function ruleMap(doc: Document, pair: Pair, pattern: string): YAMLMap {
  const value = pair.value
  if (value === null || value === undefined || (isScalar(value) && value.value === null)) {
    pair.value = doc.createNode({})
    return pair.value as YAMLMap
  }
  if (isAlias(value) || (isMap(value) && value.anchor !== undefined)) {
    throw badRule(`the rule for '${pattern}' is shared with another through a YAML anchor`, 'edit this rule by hand, or give it its own keys first')
  }
  if (!isMap(value)) throw badRule(`the rule for '${pattern}' is not a map of keys`, 'edit this rule by hand')
  return value
}

/** Writes one key as it is spelled in the rule (modern or legacy name); a list stays a list. */
function setKey(doc: Document, rule: YAMLMap, key: RuleKey, value: string[] | null): void {
  const present = [key, LEGACY[key]].filter((name) => rule.has(name))
  if (value === null) {
    for (const name of present) rule.delete(name)
    return
  }
  const name = present[0] ?? key
  const node = rule.get(name, true)
  if (isSeq(node)) node.items = value.map((item) => doc.createNode(item))
  else if (isScalar(node)) node.value = value.join(' ')
  else rule.set(name, doc.createNode(value.join(' ')))
}

/**
 * The document as text, laid out like `original`: its indent width and sequence indentation, each
 * unchanged flow collection (`[a, b]`, `{ level: warn }`) as it was written, and each comment back
 * in its column. The yaml library attaches a comment that follows a nested block to that block, and
 * would print it at the block's depth.
 */
function render(doc: Document, original: string, file: string): string {
  const smallest = Math.min(...original.split('\n').map((line) => /^( +)[^\s#]/.exec(line)?.[1]?.length ?? Infinity))
  const options: ToStringOptions = {
    lineWidth: 0,
    indent: Number.isFinite(smallest) ? Math.min(smallest, 8) : 2,
    // `key:` with its `- item` lines at the same column: not indented.
    indentSeq: !/^( *)[^\s#-][^\n]*:[ \t]*\n\1-[ \t]/m.test(original),
    // For changed flow collections: `[a, b]` or `[ a, b ]`, whichever the file uses more.
    flowCollectionPadding: (original.match(/[[{] /g)?.length ?? 0) > (original.match(/[[{][^\s\]}]/g)?.length ?? 0),
  }
  const plain = doc.toString(options)
  const restored = restoreComments(original, restoreFlows(original, plain))
  // Layout never changes the data; should it ever, keep the library's own layout.
  const same = JSON.stringify(parseDocument(restored).toJS()) === JSON.stringify(parseDocument(plain).toJS())
  const text = same ? restored : plain
  parseConfig(text, file)
  return text
}

interface Token {
  type?: unknown
  offset?: unknown
  source?: unknown
  end?: unknown
}

/** Calls `visit` for every CST token of `text`; a token for which it returns true is not entered. */
function walkTokens(text: string, visit: (token: Token & { offset: number }) => boolean): void {
  const walk = (node: unknown): void => {
    if (Array.isArray(node)) for (const item of node) walk(item)
    else if (typeof node === 'object' && node !== null) {
      const token = node as Token
      if (typeof token.offset === 'number' && visit(token as Token & { offset: number })) return
      for (const value of Object.values(node)) walk(value)
    }
  }
  for (const token of new Parser().parse(text)) walk(token)
}

/** Replaces [start, end) spans of `text`; spans must not overlap. */
function splice(text: string, edits: Array<{ start: number; end: number; text: string }>): string {
  let out = text
  for (const edit of [...edits].sort((a, b) => b.start - a.start)) out = out.slice(0, edit.start) + edit.text + out.slice(edit.end)
  return out
}

/** Outermost flow collections, `[` through `]`, in file order. */
function flowsOf(text: string): Array<{ start: number; end: number; source: string }> {
  const found: Array<{ start: number; end: number; source: string }> = []
  walkTokens(text, (token) => {
    if (token.type !== 'flow-collection') return false
    const close = (Array.isArray(token.end) ? (token.end as Token[]) : []).find((t) => t.type === 'flow-seq-end' || t.type === 'flow-map-end')
    if (typeof close?.offset === 'number') found.push({ start: token.offset, end: close.offset + 1, source: text.slice(token.offset, close.offset + 1) })
    return true
  })
  return found
}

const flowShape = (source: string) => source.replace(/\s+/g, ' ').replace(/([[{,]) /g, '$1').replace(/ ([\]},])/g, '$1')

function restoreFlows(original: string, output: string): string {
  const written = new Map<string, string[]>()
  for (const flow of flowsOf(original)) written.set(flowShape(flow.source), [...(written.get(flowShape(flow.source)) ?? []), flow.source])
  const edits = flowsOf(output).flatMap((flow) => {
    const source = written.get(flowShape(flow.source))?.shift()
    return source === undefined || source.includes('#') ? [] : [{ start: flow.start, end: flow.end, text: source }]
  })
  return splice(output, edits)
}

/** Comments with the text before them on their line: only spaces for a comment on its own line. */
function commentsOf(text: string): Array<{ offset: number; source: string; own: boolean; space: string }> {
  const found: Array<{ offset: number; source: string; own: boolean; space: string }> = []
  walkTokens(text, (token) => {
    if (token.type !== 'comment' || typeof token.source !== 'string') return false
    const before = text.slice(text.lastIndexOf('\n', token.offset - 1) + 1, token.offset)
    const own = before.trim() === ''
    found.push({ offset: token.offset, source: token.source, own, space: own ? before : (/[ \t]*$/.exec(before)?.[0] ?? '') })
    return true
  })
  return found
}

/** Gives each comment of `output` the indentation (own line) or gap (after a value) it had in `original`; repeats in order. */
function restoreComments(original: string, output: string): string {
  const layout = new Map<string, string[]>()
  for (const c of commentsOf(original)) {
    const key = `${c.own}\0${c.source}`
    layout.set(key, [...(layout.get(key) ?? []), c.space])
  }
  const edits = commentsOf(output).flatMap((c) => {
    const space = layout.get(`${c.own}\0${c.source}`)?.shift()
    if (space === undefined) return []
    return [{ start: c.offset - c.space.length, end: c.offset, text: c.own || space !== '' ? space : ' ' }]
  })
  return splice(output, edits)
}

import { badRequest } from '../errors.js'

/**
 * The bodies `npm audit` and `yarn audit` send, and how to cut them down to the names that
 * may leave this registry.
 *
 *   bulk (npm >= 7):       {"alpha": ["1.0.0", "1.1.0"], "@scope/b": ["2.0.0"]}
 *   tree (npm 6, yarn 1):  {name, version, requires: {alpha: "^1"}, dependencies:
 *                           {alpha: {version, requires: {...}, dependencies: {...}}}, ...}
 *
 * Pure: which names may go is the caller's question (`keep`), asked for each name `namesOf`
 * returned.
 */
export type AuditForm = 'bulk' | 'tree'

/** Deeper dependency trees than this are refused: npm's own stay far below. */
const MAX_TREE_DEPTH = 200

type Json = Record<string, unknown>

const isObject = (value: unknown): value is Json => typeof value === 'object' && value !== null && !Array.isArray(value)

export function parseAuditBody(text: string): Json {
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch {
    throw badRequest('the audit body is not valid JSON')
  }
  if (!isObject(value)) throw badRequest('the audit body must be a JSON object')
  return value
}

/** Every package name the body mentions. */
export function namesOf(form: AuditForm, body: Json): Set<string> {
  const names = new Set<string>()
  if (form === 'bulk') {
    for (const name of Object.keys(body)) names.add(name)
    return names
  }
  if (typeof body.name === 'string') names.add(body.name)
  walkTree(body, 0, (node) => {
    for (const key of ['requires', 'dependencies']) if (isObject(node[key])) for (const name of Object.keys(node[key])) names.add(name)
  })
  return names
}

/** The body with only the names `keep` allows; the project's own name and version go unless kept. */
export function filterAuditBody(form: AuditForm, body: Json, keep: (name: string) => boolean): { body: Json; names: number } {
  if (form === 'bulk') {
    const kept = Object.fromEntries(Object.entries(body).filter(([name]) => keep(name)))
    return { body: kept, names: Object.keys(kept).length }
  }
  let names = 0
  const prune = (node: Json, depth: number): Json => {
    if (depth > MAX_TREE_DEPTH) throw badRequest(`the audit tree is nested deeper than ${MAX_TREE_DEPTH} levels`)
    const out: Json = { ...node }
    if (isObject(node.requires)) out.requires = Object.fromEntries(Object.entries(node.requires).filter(([name]) => keep(name)))
    if (isObject(node.dependencies)) {
      const deps: Json = {}
      for (const [name, child] of Object.entries(node.dependencies)) {
        if (!keep(name)) continue
        names++
        deps[name] = isObject(child) ? prune(child, depth + 1) : child
      }
      out.dependencies = deps
    }
    return out
  }
  const pruned = prune(body, 0)
  if (typeof body.name !== 'string' || !keep(body.name)) {
    delete pruned.name
    delete pruned.version
  }
  return { body: pruned, names }
}

function walkTree(node: Json, depth: number, visit: (node: Json) => void): void {
  if (depth > MAX_TREE_DEPTH) throw badRequest(`the audit tree is nested deeper than ${MAX_TREE_DEPTH} levels`)
  visit(node)
  if (!isObject(node.dependencies)) return
  for (const child of Object.values(node.dependencies)) if (isObject(child)) walkTree(child, depth + 1, visit)
}

/** What to answer when no name may go to the uplink: nothing known about nothing. */
export function emptyAuditAnswer(form: AuditForm): Json {
  if (form === 'bulk') return {}
  const vulnerabilities = { info: 0, low: 0, moderate: 0, high: 0, critical: 0 }
  return {
    actions: [],
    advisories: {},
    muted: [],
    metadata: { vulnerabilities, dependencies: 0, devDependencies: 0, optionalDependencies: 0, totalDependencies: 0 },
  }
}

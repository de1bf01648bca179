import { httpUrl } from './summary.js'

/**
 * What this registry passes on of an uplink's `/-/v1/search` answer: a fixed set of fields,
 * each checked for its type (the uplink's metadata is not trusted), and the uplink's own
 * links only when they are http(s).
 */
export interface UplinkHit {
  package: {
    name: string
    scope: string
    version: string
    description: string
    keywords: string[]
    date?: string
    links: Record<string, string>
    publisher?: { username: string; email?: string }
    maintainers: Array<{ username: string; email?: string }>
  }
  flags: Record<string, boolean>
  score: { final: number; detail: { quality: number; popularity: number; maintenance: number } }
  searchScore: number
  origin: 'uplink'
}

const MAX_TEXT = 1000

const str = (value: unknown, max = MAX_TEXT): string | undefined => (typeof value === 'string' ? value.slice(0, max) : undefined)
const num = (value: unknown): number => (typeof value === 'number' && Number.isFinite(value) ? value : 0)

function user(value: unknown): { username: string; email?: string } | undefined {
  const v = value as { username?: unknown; email?: unknown } | null
  const username = str(v?.username, 214)
  if (!username) return undefined
  const email = str(v?.email, 254)
  return email ? { username, email } : { username }
}

/** The hits of an uplink's search answer, malformed entries left out; `total` as it says (0 if it says nothing usable). */
export function parseUplinkSearch(body: unknown): { hits: UplinkHit[]; total: number } {
  const objects = (body as { objects?: unknown } | null)?.objects
  if (!Array.isArray(objects)) return { hits: [], total: 0 }
  const hits: UplinkHit[] = []
  for (const object of objects.slice(0, 250)) {
    const pkg = (object as { package?: Record<string, unknown> } | null)?.package
    const name = str(pkg?.name, 214)
    const version = str(pkg?.version, 256)
    if (!pkg || !name || !version) continue
    const links: Record<string, string> = {}
    for (const [key, url] of Object.entries((pkg.links as Record<string, unknown> | undefined) ?? {})) {
      const safe = httpUrl(url)
      if (safe && /^[a-z]{1,20}$/.test(key)) links[key] = safe
    }
    const publisher = user(pkg.publisher)
    const date = str(pkg.date, 40)
    const slash = name.indexOf('/')
    const score = (object as { score?: { final?: unknown } }).score
    hits.push({
      package: {
        name,
        scope: name.startsWith('@') && slash > 0 ? name.slice(1, slash) : 'unscoped',
        version,
        description: str(pkg.description) ?? '',
        keywords: Array.isArray(pkg.keywords) ? pkg.keywords.filter((k): k is string => typeof k === 'string').slice(0, 50).map((k) => k.slice(0, 100)) : [],
        ...(date && !Number.isNaN(Date.parse(date)) ? { date } : {}),
        links,
        ...(publisher ? { publisher } : {}),
        maintainers: Array.isArray(pkg.maintainers) ? pkg.maintainers.map(user).filter((u) => u !== undefined).slice(0, 50) : [],
      },
      flags: (object as { flags?: { deprecated?: unknown } }).flags?.deprecated ? { deprecated: true } : {},
      score: { final: num(score?.final), detail: { quality: 1, popularity: 1, maintenance: 1 } },
      searchScore: num((object as { searchScore?: unknown }).searchScore),
      origin: 'uplink',
    })
  }
  const total = num((body as { total?: unknown }).total)
  return { hits, total: Math.max(total, hits.length) }
}

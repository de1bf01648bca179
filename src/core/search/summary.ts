import { LRUCache } from 'lru-cache'
import { CACHE_BOUNDS } from '../cache-bounds.js'
import type { LocalDoc, Manifest, Packument } from '../store/index.js'

/** Where a package's versions come from: published here, or a copy of an uplink's. */
export type Origin = 'local' | 'cached'

/** A package counts as local when at least one of its versions was published here. */
export function packageOrigin(local: Pick<LocalDoc, 'versions'> | null | undefined): Origin {
  return local && Object.keys(local.versions).length > 0 ? 'local' : 'cached'
}

export interface Person {
  name: string
  email?: string
}

/** Links a page may show; each one is an absolute http(s) URL or absent. */
export interface PackageLinks {
  homepage?: string
  repository?: string
  bugs?: string
}

/**
 * What the search index keeps of one package: small, so 10,000 of them fit in a few MB.
 * Built once per change of the package, never per request.
 */
export interface PackageSummary {
  name: string
  /** The `latest` tag's version. */
  version: string
  description: string
  keywords: string[]
  author: Person | null
  /** Who published the latest version (`_npmUser`), else the first maintainer. */
  publisher: Person | null
  maintainers: Person[]
  /** ISO time the latest version was published (else the document's `modified`), or null. */
  date: string | null
  links: PackageLinks
  origin: Origin
  /** The latest version is deprecated. */
  deprecated: boolean
  /** Users who starred the package here (`npm star`), for `npm stars`; never the uplink's list. */
  starredBy: string[]
  /** Lowercased text the matcher reads (see match.ts). */
  text: SummaryText
}

export interface SummaryText {
  name: string
  keywords: string[]
  description: string
  /** Author, publisher and maintainer names. */
  people: string[]
  /**
   * The above in one string, which is all the matcher reads (one object per package, not
   * ten: scoring thousands of packages is bound by memory access):
   *
   *   name \n keyword \n keyword \n description \n person \n person
   *        ^nameEnd                ^descStart   ^descEnd
   *
   * Keywords and people hold no newline (they are replaced by spaces here).
   */
  all: string
  nameEnd: number
  descStart: number
  descEnd: number
}

const MAX_DESCRIPTION = 1000
const MAX_KEYWORDS = 50
const MAX_KEYWORD = 100
const MAX_PEOPLE = 50
const MAX_STARS = 1000

/**
 * The summary of a merged packument as served; null when it has no version at all. `stars` is
 * the `users` map kept here (local.json), not the merged document's, which may be the uplink's.
 */
export function summarize(name: string, doc: Packument, origin: Origin, stars?: unknown): PackageSummary | null {
  const fields = summaryFields(name, doc, origin, stars)
  return fields && withText(fields)
}

/**
 * summarize without the search text: what crosses a thread (the view worker's `summary` task),
 * as the text's fields are getters a copy would lose. The receiving thread adds it with withText.
 */
export function summaryFields(name: string, doc: Packument, origin: Origin, stars?: unknown): Omit<PackageSummary, 'text'> | null {
  const latest = latestManifest(doc)
  if (!latest) return null
  const description = text(latest.description ?? doc.description).slice(0, MAX_DESCRIPTION)
  const keywords = keywordList(latest.keywords ?? doc.keywords)
  const author = person(latest.author ?? doc.author)
  const maintainers = people(latest.maintainers ?? doc.maintainers)
  // Packages published here record publishers as maintainers only (no `_npmUser`).
  const publisher = person(latest._npmUser) ?? maintainers[0] ?? null
  const time = doc.time ?? {}
  const date = validDate(time[latest.version]) ?? validDate(time.modified)
  return {
    name,
    version: latest.version,
    description,
    keywords,
    author,
    publisher,
    maintainers,
    date,
    links: links(latest, doc),
    origin,
    deprecated: typeof latest.deprecated === 'string' && latest.deprecated !== '',
    starredBy: starredBy(stars),
  }
}

/**
 * A summary with its search text, which follows from the other fields (so a snapshot need not
 * keep it). People go through the shared pool here, so summaries read from a snapshot share too.
 */
export function withText(fields: Omit<PackageSummary, 'text'>): PackageSummary {
  const summary: PackageSummary = {
    ...fields,
    author: shared(fields.author),
    publisher: shared(fields.publisher),
    maintainers: sharedList(fields.maintainers),
    text: null as unknown as SummaryText,
  }
  summary.text = new SearchText(summary)
  return summary
}

/**
 * The lowercased text of a summary. Only the name and keywords are kept (qualifiers and
 * one-letter words read them per search; both are usually the summary's own strings, as
 * lowercasing a lowercase string gives it back); the rest is derived when read, as only the
 * index reads it (once per put) and `relevance`: at 100,000 packages the copies would hold
 * tens of MB.
 */
class SearchText implements SummaryText {
  readonly name: string
  readonly keywords: string[]
  readonly #of: PackageSummary

  constructor(of: PackageSummary) {
    this.#of = of
    this.name = of.name.toLowerCase()
    const keywords = of.keywords.map((k) => k.toLowerCase())
    this.keywords = keywords.every((k, i) => k === of.keywords[i]) ? of.keywords : keywords
  }

  get description(): string {
    return this.#of.description.toLowerCase()
  }

  get people(): string[] {
    const { author, publisher, maintainers } = this.#of
    return [...new Set([author, publisher, ...maintainers].filter((p): p is Person => p !== null).map((p) => p.name.toLowerCase()))]
  }

  get all(): string {
    const flat = (value: string) => value.replace(/\n/g, ' ')
    return [[this.name, ...this.keywords.map(flat)].join('\n'), this.description, ...this.people.map(flat)].join('\n')
  }

  get nameEnd(): number {
    return this.name.length
  }

  get descStart(): number {
    return this.keywords.reduce((length, k) => length + k.length + 1, this.name.length) + 1
  }

  get descEnd(): number {
    return this.descStart + this.description.length
  }
}

/**
 * People and maintainer lists seen in other summaries, shared rather than copied: the same
 * few people maintain most packages of a registry. Frozen, as every summary holding one reads
 * it. Bounded; past the bound a person is merely not shared.
 */
const sharedPeople = new LRUCache<string, Person | readonly Person[]>({ max: CACHE_BOUNDS.sharedPeople })

function shared(value: Person | null): Person | null {
  if (!value) return null
  const key = JSON.stringify([value.name, value.email])
  const known = sharedPeople.get(key) as Person | undefined
  if (known) return known
  const frozen = Object.freeze(value)
  sharedPeople.set(key, frozen)
  return frozen
}

function sharedList(list: Person[]): Person[] {
  if (list.length === 0) return NOBODY
  const members = list.map((p) => shared(p) as Person)
  const key = JSON.stringify(members.map((p) => [p.name, p.email]))
  const known = sharedPeople.get(key) as Person[] | undefined
  if (known) return known
  const frozen = Object.freeze(members) as Person[]
  sharedPeople.set(key, frozen)
  return frozen
}

const NOBODY = Object.freeze([]) as unknown as Person[]
const NO_STARS = Object.freeze([]) as unknown as string[]

function starredBy(users: unknown): string[] {
  if (!users || typeof users !== 'object') return NO_STARS
  return Object.entries(users as Record<string, unknown>)
    .filter(([, starred]) => starred === true)
    .map(([user]) => user)
    .slice(0, MAX_STARS)
}

/** The manifest the `latest` tag names, else the last version listed. */
export function latestManifest(doc: Packument): Manifest | null {
  const tagged = doc['dist-tags']?.latest
  const versions = doc.versions ?? {}
  if (tagged && versions[tagged]) return versions[tagged]
  const all = Object.values(versions)
  return all.at(-1) ?? null
}

/** `javascript:`, `data:` and anything unparsable become undefined: links are only ever http(s). */
export function httpUrl(value: unknown): string | undefined {
  if (typeof value !== 'string' || value.length > 2000) return undefined
  try {
    const url = new URL(value.trim())
    return url.protocol === 'http:' || url.protocol === 'https:' ? url.href : undefined
  } catch {
    return undefined
  }
}

/**
 * A repository field as a browsable URL: `git+https://host/o/r.git` -> `https://host/o/r`,
 * `git@host:o/r.git` and `git://host/o/r` likewise. Shorthands (`o/r`, `github:o/r`) name a
 * host implicitly and are left out.
 */
export function repositoryUrl(value: unknown): string | undefined {
  const raw = typeof value === 'string' ? value : typeof value === 'object' && value !== null ? (value as { url?: unknown }).url : undefined
  if (typeof raw !== 'string') return undefined
  const url = raw
    .trim()
    .replace(/^git\+/, '')
    .replace(/^git:\/\//, 'https://')
    .replace(/^(?:ssh:\/\/)?git@([^:/]+)[:/]/, 'https://$1/')
    .replace(/\.git$/, '')
  return httpUrl(url)
}

function links(latest: Manifest, doc: Packument): PackageLinks {
  const out: PackageLinks = {}
  const homepage = httpUrl(latest.homepage ?? doc.homepage)
  const repository = repositoryUrl(latest.repository ?? doc.repository)
  const bugsField = latest.bugs ?? doc.bugs
  const bugs = httpUrl(typeof bugsField === 'object' && bugsField !== null ? (bugsField as { url?: unknown }).url : bugsField)
  if (homepage) out.homepage = homepage
  if (repository) out.repository = repository
  if (bugs) out.bugs = bugs
  return out
}

function text(value: unknown): string {
  return typeof value === 'string' ? value.trim() : ''
}

function keywordList(value: unknown): string[] {
  const list = Array.isArray(value) ? value : typeof value === 'string' ? value.split(/[,\s]+/) : []
  const out = list.filter((k): k is string => typeof k === 'string' && k.trim() !== '').map((k) => k.trim().slice(0, MAX_KEYWORD))
  return [...new Set(out)].slice(0, MAX_KEYWORDS)
}

/** `"Name <email> (url)"` or `{name, email}` (npm's `username` too). */
export function person(value: unknown): Person | null {
  if (typeof value === 'string') {
    const match = /^\s*([^<(]*?)\s*(?:<([^>]*)>)?\s*(?:\(([^)]*)\))?\s*$/.exec(value.slice(0, 500))
    const name = match?.[1]?.trim() ?? ''
    if (!name) return null
    return match?.[2] ? { name, email: match[2].trim() } : { name }
  }
  if (typeof value !== 'object' || value === null) return null
  const record = value as { name?: unknown; username?: unknown; email?: unknown }
  const name = typeof record.name === 'string' ? record.name.trim() : typeof record.username === 'string' ? record.username.trim() : ''
  if (!name) return null
  return typeof record.email === 'string' && record.email ? { name, email: record.email } : { name }
}

function people(value: unknown): Person[] {
  if (!Array.isArray(value)) return []
  return value
    .map(person)
    .filter((p): p is Person => p !== null)
    .slice(0, MAX_PEOPLE)
}

function validDate(value: unknown): string | null {
  if (typeof value !== 'string') return null
  const ms = Date.parse(value)
  return Number.isNaN(ms) ? null : new Date(ms).toISOString()
}

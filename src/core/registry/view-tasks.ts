import { createHash } from 'node:crypto'
import { SinopiaError } from '../errors.js'
import { packageOrigin, summaryFields, type Origin, type PackageSummary } from '../search/summary.js'
import { packageModel, type PackageModel } from '../web/package-model.js'
import { decodeUpstream, encodeUpstream, encodeUpstreamAround, parseJson, revOf, type LocalDoc, type Manifest, type Packument, type UplinkPart, type UpstreamRecord } from '../store/index.js'
import { originOf } from '../upstream/response.js'
import { mergePackument } from './merge.js'
import { mergedRecord, originsOf, partsOf } from './merge-uplinks.js'
import { printable, tarballPath } from './names.js'
import { checkUpstreamPackument, offlinePackument, unchangedByCheck } from './packument.js'
import { pickVersion, versionIndex } from './pick.js'
import { asBuffer, buildView, instantiateBytes, servedManifest, type VersionOrigins, type ViewData } from './view.js'

/**
 * The work on a whole packument that costs time in proportion to its size: parsing, checking,
 * merging and serializing. Pure functions of plain data, so the view builder can run them on
 * the event loop for small documents and in its worker thread for big ones, with one result.
 * (Search's summary and the web page's model are pure functions of a document too: they run here.)
 */

/**
 * Called between the phases of a task on a big document, with its size: the view worker frees
 * there what the phase left behind (see view-worker.ts); inline, nothing is done.
 */
let phaseDone: (size: number) => void = () => undefined

export function onPhaseDone(fn: (size: number) => void): void {
  phaseDone = fn
}

/** What of each uplink's config decides where its tarballs are fetched from. */
export interface UplinkUrls {
  url: string
  tarballOrigins: string[]
}

/** A stored uplink record's bytes, and where they were read (for error messages). */
export interface StoredInput {
  raw: Uint8Array
  where: string
}

/** The stored record's fields besides the document, and the view built from it. */
export interface UpstreamData {
  uplink: string
  upstreamUrl: string
  etag?: string
  lastModified?: string
  /** A record from several uplinks: each part's validators, in order. */
  parts?: PartValidators[]
  view: ViewData
}

/** What revalidates one uplink's part of a record. */
export interface PartValidators {
  uplink: string
  etag?: string
  lastModified?: string
}

export interface FromUplinkInput {
  body: Uint8Array
  name: string
  uplink: string
  upstreamUrl: string
  etag?: string
  lastModified?: string
  uplinks: Record<string, UplinkUrls>
}

/**
 * An uplink's answer, checked: the record to store (encoded) and its view. A document the check
 * leaves as it came is stored as the uplink's bytes, not serialized again; its text is dropped
 * once parsed, so the document is only ever held as bytes and as one parsed tree.
 */
export function fromUplink(input: FromUplinkInput): { record: Uint8Array; data: UpstreamData; summary: SummaryFields | null } {
  const size = input.body.length
  const { part, asSent } = checkedPart(input)
  phaseDone(size)
  const { doc: _doc, ...fields } = part
  const raw = asSent ? encodeUpstreamAround(fields, input.body) : encodeUpstream(part, size)
  // The body is in the record now: the input lets go of it (the caller handed it over), so
  // the views below are made without the sent bytes held besides the record's.
  input.body = EMPTY
  phaseDone(size)
  return { record: raw, data: upstreamData(input.name, revOf(raw), part, input.uplinks, size), summary: cachedSummary(input.name, part) }
}

/**
 * What `summary` gives for this record when nothing is published here, from the tree already
 * parsed: search takes it with the change, rather than reading and parsing the document again
 * right after the fill.
 */
function cachedSummary(name: string, record: UpstreamRecord): SummaryFields | null {
  return summaryFields(name, mergePackument(name, record.doc, null), packageOrigin(null))
}

/** Bytes let go of: what a handed-over body or record is left holding. */
export const EMPTY = new Uint8Array(0)

/** One uplink's answer when the rule lists several, checked: its part of the record, encoded (see fromUplinks). */
export function checkUplink(input: Omit<FromUplinkInput, 'uplinks'>): Uint8Array {
  return Buffer.from(JSON.stringify(checkedPart(input).part))
}

function checkedPart(input: Omit<FromUplinkInput, 'uplinks'>): { part: UplinkPart; asSent: boolean } {
  let sent: unknown
  try {
    sent = JSON.parse(Buffer.from(input.body.buffer, input.body.byteOffset, input.body.byteLength).toString('utf8'))
  } catch (error) {
    throw new SinopiaError('EUPLINK', `uplink ${input.uplink} sent invalid JSON for ${printable(input.name)}`, { cause: error })
  }
  const doc = checkUpstreamPackument(sent, input.name, input.uplink)
  const part = {
    uplink: input.uplink,
    upstreamUrl: input.upstreamUrl,
    ...(input.etag ? { etag: input.etag } : {}),
    ...(input.lastModified ? { lastModified: input.lastModified } : {}),
    doc,
  }
  return { part, asSent: unchangedByCheck(sent, doc) }
}

export interface FromUplinksInput {
  name: string
  /** The rule's uplinks, in order: the record's parts follow it. */
  order: string[]
  /** New answers (checkUplink's bytes), by uplink. */
  answers: Record<string, Uint8Array>
  /** The stored record: the uplinks without a new answer keep their part of it. */
  stored: StoredInput | null
  uplinks: Record<string, UplinkUrls>
}

/**
 * The record for a rule with several uplinks after some of them answered: their new parts, the
 * stored parts of the others (down, unchanged, or no longer listing the package), merged.
 */
export function fromUplinks(input: FromUplinksInput): { record: Uint8Array; data: UpstreamData; summary: SummaryFields | null } {
  const kept = input.stored ? partsOf(decodeUpstream(input.stored.raw, input.stored.where)) : []
  const parts: UplinkPart[] = []
  for (const uplink of input.order) {
    const answer = Object.hasOwn(input.answers, uplink) ? input.answers[uplink] : undefined
    const part = answer ? parseJson<UplinkPart>(answer, `the answer of uplink ${uplink}`) : kept.find((p) => p.uplink === uplink)
    if (part) parts.push(part)
  }
  const record = mergedRecord(input.name, parts)
  const raw = encodeUpstream(record)
  return { record: raw, data: upstreamData(input.name, revOf(raw), record, input.uplinks, raw.length), summary: cachedSummary(input.name, record) }
}

export interface FromStoredInput {
  raw: Uint8Array
  where: string
  name: string
  rev: string
  uplinks: Record<string, UplinkUrls>
}

/** A stored record's view. */
export function fromStored(input: FromStoredInput): UpstreamData {
  return upstreamData(input.name, input.rev, decodeUpstream(input.raw, input.where), input.uplinks, input.raw.length)
}

export interface DerivedInput {
  name: string
  /** Identifies the result (the PackageView's rev). */
  key: string
  upstream: StoredInput | null
  local: LocalDoc | null
  /** Offline: only these versions are served (their tarballs are stored). */
  available: string[] | null
  uplinks: Record<string, UplinkUrls>
}

/** The view of what the uplink sent merged with what was published here, offline or not. */
export function derived(input: DerivedInput): ViewData {
  const { record, doc } = served(input)
  const sources = record ? tarballSources(input.name, record, input.uplinks) : null
  return buildView(
    input.name,
    input.key,
    doc,
    (url, version) => {
      if (input.local?.versions[version] || !sources) return null
      return sources.rebase(url, version)
    },
    sources?.origins,
    input.upstream?.raw.length,
  )
}

export interface ManifestInput {
  name: string
  spec: string
  upstream: StoredInput | null
  local: LocalDoc | null
  /** Offline: only these versions may be picked. */
  available: string[] | null
}

/** One version's manifest as served (tarball URL holding BASE_TOKEN), by version, tag or range; null when none matches. */
export function manifest(input: ManifestInput): Manifest | null {
  const { doc } = served(input)
  const version = pickVersion(versionIndex(doc), input.spec)
  const picked = version === null ? undefined : doc.versions[version]
  return picked ? servedManifest(picked, input.name, picked.version) : null
}

export interface BodyInput {
  /** A serialized document holding BASE_TOKEN (PackageView.full or .abbreviated). */
  template: Uint8Array
  /** This server's base URL as the request sees it (ends with '/'). */
  base: string
}

/** A response body: the template with the base URL in place, as bytes, and its content hash (the ETag). */
export function body(input: BodyInput): { raw: Uint8Array; sha1: string } {
  const raw = instantiateBytes(input.template, input.base)
  return { raw, sha1: createHash('sha1').update(raw).digest('base64url') }
}

export interface PageInput {
  name: string
  /** The served document (PackageView.full). */
  full: Uint8Array
  origin: Origin
}

/** What the web UI's package page shows (see web/package-model.ts). */
export function page(input: PageInput): PackageModel | null {
  return packageModel(input.name, JSON.parse(asBuffer(input.full).toString('utf8')) as Packument, input.origin)
}

export interface SummaryInput {
  name: string
  upstream: StoredInput | null
  local: LocalDoc | null
}

/**
 * What the search index keeps of the package as served (see search/summary.ts), without its
 * search text: that is an object whose fields are getters, which a thread crossing would turn
 * into a copy missing them. The caller adds it with `withText`, on its own thread.
 */
export function summary(input: SummaryInput): SummaryFields | null {
  const { doc } = served(input)
  return summaryFields(input.name, doc, packageOrigin(input.local), input.local?.users)
}

export type SummaryFields = Omit<PackageSummary, 'text'>

/**
 * The packument as this registry serves it, from the stored uplink record and what was published
 * here; offline (`available` given), only the versions whose tarballs are stored.
 */
function served(input: { name: string; upstream: StoredInput | null; local: LocalDoc | null; available?: string[] | null }): {
  record: UpstreamRecord | null
  doc: Packument
} {
  const record = input.upstream ? decodeUpstream(input.upstream.raw, input.upstream.where) : null
  const doc = mergePackument(input.name, record?.doc ?? null, input.local)
  return { record, doc: input.available ? offlinePackument(doc, new Set(input.available)) : doc }
}

/** `size`: about the bytes of the document serialized (see buildView). */
function upstreamData(name: string, rev: string, record: UpstreamRecord, uplinks: Record<string, UplinkUrls>, size: number): UpstreamData {
  const { rebase, origins } = tarballSources(name, record, uplinks)
  return {
    uplink: record.uplink,
    upstreamUrl: record.upstreamUrl,
    ...(record.etag ? { etag: record.etag } : {}),
    ...(record.lastModified ? { lastModified: record.lastModified } : {}),
    ...(record.parts ? { parts: record.parts.map(({ uplink, etag, lastModified }) => ({ uplink, ...(etag ? { etag } : {}), ...(lastModified ? { lastModified } : {}) })) } : {}),
    view: buildView(name, rev, record.doc, rebase, origins, size),
  }
}

/**
 * Where each version's tarball is fetched from now. A record from several uplinks: from the
 * uplink whose part the version was taken from, and the view says which one that is.
 */
function tarballSources(
  name: string,
  record: UpstreamRecord,
  uplinks: Record<string, UplinkUrls>,
): { rebase: (url: string | undefined, version: string) => string; origins?: VersionOrigins } {
  if (!record.parts) return { rebase: rebaser(name, record, uplinks) }
  const parts = record.parts
  const origin = originsOf(parts)
  const rebasers = parts.map((part) => rebaser(name, part, uplinks))
  // The record's own uplink and URL are its first part's.
  const first = rebaser(name, record, uplinks)
  return {
    rebase: (url, version) => (rebasers[origin.get(version) ?? 0] ?? first)(url, version),
    origins: { names: parts.map((part) => part.uplink), of: (version) => origin.get(version) },
  }
}

/** Where each version's tarball is fetched from now, for a document fetched from `record.uplink`. */
function rebaser(name: string, record: Pick<UpstreamRecord, 'uplink' | 'upstreamUrl'>, uplinks: Record<string, UplinkUrls>): (url: string | undefined, version: string) => string {
  const config = Object.hasOwn(uplinks, record.uplink) ? uplinks[record.uplink] : undefined
  const current = config?.url ?? record.upstreamUrl
  const trusted = new Set([originOf(current), ...(config?.tarballOrigins ?? [])])
  return (url, version) => {
    // Tarballs the uplink served from its own URL are fetched from the uplink's current URL.
    if (url && url.startsWith(record.upstreamUrl)) return current + url.slice(record.upstreamUrl.length)
    if (url && /^https?:\/\//.test(url) && trusted.has(originOf(url))) return url
    // Anywhere else (another host or port) is never asked: a packument must not make this
    // server send requests, with the uplink's credentials, to an address of its choosing. The
    // tarball is asked from the uplink at the conventional path; its digest still decides.
    return current + tarballPath(name, version)
  }
}

/** The tasks by name, for the worker's messages. */
export const TASKS = { fromUplink, checkUplink, fromUplinks, fromStored, derived, manifest, summary, body, page } as const
export type TaskName = keyof typeof TASKS
export type TaskInput<K extends TaskName> = Parameters<(typeof TASKS)[K]>[0]
export type TaskOutput<K extends TaskName> = ReturnType<(typeof TASKS)[K]>

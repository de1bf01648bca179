import { createHash } from 'node:crypto'
import { SinopiaError } from '../errors.js'
import { packageOrigin, summarize, type Origin, type PackageSummary } from '../search/summary.js'
import { packageModel, type PackageModel } from '../web/package-model.js'
import { decodeUpstream, encodeUpstream, revOf, type LocalDoc, type Manifest, type Packument, type UpstreamRecord } from '../store/index.js'
import { originOf } from '../upstream/response.js'
import { mergePackument } from './merge.js'
import { printable, tarballPath } from './names.js'
import { checkUpstreamPackument, offlinePackument } from './packument.js'
import { pickVersion, versionIndex } from './pick.js'
import { asBuffer, buildView, instantiate, servedManifest, type ViewData } from './view.js'

/**
 * The work on a whole packument that costs time in proportion to its size: parsing, checking,
 * merging and serializing. Pure functions of plain data, so the view builder can run them on
 * the event loop for small documents and in its worker thread for big ones, with one result.
 * (Search's summary and the web page's model are pure functions of a document too: they run here.)
 */

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
  view: ViewData
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

/** An uplink's answer, checked: the record to store (encoded) and its view. */
export function fromUplink(input: FromUplinkInput): { record: Uint8Array; data: UpstreamData } {
  let doc: unknown
  try {
    doc = JSON.parse(Buffer.from(input.body.buffer, input.body.byteOffset, input.body.byteLength).toString('utf8'))
  } catch (error) {
    throw new SinopiaError('EUPLINK', `uplink ${input.uplink} sent invalid JSON for ${printable(input.name)}`, { cause: error })
  }
  const record: UpstreamRecord = {
    uplink: input.uplink,
    upstreamUrl: input.upstreamUrl,
    ...(input.etag ? { etag: input.etag } : {}),
    ...(input.lastModified ? { lastModified: input.lastModified } : {}),
    doc: checkUpstreamPackument(doc, input.name, input.uplink),
  }
  const raw = encodeUpstream(record)
  return { record: raw, data: upstreamData(input.name, revOf(raw), record, input.uplinks) }
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
  return upstreamData(input.name, input.rev, decodeUpstream(input.raw, input.where), input.uplinks)
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
  const rebase = record ? rebaser(input.name, record, input.uplinks) : null
  return buildView(input.name, input.key, doc, (url, version) => {
    if (input.local?.versions[version] || !rebase) return null
    return rebase(url, version)
  })
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
  const raw = Buffer.from(instantiate(asBuffer(input.template).toString('utf8'), input.base))
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

/** What the search index keeps of the package as served (see search/summary.ts). */
export function summary(input: SummaryInput): PackageSummary | null {
  const { doc } = served(input)
  return summarize(input.name, doc, packageOrigin(input.local), input.local?.users)
}

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

function upstreamData(name: string, rev: string, record: UpstreamRecord, uplinks: Record<string, UplinkUrls>): UpstreamData {
  return {
    uplink: record.uplink,
    upstreamUrl: record.upstreamUrl,
    ...(record.etag ? { etag: record.etag } : {}),
    ...(record.lastModified ? { lastModified: record.lastModified } : {}),
    view: buildView(name, rev, record.doc, rebaser(name, record, uplinks)),
  }
}

/** Where each version's tarball is fetched from now, for a record fetched from `record.uplink`. */
function rebaser(name: string, record: UpstreamRecord, uplinks: Record<string, UplinkUrls>): (url: string | undefined, version: string) => string {
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
export const TASKS = { fromUplink, fromStored, derived, manifest, summary, body, page } as const
export type TaskName = keyof typeof TASKS
export type TaskInput<K extends TaskName> = Parameters<(typeof TASKS)[K]>[0]
export type TaskOutput<K extends TaskName> = ReturnType<(typeof TASKS)[K]>

import { SinopiaError } from '../errors.js'
import type { DocumentKind, LocalDoc, Manifest } from './documents.js'
import { expectedIntegrity, sha512Of } from './integrity.js'
import { checkUpstream, decodeFetched, decodeUpstream, parseJson } from './records.js'
import type { StoredText } from './types.js'

/**
 * How a scan takes a package's uplink documents (upstream.json, fetched.json): 'parse' checks
 * them as their own reads would decode them, so a broken one is found (verify; the packument on
 * its skeleton, see checkUpstream); 'records' decodes the small fetched record and only sizes the
 * cached packument (prune, which needs when it was fetched but nothing the packument says);
 * 'size' only sizes both (storage info). The cached packuments are most of a store's metadata:
 * at 100,000 packages of 10 versions, a scan that parsed them whole took 22 s and 334 MiB, one
 * that only sizes them 5 s and 189 MiB.
 */
export type ScanDepth = 'parse' | 'records' | 'size'

/** What the store holds of one package, reduced to what maintenance needs. */
export interface PackageScan {
  name: string
  /** Versions published here -> the sha512 of their tarball (null when they only carry a sha1). Null: no local.json. */
  local: Map<string, string | null> | null
  /** Whether an uplink's packument is cached (with 'parse': one that decodes). */
  upstream: boolean
  /** ms of the last 200/304 from the uplink, when known (not with 'size'). */
  fetchedAt: number | null
  /** Bytes of the package's documents (upstream, fetched, local) together. */
  metadataBytes: number
  /** Bytes of the upstream document alone (the cached packument). */
  upstreamBytes: number
  /** Documents that could not be read, with where they are and why. */
  broken: Array<{ document: DocumentKind; file: string; message: string }>
}

/**
 * A document as a scan reads it: its text; or an uplink document's bytes (at 'parse' depth: they
 * are checked, never decoded whole, see checkUpstream) or, below, its size alone.
 */
export type ScannedDocument = StoredText | { text: null; bytes: number; raw?: Uint8Array }

/**
 * One package's scan from its documents as read (null: none), decoded as their own reads would
 * decode them; a broken document is recorded, not thrown. `where` names a document's file.
 */
export function scanDocuments(name: string, documents: Record<DocumentKind, ScannedDocument | null>, where: (kind: DocumentKind) => string): PackageScan {
  const scan: PackageScan = { name, local: null, upstream: false, fetchedAt: null, metadataBytes: 0, upstreamBytes: 0, broken: [] }
  scan.upstreamBytes = documents.upstream?.bytes ?? 0
  scan.metadataBytes = scan.upstreamBytes + (documents.fetched?.bytes ?? 0) + (documents.local?.bytes ?? 0)
  const attempt = (document: DocumentKind, read: () => void) => {
    try {
      read()
    } catch (error) {
      if (!(error instanceof SinopiaError)) throw error
      scan.broken.push({ document, file: where(document), message: error.message })
    }
  }
  attempt('upstream', () => {
    const upstream = documents.upstream
    if (upstream?.text === null && upstream.raw) checkUpstream(upstream.raw, where('upstream'))
    else if (typeof upstream?.text === 'string') decodeUpstream(upstream.text, where('upstream'))
    scan.upstream = upstream !== null
  })
  attempt('fetched', () => {
    const text = documents.fetched?.text
    if (typeof text !== 'string') return
    scan.fetchedAt = decodeFetched(text, where('fetched')).fetchedAt
  })
  attempt('local', () => {
    const text = documents.local?.text
    if (typeof text !== 'string') return
    const local = parseJson<LocalDoc | null>(text, where('local'))
    if (!local) return
    if (!local.versions || typeof local.versions !== 'object') throw new SinopiaError('ECORRUPT', `${where('local')} has no versions`)
    scan.local = digests(local.versions)
  })
  return scan
}

function digests(versions: Record<string, Manifest>): Map<string, string | null> {
  const out = new Map<string, string | null>()
  for (const [version, manifest] of Object.entries(versions)) {
    out.set(version, sha512Of(expectedIntegrity(manifest && typeof manifest === 'object' ? manifest.dist : undefined) ?? undefined))
  }
  return out
}

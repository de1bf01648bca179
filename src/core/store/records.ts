import { createHash } from 'node:crypto'
import { SinopiaError } from '../errors.js'
import { jsonBytes } from '../json-bytes.js'
import { jsonSkeleton } from '../json-skeleton.js'
import type { FetchedRecord, UpstreamRecord } from './documents.js'

/**
 * The bytes of a stored uplink copy (upstream.json): the store owns this format. Pure, so the
 * registry's view worker can decode and encode big documents off the main thread with the
 * same code the store uses.
 */

export function encodeUpstream(record: UpstreamRecord, sizeHint?: number): Buffer {
  // The record, its document, and the document's maps opened: never the whole as one string.
  return jsonBytes(record, { depth: 3, ...(sizeHint ? { sizeHint } : {}) })
}

/**
 * A record of one uplink's document, around `doc`: the document's JSON as the uplink sent it
 * (checked, and found to need no change). Decodes to what encodeUpstream's record would; saves
 * serializing the document again, and holding it as text besides its bytes.
 */
export function encodeUpstreamAround(fields: Omit<UpstreamRecord, 'doc' | 'parts'>, doc: Uint8Array): Buffer {
  const head = Buffer.from(`${JSON.stringify(fields).slice(0, -1)}${Object.keys(fields).length ? ',' : ''}"doc":`)
  const out = Buffer.allocUnsafeSlow(head.length + doc.length + 1)
  head.copy(out, 0)
  out.set(doc, head.length)
  out[out.length - 1] = 0x7d // '}'
  return out
}

/** Throws ECORRUPT when `raw` is not a stored record; `where` names it in the message. */
export function decodeUpstream(raw: Uint8Array | string, where: string): UpstreamRecord {
  const record = parseJson<UpstreamRecord>(raw, where)
  const corrupt = () => new SinopiaError('ECORRUPT', `${where} holds no packument`, { hint: 'run `sinopia-cli verify --fix`' })
  if (!record || typeof record !== 'object' || !holdsPackument(record)) throw corrupt()
  // Records from one uplink (all those written before several were supported) have no parts.
  if (record.parts !== undefined) {
    if (!Array.isArray(record.parts) || record.parts.length === 0) throw corrupt()
    for (const part of record.parts) {
      if (!part || typeof part !== 'object' || typeof part.uplink !== 'string' || typeof part.upstreamUrl !== 'string' || !holdsPackument(part)) throw corrupt()
    }
  }
  return record
}

/**
 * decodeUpstream's checks, for a scan that only needs to know whether a stored copy would read
 * (verify): they run on the record's skeleton (see jsonSkeleton), whose syntax scan covers every
 * byte, instead of on the whole document. decodeUpstream looks at nothing below `doc.versions`
 * (level 2), or, in a record of several uplinks, `parts[i].doc.versions` (level 4): keep the
 * levels in step with it. Bytes the scan refuses are parsed whole, so the error (and the
 * answer, were the scan ever wrong to refuse them) is JSON.parse's.
 */
export function checkUpstream(raw: Uint8Array, where: string): void {
  const skeleton = jsonSkeleton(raw, RECORD_LEVELS)
  if (skeleton === null) {
    decodeUpstream(raw, where)
    return
  }
  const parts = parseJson<{ parts?: unknown } | null>(skeleton, where)?.parts
  decodeUpstream(parts === undefined ? skeleton : (jsonSkeleton(raw, PARTS_LEVELS) as string), where)
}

const RECORD_LEVELS = 2
const PARTS_LEVELS = 4

const holdsPackument = (holder: { doc?: unknown }) =>
  Boolean(holder.doc) && typeof holder.doc === 'object' && typeof (holder.doc as { versions?: unknown }).versions === 'object'


/**
 * fetched.json: when the uplink last answered for the name. Only a missing file means "never
 * fetched"; one that parses to anything but a record (`null`, `[]`) is ECORRUPT too, or a
 * publish would take an uplink package for a new local one.
 */
export function decodeFetched(raw: Uint8Array | string, where: string): FetchedRecord {
  const record = parseJson<FetchedRecord | null>(raw, where)
  if (!record || typeof record !== 'object' || typeof record.uplink !== 'string' || typeof record.fetchedAt !== 'number' || !timesOrNone(record.uplinks)) {
    throw new SinopiaError('ECORRUPT', `${where} holds no fetch record`, { hint: 'run `sinopia-cli verify --fix`' })
  }
  return record
}

const timesOrNone = (times: unknown) =>
  times === undefined || (Boolean(times) && typeof times === 'object' && Object.values(times as object).every((t) => typeof t === 'number'))

/** Content hash of a stored document: changes exactly when its bytes do. */
export const revOf = (raw: Uint8Array) => createHash('sha1').update(raw).digest('base64url').slice(0, 20)

/** `raw`: the stored bytes, or their text already decoded (a scan's documents: scan.ts). */
export function parseJson<T>(raw: Uint8Array | string, where: string): T {
  try {
    return JSON.parse(typeof raw === 'string' ? raw : Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength).toString('utf8')) as T
  } catch (error) {
    throw new SinopiaError('ECORRUPT', `${where} is not valid JSON`, { hint: 'run `sinopia-cli verify --fix`', cause: error })
  }
}

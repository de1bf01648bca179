import type { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { SinopiaError } from '../errors.js'
import { tarballSpec, type FetchedRecord, type LocalDoc, type Store } from '../store/index.js'
import type { Tally } from './report.js'

/**
 * The writes a migrate makes to the destination, each skipped when the destination already
 * holds the same thing (so a rerun after an interruption continues, and says what it skipped).
 * Documents are written by the caller inside the package's destination lock.
 */

/**
 * Copies one blob: streamed from `open()` into the destination's write, which hashes the bytes
 * against `integrity` as they pass and stores nothing that differs. Returns the sha512 integrity
 * the destination holds it under, or null when it was not copied (reported on `tally`).
 */
export async function copyBlob(
  dest: Store,
  blob: { key: string; integrity: string; size?: number },
  open: () => Promise<Readable | null>,
  tally: Tally,
): Promise<string | null> {
  const { key, integrity, size } = blob
  const held = await dest.blobs.open(integrity, key)
  if (held) {
    await held.handle.close()
    tally.blob('skipped', held.size)
    return held.integrity
  }
  try {
    const source = await open()
    if (!source) throw new SinopiaError('ENOTCACHED', 'the source holds no intact copy of its tarball (missing, or quarantined by the source store)')
    const write = dest.blobs.write(key, integrity, size)
    await pipeline(source, write.stream)
    const stored = await write.done
    tally.blob('copied', stored.size)
    return stored.integrity
  } catch (error) {
    tally.fail(tarballSpec(key), explainBlobError(error, integrity))
    return null
  }
}

/** A digest or size mismatch says the source's bytes are bad, not that the copy went wrong. */
function explainBlobError(error: unknown, integrity: string): unknown {
  const code = (error as { code?: unknown } | null)?.code
  if (code === 'EINTEGRITY' || code === 'EBADSIZE') {
    return new SinopiaError(code, `the source's bytes do not match ${integrity.slice(0, 24)}… (${(error as Error).message}): not copied`, { cause: error })
  }
  return error
}

/** An encoded upstream record (records.ts), written unless the destination holds the very bytes. */
export async function copyUpstreamBytes(dest: Store, name: string, raw: Buffer, tally: Tally): Promise<void> {
  const held = await dest.packages.readUpstreamBytes(name).catch(() => null)
  if (held?.raw.equals(raw)) return tally.document('skipped')
  await dest.packages.writeUpstreamBytes(name, raw)
  tally.document('copied')
}

export async function copyFetched(dest: Store, name: string, record: FetchedRecord, tally: Tally): Promise<void> {
  const held = await dest.packages.readFetched(name).catch(() => null)
  if (held && held.uplink === record.uplink && held.fetchedAt === record.fetchedAt) return tally.document('skipped')
  await dest.packages.writeFetched(name, record)
  tally.document('copied')
}

export async function copyLocal(dest: Store, name: string, doc: LocalDoc, tally: Tally): Promise<void> {
  const held = await dest.packages.readLocal(name).catch(() => null)
  if (held && JSON.stringify(held.doc) === JSON.stringify(doc)) return tally.document('skipped')
  await dest.packages.writeLocal(name, doc)
  tally.document('copied')
}

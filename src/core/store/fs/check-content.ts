import { errnoCode } from '../../errors.js'
import { TimeSlice } from '../../fs/time-slice.js'
import type { ContentCheck } from '../types.js'
import { sha512HexOfFileBlocking } from './blob-hash.js'
import { contentFiles, integrityOfHex, type ContentShare } from './listing.js'

/** Bytes read at once: a whole small tarball in one read. */
const CHECK_READ = 64 * 1024

/**
 * Every content file under `blobsDir` (or its `share`) re-hashed and compared with the hex
 * digest it is named by (Blobs.checkContent of the folder store). Files gone meanwhile (pruned,
 * unpublished) and anything that is not a file are skipped; a read error is reported, never
 * taken for a mismatch.
 */
export async function* checkContentFiles(blobsDir: string, share?: ContentShare): AsyncGenerator<ContentCheck> {
  const slice = new TimeSlice()
  const buffer = Buffer.allocUnsafe(CHECK_READ)
  for (const found of contentFiles(blobsDir, share)) {
    const integrity = integrityOfHex(found.name)
    let hashed: { hex: string; size: number } | null
    try {
      hashed = await sha512HexOfFileBlocking(found.path, buffer, slice)
    } catch (error) {
      const code = errnoCode(error)
      if (!code) throw error
      if (code === 'EISDIR') continue
      yield { integrity, location: found.path, result: 'unreadable', code }
      continue
    }
    if (hashed) yield { integrity, location: found.path, size: hashed.size, result: hashed.hex === found.name ? 'ok' : 'mismatch' }
    await slice.pause()
  }
}

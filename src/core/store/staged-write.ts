import type { BlobStage, BlobWrite } from './types.js'

/** Blobs.write as a stage committed at once: what both stores' write() is. */
export function committedAtOnce(staged: BlobStage): BlobWrite {
  const done = staged.done.then(async (blob) => {
    await blob.commit()
    return { integrity: blob.integrity, size: blob.size }
  })
  // The rejection is observed by whoever awaits `done`; keep an unobserved one from crashing us.
  done.catch(() => undefined)
  return { stream: staged.stream, done }
}

import { listContent } from './listing.js'

/** How many blobs the store holds and their bytes: one walk of the content tree (for metrics, in the background). */
export async function blobTotals(blobsDir: string): Promise<{ blobs: number; bytes: number }> {
  let blobs = 0
  let bytes = 0
  for await (const file of listContent(blobsDir)) {
    blobs++
    bytes += file.size
  }
  return { blobs, bytes }
}

import type { BlobEntry, Blobs } from '../../src/core/store/index.js'

/** Every entry of the streamed listing, sorted by key (the listing promises no order). */
export async function sortedEntries(blobs: Blobs): Promise<BlobEntry[]> {
  const out: BlobEntry[] = []
  for await (const entry of blobs.eachEntry()) out.push(entry)
  return out.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))
}

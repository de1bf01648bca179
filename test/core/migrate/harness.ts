import type { Store } from '../../../src/core/store/index.js'

/** The bytes the store serves under `key` (any integrity), or null when it has none. */
export async function blobBytes(store: Store, key: string): Promise<Buffer | null> {
  const blob = await store.blobs.open(undefined, key)
  if (!blob) return null
  try {
    return await blob.handle.readFile()
  } finally {
    await blob.handle.close()
  }
}

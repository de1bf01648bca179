import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { openStore } from '../../src/core/store/index.js'

/**
 * What the store at `location` (a folder or a database URL) holds, read through the store's own
 * interface (another handle on it, closed afterwards), so one assertion checks both backends.
 * `contents`: the integrity of every stored blob content; `packages`: every name with anything stored.
 */
export async function storedNow(location: string): Promise<{ packages: string[]; contents: string[] }> {
  const cache = await mkdtemp(path.join(tmpdir(), 'sinopia-reader-cache-'))
  const store = await openStore(location, { blobCache: cache })
  try {
    const contents: string[] = []
    for await (const content of store.blobs.content()) contents.push(content.integrity)
    return { packages: await store.packages.list(), contents }
  } finally {
    await store.close()
    await rm(cache, { recursive: true, force: true })
  }
}

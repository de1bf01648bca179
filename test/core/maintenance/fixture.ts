import { createHash } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { openFsStore, type FsStore } from '../../../src/core/store/fs/open.js'
import { tarballKey, type LocalDoc, type Manifest } from '../../../src/core/store/index.js'

/**
 * Stores built from a description, the way cacache's tests build caches from `{integrity: bytes}`:
 * uplink packuments, cached tarballs with a chosen fetch time, versions published here, usage.
 */

export const DAY = 24 * 60 * 60 * 1000

export interface TestStore {
  root: string
  store: FsStore
  cleanup(): Promise<void>
}

export async function tempStore(): Promise<TestStore> {
  const dir = await mkdtemp(path.join(tmpdir(), 'sinopia-maint-'))
  const store = await openFsStore(path.join(dir, 'storage'))
  return { root: store.root, store, cleanup: () => rm(dir, { recursive: true, force: true }) }
}

/** Deterministic bytes for name@version, `size` long. */
export function bytesOf(name: string, version: string, size = 1000): Buffer {
  const out = Buffer.alloc(size)
  let block = Buffer.alloc(0)
  for (let i = 0; i < size; i++) {
    if (i % 64 === 0) block = createHash('sha512').update(`${name}@${version}#${i}`).digest()
    out[i] = block[i % 64] as number
  }
  return out
}

export const integrityOf = (bytes: Buffer) => `sha512-${createHash('sha512').update(bytes).digest('base64')}`

function manifest(name: string, version: string, bytes: Buffer, base = 'http://127.0.0.1:9/'): Manifest {
  return { name, version, dist: { tarball: `${base}${name}/-/${name.split('/').pop()}-${version}.tgz`, integrity: integrityOf(bytes) } }
}

/** upstream.json (and fetched.json) of `name` advertising these versions. */
export async function addUpstream(store: FsStore, name: string, versions: Record<string, Buffer>, fetchedAt = Date.now()): Promise<void> {
  const doc = {
    name,
    'dist-tags': { latest: Object.keys(versions).at(-1) as string },
    versions: Object.fromEntries(Object.entries(versions).map(([v, bytes]) => [v, manifest(name, v, bytes)])),
  }
  await store.packages.withLock(name, async () => {
    await store.packages.writeUpstream(name, { uplink: 'npmjs', upstreamUrl: 'http://127.0.0.1:9/', doc })
    await store.packages.writeFetched(name, { uplink: 'npmjs', fetchedAt })
  })
}

/** A tarball in the blob store as if fetched at `time`: written through the store, its entry then appended again with that time. */
export async function cacheTarball(store: FsStore, name: string, version: string, bytes: Buffer, time = Date.now()): Promise<void> {
  await putBlob(store, tarballKey(name, version), bytes, time)
}

/** A blob stored under any key, its entry dated `time`. */
export async function putBlob(store: FsStore, key: string, bytes: Buffer, time = Date.now()): Promise<void> {
  const write = store.blobs.write(key, integrityOf(bytes), bytes.length)
  write.stream.end(bytes)
  await write.done
  await store.blobs.entries.put(key, { integrity: integrityOf(bytes), size: bytes.length, time, verified: true })
}

/** Versions published here: their tarballs and local.json. */
export async function publishLocal(store: FsStore, name: string, versions: Record<string, Buffer>, time = Date.now(), origin: LocalDoc['origin'] = 'local-only'): Promise<void> {
  for (const [version, bytes] of Object.entries(versions)) await cacheTarball(store, name, version, bytes, time)
  const doc: LocalDoc = {
    origin,
    versions: Object.fromEntries(Object.entries(versions).map(([v, bytes]) => [v, manifest(name, v, bytes)])),
    'dist-tags': { latest: Object.keys(versions).at(-1) as string },
    removedTags: [],
    deprecated: {},
    time: {},
    revision: 1,
  }
  await store.packages.withLock(name, () => store.packages.writeLocal(name, doc))
}

export async function setUsage(store: FsStore, uses: Record<string, number>): Promise<void> {
  await store.usage.update((usage) => {
    for (const [key, at] of Object.entries(uses)) usage.set(key, at)
  })
}

/** Keys of the tarballs the blob index holds, as name@version, sorted. */
export async function storedVersions(store: FsStore): Promise<string[]> {
  const keys: string[] = []
  for await (const entry of store.blobs.eachEntry()) keys.push(entry.key)
  return keys.map((key) => key.slice('tarball:'.length)).sort()
}

import { readFile, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { performance } from 'node:perf_hooks'
import { pathToFileURL } from 'node:url'
import { gzipSync } from 'node:zlib'
import { WORDS, digests, manifest, packument, prng, sentence, timeline } from './fixtures.js'

/**
 * The synthetic store of the scale mode, written through the built store interface
 * (dist/core/store), never by hand, so any store implementation behind openStore gets the same
 * data. Shape, for `packages` packages and `perPackage` tarballs per package:
 * - 1 in 100 packages has 10 x `perPackage` versions (a long-lived package), the rest `perPackage`;
 * - 1 in 10 is scoped (`@scale-N/...`);
 * - 1 in 200 was published here (local.json, no uplink copy), the rest are cached uplink
 *   packuments with a fetched record;
 * - every version has one tiny tarball of its own bytes (~300 B, unique content).
 * Everything is a pure function of (index, version), so a tarball removed by prune can be
 * written again (`restore`) and the store reused with --keep.
 */

/** Blob and package writes in flight at once: the write rate stops growing well before this (measured ~530 blobs/s at 32 and 128). */
const WRITERS = 32
const MARKER = 'scale-store.json'

export const nameOf = (i) => (i % 10 === 1 ? `@scale-${i % 7}/pkg-${i}` : `scale-pkg-${i}`)
export const isLocal = (i) => i % 200 === 3
export const versionCount = (i, perPackage) => (i % 100 === 7 ? 10 * perPackage : perPackage)
export const versionOf = (v) => `1.${v}.0`
/**
 * The texts of the search row: every word of the store's descriptions and keywords (each in
 * 3 to 4 of 5 packages, as `parser` the row once asked alone), pairs of them, and parts of
 * names (a few to all packages), so that remembered answers alone cannot carry the row.
 */
export function searchTexts() {
  const pairs = WORDS.slice(0, 16).map((word, i) => `${word} ${WORDS[(i * 5 + 3) % WORDS.length]}`)
  return [...WORDS, ...pairs, 'scale-pkg-4242', 'pkg-99', '@scale-3', 'scale', 'pkg-1 parser']
}

/** The search row's requests, taken in turn by each connection (size 20, as npm asks). */
export function searchRequests() {
  return searchTexts().map((text) => ({ method: 'GET', path: `/-/v1/search?text=${encodeURIComponent(text)}&size=20` }))
}

/** The index of a package from its name (for restoring what prune removed). */
export const indexOf = (name) => Number(/(\d+)$/.exec(name)?.[1])

/** The tarball bytes of one version: gzip of a few lines naming it, so every version's content differs. */
export function tarballOf(name, version) {
  const rand = prng(hashSeed(`${name}@${version}`))
  return gzipSync(`package ${name}@${version}\n${sentence(rand, 40)}\n${sentence(rand, 40)}\n`)
}

function hashSeed(text) {
  let h = 2166136261
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 16777619)
  return h >>> 0
}

const fileName = (name) => name.slice(name.lastIndexOf('/') + 1)

/** The documents of package `i`: manifests with the tarballs' digests, and the tarballs. */
export function packageOf(i, perPackage, upstreamUrl) {
  const name = nameOf(i)
  const rand = prng(i + 1)
  const count = versionCount(i, perPackage)
  const manifests = {}
  const tarballs = []
  for (let v = 0; v < count; v++) {
    const version = versionOf(v)
    const bytes = tarballOf(name, version)
    const dist = { ...digests(bytes), tarball: `${upstreamUrl}/${name}/-/${fileName(name)}-${version}.tgz` }
    manifests[version] = manifest(rand, name, version, dist)
    tarballs.push({ version, bytes, integrity: dist.integrity })
  }
  return { name, manifests, tarballs, times: timeline(count) }
}

/**
 * Writes the store at `root` unless the marker there says it holds exactly this shape already
 * (--keep). Returns `{ reused, seconds, packages, tarballs, bytes, blobsPerSecond }`.
 */
export async function writeScaleStore({ root, distDir, packages, perPackage, upstreamUrl, log, stopped }) {
  const marker = path.join(root, MARKER)
  const want = { packages, perPackage, upstreamUrl: 'any' }
  const found = await readFile(marker, 'utf8').then(JSON.parse, () => null)
  if (found && found.packages === packages && found.perPackage === perPackage && found.complete) {
    return { ...found, reused: true }
  }
  const { openStore, encodeUpstream, tarballKey } = await import(pathToFileURL(path.join(distDir, 'core/store/index.js')).href)
  const store = await openStore(path.join(root, 'storage'))
  const began = performance.now()
  let next = 0
  let tarballs = 0
  let bytes = 0
  let lastLog = began
  const writePackage = async (i) => {
    const { name, manifests, tarballs: blobs, times } = packageOf(i, perPackage, upstreamUrl)
    // The tarballs first, as a fetch or a publish stores them before the document that names them.
    await Promise.all(blobs.map((t) => writeBlob(store, tarballKey(name, t.version), t)))
    tarballs += blobs.length
    bytes += blobs.reduce((sum, t) => sum + t.bytes.length, 0)
    const doc = packument(prng(i + 7), name, manifests, times)
    await store.packages.withLock(name, async () => {
      if (isLocal(i)) {
        await store.packages.writeLocal(name, localDoc(doc))
        return
      }
      await store.packages.writeUpstreamBytes(name, encodeUpstream({ uplink: 'npmjs', upstreamUrl, etag: `"scale-${i}"`, doc }))
      await store.packages.writeFetched(name, { uplink: 'npmjs', fetchedAt: Date.now() })
    })
  }
  // A package's tarballs go in parallel; WRITERS / 4 packages at once keeps ~WRITERS blobs in flight.
  await Promise.all(
    Array.from({ length: Math.max(1, WRITERS / 4) }, async () => {
      while (next < packages && !stopped()) {
        await writePackage(next++)
        const now = performance.now()
        if (now - lastLog > 15_000) {
          lastLog = now
          log(`scale: written ${next} / ${packages} packages, ${tarballs} tarballs (${Math.round(tarballs / ((now - began) / 1000))} tarballs/s)`)
        }
      }
    }),
  )
  const seconds = (performance.now() - began) / 1000
  const result = { packages, perPackage, tarballs, bytes, seconds: Math.round(seconds), blobsPerSecond: Math.round(tarballs / seconds), complete: !stopped() }
  await writeFile(marker, `${JSON.stringify({ ...result, want })}\n`)
  return { ...result, reused: false }
}

/** Writes the tarballs of `specs` (`{ name, version }`) again: what a prune of the bench removed, so --keep keeps the same store. */
export async function restoreTarballs({ root, distDir, specs }) {
  const { openStore, tarballKey } = await import(pathToFileURL(path.join(distDir, 'core/store/index.js')).href)
  const store = await openStore(path.join(root, 'storage'))
  let next = 0
  await Promise.all(
    Array.from({ length: WRITERS }, async () => {
      while (next < specs.length) {
        const { name, version } = specs[next++]
        const bytes = tarballOf(name, version)
        await writeBlob(store, tarballKey(name, version), { bytes, integrity: digests(bytes).integrity })
      }
    }),
  )
}

async function writeBlob(store, key, { bytes, integrity }) {
  const write = store.blobs.write(key, integrity, bytes.length)
  write.stream.end(bytes)
  await write.done
}

/** What a publish here would have stored for the document (see LocalDoc in src/core/store/documents.ts). */
function localDoc(doc) {
  return {
    origin: 'local-only',
    versions: doc.versions,
    'dist-tags': doc['dist-tags'] ?? {},
    removedTags: [],
    deprecated: {},
    time: doc.time ?? {},
    revision: 1,
    readme: doc.readme,
    description: doc.description,
    maintainers: doc.maintainers,
  }
}

/**
 * A package-lock.json (v3) naming `count` of the store's packages, spread evenly over it, each
 * at its latest version with the registry's resolved URL and integrity: what lock-sync --check reads.
 */
export function scaleLockfile({ packages, perPackage, count, registryUrl }) {
  const lock = { name: 'scale-project', version: '1.0.0', lockfileVersion: 3, requires: true, packages: { '': { name: 'scale-project', version: '1.0.0', dependencies: {} } } }
  const step = Math.max(1, Math.floor(packages / count))
  for (let n = 0, i = 0; n < count && i < packages; n++, i += step) {
    const name = nameOf(i)
    const version = versionOf(versionCount(i, perPackage) - 1)
    const bytes = tarballOf(name, version)
    lock.packages[''].dependencies[name] = `^${version}`
    lock.packages[`node_modules/${name}`] = { version, resolved: `${registryUrl}${name}/-/${fileName(name)}-${version}.tgz`, integrity: digests(bytes).integrity }
  }
  return lock
}

import { createHash, randomBytes, type KeyObject } from 'node:crypto'
import { createWriteStream } from 'node:fs'
import { rename, rm } from 'node:fs/promises'
import path from 'node:path'
import { once } from 'node:events'
import semver from 'semver'
import { SinopiaError, errnoCode } from '../errors.js'
import type { Registry } from '../registry/index.js'
import { expectedIntegrity, tarballKey, type Packument, type Store } from '../store/index.js'
import type { Failure } from '../sync/events.js'
import { codeOf, messageOf } from '../sync/sync.js'
import { attestationsOf, type Attestations } from './attestations.js'
import { BUNDLE_FORMAT, MANIFEST_ENTRY, SIGNATURE_ENTRY, attestationEntry, blobEntry, sortManifest, type BundleManifest, type BundlePackage } from './format.js'
import { signManifest } from './sign.js'
import { TarWriter } from './tar-writer.js'

export interface WriteOptions {
  out: string
  tool: { name: string; version: string }
  /** The manifest's creation time; default: the newest publish time among the included versions. */
  created?: Date
  /** name@version pairs to leave out (--since: what an older bundle holds). */
  exclude?: ReadonlySet<string>
  sign?: KeyObject
}

export interface WriteResult {
  file: string
  created: string
  packages: number
  versions: number
  blobs: number
  /** Versions whose uplink attestations the bundle carries. */
  attestations: number
  /** The bundle's size. */
  bytes: number
  sha256: string
  /** Left out because the older bundle holds them. */
  excluded: number
  failed: Failure[]
}

/**
 * Writes a bundle of `wanted` (name@version pairs the store holds) to `out`: the trimmed packuments
 * and each tarball, read from the store and re-hashed on the way, so the bundle never carries bytes
 * whose digest was not checked. Nothing is written when any pair cannot be included: the result
 * lists them (failed) and the file is left as it was.
 */
export async function writeBundle(registry: Registry, wanted: Array<{ name: string; version: string }>, options: WriteOptions): Promise<WriteResult> {
  const { store } = registry
  const failed: Failure[] = []
  const byName = new Map<string, Set<string>>()
  let excluded = 0
  for (const { name, version } of wanted) {
    if (options.exclude?.has(`${name}@${version}`)) {
      excluded++
      continue
    }
    byName.set(name, (byName.get(name) ?? new Set()).add(version))
  }
  const packages: BundlePackage[] = []
  const attestations = new Map<string, Buffer>()
  const times: number[] = []
  for (const name of [...byName.keys()].sort()) {
    try {
      const pkg = await describe(registry, name, [...(byName.get(name) ?? [])], failed, attestations)
      if (!pkg) continue
      packages.push(pkg)
      for (const v of pkg.versions) {
        const time = Date.parse(pkg.packument.time?.[v.version] ?? '')
        if (Number.isFinite(time)) times.push(time)
      }
    } catch (error) {
      failed.push({ package: name, code: codeOf(error), message: messageOf(error) })
    }
  }
  const created = new Date(options.created ?? (times.length > 0 ? Math.max(...times) : 0))
  // Seconds: the tar mtime field holds no more, and the manifest must say what the entries say.
  created.setUTCMilliseconds(0)
  const manifest = sortManifest({ format: BUNDLE_FORMAT, created: created.toISOString(), tool: options.tool, packages })
  const result: WriteResult = {
    file: options.out,
    created: manifest.created,
    packages: packages.length,
    versions: packages.reduce((n, p) => n + p.versions.length, 0),
    blobs: 0,
    attestations: attestations.size,
    bytes: 0,
    sha256: '',
    excluded,
    failed,
  }
  if (failed.length > 0) return result
  const written = await writeTar(store, manifest, attestations, created, options)
  return { ...result, ...written }
}

/**
 * One package's entry: each version's stored blob (sha512, size), its uplink attestations when the
 * packument points at some (added to `attestations` by entry name), and the packument trimmed to
 * those versions.
 */
async function describe(registry: Registry, name: string, versions: string[], failed: Failure[], attestations: Map<string, Buffer>): Promise<BundlePackage | null> {
  const doc = await registry.packuments.document(name)
  if (!doc) {
    for (const version of versions) failed.push({ package: `${name}@${version}`, code: 'ENOTCACHED', message: `the store has no packument for ${name}` })
    return null
  }
  const upstream = (await registry.store.packages.readUpstream(name).catch(() => null))?.record
  const included: BundlePackage['versions'] = []
  for (const version of versions) {
    const id = `${name}@${version}`
    const manifest = doc.versions[version]
    if (!manifest) {
      failed.push({ package: id, code: 'ETARGET', message: `the stored packument of ${name} has no version ${version}` })
      continue
    }
    const blob = await registry.store.blobs.open(expectedIntegrity(manifest.dist) ?? undefined, tarballKey(name, version))
    if (!blob) {
      failed.push({ package: id, code: 'ENOTCACHED', message: 'its tarball is not in the store' })
      continue
    }
    await blob.handle.close()
    let proofs: Attestations | null
    try {
      proofs = await attestationsOf(registry, name, version, manifest, upstream?.uplink)
    } catch (error) {
      failed.push({ package: id, code: codeOf(error), message: `its attestations: ${messageOf(error)}` })
      continue
    }
    if (proofs) attestations.set(attestationEntry(name, version), proofs.bytes)
    included.push({ version, integrity: blob.integrity, size: blob.size, ...(proofs ? { attestations: { integrity: proofs.integrity, size: proofs.bytes.length } } : {}) })
  }
  if (included.length === 0) return null
  const upstreamUrl = upstream?.upstreamUrl
  return { name, ...(upstreamUrl ? { upstreamUrl } : {}), versions: included, packument: trim(doc, new Set(versions)) }
}

/** The packument as if only `keep` were published: its versions, their times, the tags that point at them. */
export function trim(doc: Packument, keep: ReadonlySet<string>): Packument {
  const versions: Packument['versions'] = {}
  for (const version of semver.sort([...keep].filter((v) => doc.versions[v]))) versions[version] = doc.versions[version] as Packument['versions'][string]
  const time: Record<string, string> = {}
  for (const [key, value] of Object.entries(doc.time ?? {})) if (key === 'created' || key === 'modified' || keep.has(key)) time[key] = value
  const tags: Record<string, string> = {}
  for (const [tag, version] of Object.entries(doc['dist-tags'] ?? {})) if (keep.has(version)) tags[tag] = version
  const trimmed: Packument = { ...doc, 'dist-tags': tags, versions, time }
  // Revision markers of this store mean nothing to the one that imports it.
  delete trimmed._rev
  return trimmed
}

async function writeTar(
  store: Store,
  manifest: BundleManifest,
  attestations: Map<string, Buffer>,
  created: Date,
  options: WriteOptions,
): Promise<Pick<WriteResult, 'blobs' | 'bytes' | 'sha256'>> {
  const raw = Buffer.from(JSON.stringify(manifest) + '\n')
  const users = new Map<string, string[]>()
  for (const pkg of manifest.packages) {
    for (const v of pkg.versions) users.set(v.integrity, [...(users.get(v.integrity) ?? []), `${pkg.name}@${v.version}`])
  }
  const blobs = [...users.keys()].map((integrity) => ({ integrity, entry: blobEntry(integrity) })).sort((a, b) => (a.entry < b.entry ? -1 : 1))
  const tmp = path.join(path.dirname(path.resolve(options.out)), `.${path.basename(options.out)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`)
  const out = createWriteStream(tmp, { flags: 'wx' })
  const sha256 = createHash('sha256')
  let bytes = 0
  let failure: Error | null = null
  out.on('error', (error) => {
    failure ??= error
  })
  const tar = new TarWriter(async (chunk) => {
    if (failure) throw failure
    sha256.update(chunk)
    bytes += chunk.length
    if (!out.write(chunk)) await once(out, 'drain')
  }, created)
  let done = false
  try {
    await tar.file(MANIFEST_ENTRY, raw)
    if (options.sign) await tar.file(SIGNATURE_ENTRY, Buffer.from(JSON.stringify(signManifest(raw, options.sign)) + '\n'))
    for (const entry of [...attestations.keys()].sort()) await tar.file(entry, attestations.get(entry) as Buffer)
    for (const { integrity, entry } of blobs) await copyBlob(store, tar, integrity, entry, users.get(integrity) ?? [])
    await tar.end()
    out.end()
    await once(out, 'finish')
    await rename(tmp, options.out)
    done = true
  } catch (error) {
    if (error instanceof SinopiaError || errnoCode(error) === undefined) throw error
    throw new SinopiaError('EWRITE', `cannot write ${options.out} (${errnoCode(error) ?? ''})`, { hint: 'check that its folder exists and is writable', cause: error })
  } finally {
    if (!done) {
      out.destroy()
      await rm(tmp, { force: true })
    }
  }
  return { blobs: blobs.length, bytes, sha256: sha256.digest('hex') }
}

/** Copies a stored blob into the tar, hashing it as it goes; bytes that no longer match their name abort the bundle. */
async function copyBlob(store: Store, tar: TarWriter, integrity: string, entry: string, ids: string[]): Promise<void> {
  const [first] = ids
  const at = first ? first.lastIndexOf('@') : -1
  const blob = first ? await store.blobs.open(integrity, tarballKey(first.slice(0, at), first.slice(at + 1))) : null
  if (!blob) throw new SinopiaError('ENOTCACHED', `the tarball of ${ids.join(', ')} left the store while the bundle was written`, { hint: 'run the command again' })
  try {
    await tar.header(entry, blob.size)
    const digest = createHash('sha512')
    const buf = Buffer.alloc(1024 * 1024)
    for (let pos = 0; pos < blob.size; ) {
      const { bytesRead } = await blob.handle.read(buf, 0, Math.min(buf.length, blob.size - pos), pos)
      if (bytesRead === 0) throw new SinopiaError('ECORRUPT', `the stored tarball of ${ids.join(', ')} is shorter than its recorded size`)
      const chunk = buf.subarray(0, bytesRead)
      digest.update(chunk)
      await tar.data(Buffer.from(chunk))
      pos += bytesRead
    }
    if (`sha512-${digest.digest('base64')}` !== integrity) {
      throw new SinopiaError('ECORRUPT', `the stored tarball of ${ids.join(', ')} does not hash to ${integrity}`, { hint: 'run `sinopia-cli verify --fix`, then create the bundle again' })
    }
    await tar.pad(blob.size)
  } finally {
    await blob.handle.close()
  }
}

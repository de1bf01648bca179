import { createHash, type KeyObject } from 'node:crypto'
import ssri from 'ssri'
import { SinopiaError } from '../errors.js'
import { expectedIntegrity } from '../store/index.js'
import { MANIFEST_ENTRY, SIGNATURE_ENTRY, integrityOfEntry, parseManifest, type BundleManifest } from './format.js'
import { checkSignature, type SignatureCheck } from './sign.js'
import { bundleSize, readAll, readTar, type TarEntry } from './tar-reader.js'

/** manifest.json (and its signature) are read into memory; a bundle claiming more is refused. */
export const MAX_MANIFEST_BYTES = 512 * 1024 * 1024

export interface BundleProblem {
  /** name@version (or name) the problem concerns, when it concerns one. */
  package?: string
  message: string
}

export interface BundleReport {
  file: string
  /** Size of the bundle file. */
  bytes: number
  manifest: BundleManifest | null
  signature: SignatureCheck
  packages: number
  versions: number
  blobs: number
  problems: BundleProblem[]
  /** Every check passed (and the signature, when one was required). */
  ok: boolean
}

export interface VerifyOptions {
  /** The key the manifest must be signed with (--require-signature). */
  trusted?: KeyObject | null
  /** Called with each blob entry once its bytes were hashed (import streams the verified bytes on). */
  onBlob?: (integrity: string, ok: boolean) => void
}

/**
 * Checks a bundle end to end, reading it once: the format, manifest.json, every tarball's sha512
 * against its name and the manifest, that every listed version has its tarball and that each
 * packument's dist agrees with the manifest, and the signature. Problems name the package.
 */
export async function verifyBundle(file: string, options: VerifyOptions = {}): Promise<BundleReport> {
  const report: BundleReport = { file, bytes: await bundleSize(file), manifest: null, signature: { status: 'absent' }, packages: 0, versions: 0, blobs: 0, problems: [], ok: false }
  const entries = readTar(file)
  try {
    await scan(entries, report, options)
  } catch (error) {
    // A damaged tar (truncated, a bad header checksum) ends the scan; what was found so far stays reported.
    if (!(error instanceof SinopiaError && error.code === 'EBUNDLE')) throw error
    report.problems.push({ message: error.message })
  } finally {
    await entries.return(undefined)
  }
  report.ok = report.problems.length === 0
  return report
}

async function scan(entries: AsyncGenerator<TarEntry>, report: BundleReport, options: VerifyOptions): Promise<void> {
  const problem = (message: string, pkg?: string) => report.problems.push({ ...(pkg ? { package: pkg } : {}), message })
  const first = await next(entries)
  if (first?.path !== MANIFEST_ENTRY) {
    problem(`the first entry is ${first ? first.path : 'missing'}, not ${MANIFEST_ENTRY}: not a sinopia-cli bundle`)
    return
  }
  const raw = await readAll(first, MAX_MANIFEST_BYTES)
  let manifest: BundleManifest
  try {
    manifest = parseManifest(raw)
  } catch (error) {
    if (error instanceof SinopiaError) {
      problem(error.message)
      return
    }
    throw error
  }
  report.manifest = manifest
  report.packages = manifest.packages.length
  // Which versions each blob carries, and the sha1 each must also match (versions with only a shasum).
  const users = new Map<string, string[]>()
  const sizes = new Map<string, number>()
  for (const pkg of manifest.packages) {
    for (const v of pkg.versions) {
      report.versions++
      const integrity = v.integrity
      users.set(integrity, [...(users.get(integrity) ?? []), `${pkg.name}@${v.version}`])
      if (typeof v.size === 'number') sizes.set(integrity, v.size)
    }
  }

  const seen = new Map<string, { sha1: string }>()
  let signature: Buffer | null = null
  let previous = ''
  let entry = await next(entries)
  if (entry?.path === SIGNATURE_ENTRY) {
    signature = await readAll(entry, MAX_MANIFEST_BYTES)
    entry = await next(entries)
  }
  for (; entry; entry = await next(entries)) {
    const integrity = integrityOfEntry(entry.path)
    if (!integrity) {
      problem(`unexpected entry ${entry.path}`)
      continue
    }
    if (entry.path <= previous) problem(`entry ${entry.path} is out of order or repeated`)
    previous = entry.path
    const named = (users.get(integrity) ?? []).join(', ')
    if (!users.has(integrity)) problem(`${entry.path} belongs to no version in the manifest`)
    const sha512 = createHash('sha512')
    const sha1 = createHash('sha1')
    for await (const chunk of entry.body()) {
      sha512.update(chunk)
      sha1.update(chunk)
    }
    report.blobs++
    const ok = `sha512-${sha512.digest('base64')}` === integrity
    if (!ok) problem(`its tarball (${entry.path}) does not hash to ${integrity}`, named || undefined)
    else if (sizes.has(integrity) && sizes.get(integrity) !== entry.size) problem(`its tarball is ${entry.size} bytes, the manifest says ${String(sizes.get(integrity))}`, named || undefined)
    else seen.set(integrity, { sha1: `sha1-${sha1.digest('base64')}` })
    options.onBlob?.(integrity, ok)
  }

  for (const pkg of manifest.packages) {
    const doc = pkg.packument
    if (doc.name !== pkg.name) problem(`its packument is named ${String(doc.name)}`, pkg.name)
    const listed = new Set(pkg.versions.map((v) => v.version))
    for (const version of Object.keys(doc.versions ?? {})) if (!listed.has(version)) problem('its packument has a version the manifest does not list', `${pkg.name}@${version}`)
    for (const v of pkg.versions) {
      const id = `${pkg.name}@${v.version}`
      const blob = seen.get(v.integrity)
      if (!blob) {
        if (!report.problems.some((p) => p.package?.split(', ').includes(id))) problem(`its tarball (${v.integrity}) is not in the bundle`, id)
        continue
      }
      const manifestOfVersion = doc.versions?.[v.version]
      const expected = expectedIntegrity(manifestOfVersion?.dist)
      if (!manifestOfVersion) problem('its packument lacks the version', id)
      else if (!expected) problem('its packument gives no integrity or shasum for the version', id)
      else if (!ssri.parse(expected).match(ssri.parse(`${v.integrity} ${blob.sha1}`))) problem(`its packument says ${expected}, the manifest ${v.integrity}`, id)
      else if (typeof manifestOfVersion.dist?.shasum === 'string' && expectedIntegrity({ shasum: manifestOfVersion.dist.shasum }) !== blob.sha1) {
        problem(`its packument's shasum ${manifestOfVersion.dist.shasum} does not match its tarball`, id)
      }
    }
  }

  report.signature = checkSignature(raw, signature, options.trusted ?? null)
  if (report.signature.status === 'invalid') problem(`signature: ${report.signature.reason}`)
}

async function next(entries: AsyncGenerator<TarEntry>): Promise<TarEntry | null> {
  const step = await entries.next()
  return step.done ? null : step.value
}

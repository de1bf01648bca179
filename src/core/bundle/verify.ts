import { createHash, type KeyObject } from 'node:crypto'
import ssri from 'ssri'
import { SinopiaError } from '../errors.js'
import { expectedIntegrity } from '../store/index.js'
import { MANIFEST_ENTRY, SIGNATURE_ENTRY, attestationEntry, integrityOfEntry, parseManifest, type BundleManifest } from './format.js'
import { checkSignature, type SignatureCheck } from './sign.js'
import { bundleSize, readAll, readTar, type TarEntry } from './tar-reader.js'

/** manifest.json (and its signature) are read into memory; a bundle claiming more is refused. */
export const MAX_MANIFEST_BYTES = 512 * 1024 * 1024
/** An attestation entry is read into memory too (the uplink's answers are a few kB). */
export const MAX_ATTESTATION_BYTES = 16 * 1024 * 1024

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
}

/**
 * Checks a bundle end to end, reading it once: the format, manifest.json, every tarball's sha512
 * against its name and the manifest, that every listed version has its tarball and that each
 * packument's dist agrees with the manifest, and the signature. Problems name the package.
 */
export async function verifyBundle(file: string, options: VerifyOptions = {}): Promise<BundleReport> {
  const scan = new BundleScan(file, await bundleSize(file))
  const entries = readTar(file)
  try {
    for (let entry = await scan.head(entries, options.trusted ?? null); entry; entry = await scan.next(entries)) await scan.entry(entry)
  } catch (error) {
    scan.damaged(error)
  } finally {
    await entries.return(undefined)
  }
  return scan.finish()
}

/**
 * One pass over a bundle's entries, in file order, for verify and import alike: `head` reads and
 * checks manifest.json and its signature (before import writes anything), `entry` hashes each
 * later entry (handing a blob's bytes to a sink as they are hashed), `finish` checks what needs
 * every entry seen (missing tarballs, packument digests) and settles the report.
 */
export class BundleScan {
  readonly report: BundleReport
  /** Which versions each blob carries, and the size the manifest gives it. */
  private readonly users = new Map<string, string[]>()
  private readonly sizes = new Map<string, number>()
  /** Attestation entries the manifest lists: entry name -> its version and digest. */
  private readonly attestations = new Map<string, { id: string; integrity: string }>()
  /** Blobs whose bytes hashed right, with their sha1 (versions with only a shasum). */
  private readonly seen = new Map<string, { sha1: string }>()
  private readonly seenAttestations = new Set<string>()
  private previous = ''

  constructor(file: string, bytes: number) {
    this.report = { file, bytes, manifest: null, signature: { status: 'absent' }, packages: 0, versions: 0, blobs: 0, problems: [], ok: false }
  }

  problem(message: string, pkg?: string): void {
    this.report.problems.push({ ...(pkg ? { package: pkg } : {}), message })
  }

  /** A damaged tar (truncated, a bad header checksum) ends the scan; what was found so far stays reported. */
  damaged(error: unknown): void {
    if (!(error instanceof SinopiaError && error.code === 'EBUNDLE')) throw error
    this.problem(error.message)
  }

  async next(entries: AsyncGenerator<TarEntry>): Promise<TarEntry | null> {
    const step = await entries.next()
    return step.done ? null : step.value
  }

  /**
   * Reads manifest.json and manifest.json.sig and checks the manifest's shape and the signature.
   * Returns the first entry after them, or null when there is none or the scan cannot go on.
   */
  async head(entries: AsyncGenerator<TarEntry>, trusted: KeyObject | null): Promise<TarEntry | null> {
    const first = await this.next(entries)
    if (first?.path !== MANIFEST_ENTRY) {
      this.problem(`the first entry is ${first ? first.path : 'missing'}, not ${MANIFEST_ENTRY}: not a sinopia-cli bundle`)
      return null
    }
    const raw = await readAll(first, MAX_MANIFEST_BYTES)
    let manifest: BundleManifest
    try {
      manifest = parseManifest(raw)
    } catch (error) {
      if (error instanceof SinopiaError) {
        this.problem(error.message)
        return null
      }
      throw error
    }
    this.report.manifest = manifest
    this.report.packages = manifest.packages.length
    for (const pkg of manifest.packages) {
      for (const v of pkg.versions) {
        this.report.versions++
        const id = `${pkg.name}@${v.version}`
        this.users.set(v.integrity, [...(this.users.get(v.integrity) ?? []), id])
        if (typeof v.size === 'number') this.sizes.set(v.integrity, v.size)
        if (v.attestations) this.attestations.set(attestationEntry(pkg.name, v.version), { id, integrity: v.attestations.integrity })
      }
    }
    let entry = await this.next(entries)
    let signature: Buffer | null = null
    if (entry?.path === SIGNATURE_ENTRY) {
      signature = await readAll(entry, MAX_MANIFEST_BYTES)
      entry = await this.next(entries)
    }
    this.report.signature = checkSignature(raw, signature, trusted)
    if (this.report.signature.status === 'invalid') this.problem(`signature: ${this.report.signature.reason}`)
    return entry
  }

  /**
   * Checks one entry after the head. A blob's chunks go to `sink` (awaited) as they are hashed,
   * before the digest is known: the sink must check it too (the store's blob write does).
   * Says whether the entry's bytes are what the manifest says.
   */
  async entry(entry: TarEntry, sink?: (chunk: Buffer) => Promise<void>): Promise<boolean> {
    const integrity = integrityOfEntry(entry.path)
    const attestation = this.attestations.get(entry.path)
    if (!integrity && !attestation) {
      this.problem(`unexpected entry ${entry.path}`)
      return false
    }
    if (entry.path <= this.previous) this.problem(`entry ${entry.path} is out of order or repeated`)
    this.previous = entry.path
    if (attestation) {
      const bytes = await readAll(entry, MAX_ATTESTATION_BYTES)
      if (sink) await sink(bytes)
      const ok = ssri.checkData(bytes, attestation.integrity) !== false
      if (ok) this.seenAttestations.add(entry.path)
      else this.problem(`its attestations (${entry.path}) do not hash to ${attestation.integrity}`, attestation.id)
      return ok
    }
    const blob = integrity as string
    const named = (this.users.get(blob) ?? []).join(', ')
    if (!this.users.has(blob)) this.problem(`${entry.path} belongs to no version in the manifest`)
    const sha512 = createHash('sha512')
    const sha1 = createHash('sha1')
    for await (const chunk of entry.body()) {
      sha512.update(chunk)
      sha1.update(chunk)
      if (sink) await sink(chunk)
    }
    this.report.blobs++
    if (`sha512-${sha512.digest('base64')}` !== blob) {
      this.problem(`its tarball (${entry.path}) does not hash to ${blob}`, named || undefined)
      return false
    }
    if (this.sizes.has(blob) && this.sizes.get(blob) !== entry.size) {
      this.problem(`its tarball is ${entry.size} bytes, the manifest says ${String(this.sizes.get(blob))}`, named || undefined)
      return false
    }
    this.seen.set(blob, { sha1: `sha1-${sha1.digest('base64')}` })
    return true
  }

  /** Checks what needs every entry seen, and settles `ok`. */
  finish(): BundleReport {
    const { manifest } = this.report
    for (const pkg of manifest?.packages ?? []) {
      const doc = pkg.packument
      if (doc.name !== pkg.name) this.problem(`its packument is named ${String(doc.name)}`, pkg.name)
      const listed = new Set(pkg.versions.map((v) => v.version))
      for (const version of Object.keys(doc.versions ?? {})) if (!listed.has(version)) this.problem('its packument has a version the manifest does not list', `${pkg.name}@${version}`)
      for (const v of pkg.versions) this.checkVersion(pkg.name, v.version, v.integrity, doc.versions?.[v.version])
      for (const v of pkg.versions) {
        const entry = attestationEntry(pkg.name, v.version)
        if (v.attestations && !this.seenAttestations.has(entry) && !this.mentions(`${pkg.name}@${v.version}`)) this.problem(`its attestations (${entry}) are not in the bundle`, `${pkg.name}@${v.version}`)
      }
    }
    this.report.ok = this.report.problems.length === 0
    return this.report
  }

  private checkVersion(name: string, version: string, integrity: string, manifest: { dist?: { integrity?: unknown; shasum?: unknown } } | undefined): void {
    const id = `${name}@${version}`
    const blob = this.seen.get(integrity)
    if (!blob) {
      if (!this.mentions(id)) this.problem(`its tarball (${integrity}) is not in the bundle`, id)
      return
    }
    const dist = manifest?.dist
    const expected = expectedIntegrity(dist)
    if (!manifest) this.problem('its packument lacks the version', id)
    else if (!expected) this.problem('its packument gives no integrity or shasum for the version', id)
    else if (!ssri.parse(expected).match(ssri.parse(`${integrity} ${blob.sha1}`))) this.problem(`its packument says ${expected}, the manifest ${integrity}`, id)
    else if (typeof dist?.shasum === 'string' && expectedIntegrity({ shasum: dist.shasum }) !== blob.sha1) {
      this.problem(`its packument's shasum ${dist.shasum} does not match its tarball`, id)
    }
  }

  /** A problem already names this version. */
  private mentions(id: string): boolean {
    return this.report.problems.some((p) => p.package?.split(', ').includes(id))
  }
}

/**
 * The bundle format, version 1. This comment is the one place it is described.
 *
 * A bundle is a plain, uncompressed tar (ustar, with a pax header where a name is longer than
 * ustar allows), readable by any tar tool, holding in this order:
 *
 *   manifest.json                  the manifest (below), UTF-8 JSON
 *   manifest.json.sig              optional: {"algorithm", "fingerprint", "publicKey", "signature"}, a
 *                                  detached signature over the exact bytes of manifest.json
 *                                  (Ed25519, or ECDSA with SHA-256); fingerprint = sha256 of the
 *                                  public key's SPKI DER, as "SHA256:<base64>"
 *   attestations/<name>@<version>.json
 *                                  optional, one per version whose uplink served its attestations
 *                                  (GET /-/npm/v1/attestations/<name>@<version>, the sigstore bundles
 *                                  its packument's dist.attestations points at): the answer's bytes
 *                                  as served, sorted by name
 *   blobs/sha512/<hex>.tgz         one tarball per distinct content, named by its sha512 hex digest,
 *                                  sorted by name
 *
 * manifest.json:
 *   { "format": 1, "created": ISO time, "tool": {"name", "version"},
 *     "packages": [ { "name", "upstreamUrl"?,
 *                     "versions": [ {"version", "integrity": "sha512-…", "size",
 *                                    "attestations"?: {"integrity": "sha512-…", "size"}} ],   semver order
 *                     "packument": the package's packument trimmed to exactly those versions } ] }   name order
 *
 * Every version's `integrity` is the sha512 of its blob; the packument's `dist` for that version must
 * agree with it (its sha512 `integrity`, or its sha1 `shasum` for old packages without one).
 * A version's `attestations` is the sha512 of its attestations entry. The packument keeps what the
 * uplink said of provenance (`dist.attestations`, `dist.signatures`) as it was.
 *
 * Deterministic: every entry has mode 0644, uid/gid 0, no user or group names, and mtime = `created`;
 * `created` is given, or the newest publish time among the included versions. The same inputs give
 * the same bytes (with an Ed25519 signature too; ECDSA signatures are randomised).
 */
import semver from 'semver'
import ssri from 'ssri'
import { SinopiaError } from '../errors.js'
import type { Packument } from '../store/index.js'

export const BUNDLE_FORMAT = 1
/**
 * The uplink name `bundle import` records in upstream.json and fetched.json. A registry serves such
 * copies even for names whose rule proxies no uplink (an air-gapped registry has none); copies
 * fetched from a real uplink stay hidden under such a rule, as before.
 */
export const BUNDLE_UPLINK = 'bundle'
export const MANIFEST_ENTRY = 'manifest.json'
export const SIGNATURE_ENTRY = 'manifest.json.sig'
const ATTESTATIONS_DIR = 'attestations/'
const BLOB_ENTRY = /^blobs\/sha512\/([0-9a-f]{128})\.tgz$/

export interface BundleVersion {
  version: string
  /** sha512 SRI of the tarball: the name of its blob. */
  integrity: string
  size: number
  /** The uplink's attestations answer for the version, when it served one: its entry's digest. */
  attestations?: { integrity: string; size: number }
}

export interface BundlePackage {
  name: string
  /** The uplink URL its tarball URLs were written against, when it came from one. */
  upstreamUrl?: string
  versions: BundleVersion[]
  packument: Packument
}

export interface BundleManifest {
  format: number
  created: string
  tool: { name: string; version: string }
  packages: BundlePackage[]
}

/** The tar entry name of a blob: blobs/sha512/<hex>.tgz. */
export function blobEntry(sha512Integrity: string): string {
  return `blobs/sha512/${ssri.parse(sha512Integrity, { single: true }).hexDigest()}.tgz`
}

/** The tar entry name of a version's attestations: attestations/<name>@<version>.json. */
export function attestationEntry(name: string, version: string): string {
  return `${ATTESTATIONS_DIR}${name}@${version}.json`
}

export const isAttestationEntry = (entry: string) => entry.startsWith(ATTESTATIONS_DIR)

/** The sha512 SRI a blob entry name stands for, or null when the name is not a blob's. */
export function integrityOfEntry(entry: string): string | null {
  const match = BLOB_ENTRY.exec(entry)
  return match ? ssri.fromHex(match[1] as string, 'sha512').toString() : null
}

/** The manifest with packages in name order and versions in semver order (the form written). */
export function sortManifest(manifest: BundleManifest): BundleManifest {
  const packages = [...manifest.packages]
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
    .map((pkg) => ({ ...pkg, versions: [...pkg.versions].sort((a, b) => semver.compare(a.version, b.version)) }))
  return { ...manifest, packages }
}

/**
 * Parses manifest.json and checks its shape; a bundle of another format, or a manifest that is
 * not one, is an EBUNDLE error.
 */
export function parseManifest(raw: Buffer): BundleManifest {
  let value: unknown
  try {
    value = JSON.parse(raw.toString('utf8'))
  } catch (error) {
    throw bundleError('manifest.json is not valid JSON', error)
  }
  const doc = value as Partial<BundleManifest> | null
  if (!doc || typeof doc !== 'object') throw bundleError('manifest.json holds no object')
  if (doc.format !== BUNDLE_FORMAT) {
    throw new SinopiaError('EBUNDLE', `the bundle has format ${String(doc.format)}; this version reads format ${BUNDLE_FORMAT}`, {
      hint: 'use the sinopia-cli version that wrote it, or create the bundle again with this one',
    })
  }
  if (typeof doc.created !== 'string' || !Array.isArray(doc.packages)) throw bundleError('manifest.json lacks created or packages')
  for (const pkg of doc.packages as unknown[]) {
    const p = pkg as Partial<BundlePackage> | null
    if (!p || typeof p.name !== 'string' || !Array.isArray(p.versions) || !p.packument || typeof p.packument !== 'object') {
      throw bundleError('manifest.json has a package entry without name, versions or packument')
    }
    for (const v of p.versions as unknown[]) {
      const version = v as Partial<BundleVersion> | null
      if (!version || typeof version.version !== 'string' || !semver.valid(version.version) || !isSha512(version.integrity)) {
        throw bundleError(`manifest.json lists a version of ${p.name} without a valid version or a single sha512 integrity`)
      }
      if (version.attestations !== undefined && (!isSha512(version.attestations?.integrity) || typeof version.attestations.size !== 'number')) {
        throw bundleError(`manifest.json gives ${p.name}@${version.version} attestations without a single sha512 integrity and a size`)
      }
    }
  }
  return doc as BundleManifest
}

/** One sha512 SRI string, as written (what blob names stand for): nothing else is a version's integrity. */
function isSha512(value: unknown): value is string {
  if (typeof value !== 'string') return false
  const parsed = ssri.parse(value)
  return Object.keys(parsed).length === 1 && parsed.sha512?.length === 1 && parsed.toString() === value
}

export function bundleError(message: string, cause?: unknown): SinopiaError {
  return new SinopiaError('EBUNDLE', message, { hint: 'the file is not a sinopia-cli bundle, or it is damaged', ...(cause === undefined ? {} : { cause }) })
}

/** name@version pairs of a manifest. */
export function includedIds(manifest: BundleManifest): Set<string> {
  return new Set(manifest.packages.flatMap((pkg) => pkg.versions.map((v) => `${pkg.name}@${v.version}`)))
}

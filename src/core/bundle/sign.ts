import { createHash, createPrivateKey, createPublicKey, sign, verify, type KeyObject } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { SinopiaError, errnoCode } from '../errors.js'

/** manifest.json.sig: a detached signature over manifest.json's bytes. */
export interface BundleSignature {
  algorithm: 'ed25519' | 'ecdsa-sha256'
  /** "SHA256:<base64>" of the public key's SPKI DER. */
  fingerprint: string
  /** The public key (SPKI PEM), so a bundle can be checked for damage without the key at hand; trust needs the pinned key. */
  publicKey: string
  signature: string
}

export function fingerprintOf(key: KeyObject): string {
  const publicKey = key.type === 'private' ? createPublicKey(key) : key
  return `SHA256:${createHash('sha256').update(publicKey.export({ type: 'spki', format: 'der' })).digest('base64')}`
}

/** Reads a PEM private key (Ed25519 or ECDSA); any other kind is an EBUNDLESIG error. */
export async function loadPrivateKey(file: string): Promise<KeyObject> {
  const key = createPrivateKey(await readKeyFile(file))
  algorithmOf(key, file)
  return key
}

/** Reads a PEM public key (a private key file works too: its public half is taken). */
export async function loadPublicKey(file: string): Promise<KeyObject> {
  const pem = await readKeyFile(file)
  let key: KeyObject
  try {
    key = createPublicKey(pem)
  } catch (error) {
    throw new SinopiaError('EBUNDLESIG', `${file} holds no public key the bundle can be checked with`, { hint: 'pass a PEM Ed25519 or ECDSA public key', cause: error })
  }
  algorithmOf(key, file)
  return key
}

export function signManifest(manifest: Buffer, key: KeyObject): BundleSignature {
  const algorithm = algorithmOf(key, 'the signing key')
  const signature = sign(algorithm === 'ed25519' ? null : 'sha256', manifest, key)
  return {
    algorithm,
    fingerprint: fingerprintOf(key),
    publicKey: createPublicKey(key).export({ type: 'spki', format: 'pem' }).toString(),
    signature: signature.toString('base64'),
  }
}

export type SignatureCheck =
  | { status: 'absent' }
  | { status: 'valid'; fingerprint: string; trusted: boolean }
  | { status: 'invalid'; fingerprint?: string; reason: string }

/**
 * Checks manifest.json.sig against manifest.json. With `trusted` (the key given on the command
 * line) the signature must be that key's; without, only that it matches the key it names.
 */
export function checkSignature(manifest: Buffer, raw: Buffer | null, trusted: KeyObject | null): SignatureCheck {
  if (!raw) return trusted ? { status: 'invalid', reason: 'the bundle is not signed' } : { status: 'absent' }
  let sig: BundleSignature
  try {
    sig = JSON.parse(raw.toString('utf8')) as BundleSignature
  } catch {
    return { status: 'invalid', reason: 'manifest.json.sig is not valid JSON' }
  }
  let key: KeyObject
  try {
    key = trusted ?? createPublicKey(String(sig.publicKey))
  } catch {
    return { status: 'invalid', reason: 'manifest.json.sig holds no usable public key' }
  }
  const fingerprint = fingerprintOf(key)
  if (trusted && sig.fingerprint !== fingerprint) {
    return { status: 'invalid', fingerprint: String(sig.fingerprint), reason: `signed by key ${String(sig.fingerprint)}, not by the required key ${fingerprint}` }
  }
  let ok: boolean
  try {
    ok = verify(algorithmOf(key, 'the key') === 'ed25519' ? null : 'sha256', manifest, key, Buffer.from(String(sig.signature), 'base64'))
  } catch {
    ok = false
  }
  if (!ok) return { status: 'invalid', fingerprint, reason: `the signature does not match manifest.json for key ${fingerprint}` }
  return { status: 'valid', fingerprint, trusted: trusted !== null }
}

function algorithmOf(key: KeyObject, what: string): BundleSignature['algorithm'] {
  if (key.asymmetricKeyType === 'ed25519') return 'ed25519'
  if (key.asymmetricKeyType === 'ec') return 'ecdsa-sha256'
  throw new SinopiaError('EBUNDLESIG', `${what} is a ${String(key.asymmetricKeyType)} key; bundles are signed with Ed25519 or ECDSA`, {
    hint: 'openssl genpkey -algorithm ed25519 -out bundle.key; openssl pkey -in bundle.key -pubout -out bundle.pub',
  })
}

async function readKeyFile(file: string): Promise<string> {
  try {
    return await readFile(file, 'utf8')
  } catch (error) {
    throw new SinopiaError('EBUNDLESIG', `cannot read key file ${file} (${errnoCode(error) ?? String(error)})`)
  }
}

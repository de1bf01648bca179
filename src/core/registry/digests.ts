import { webcrypto } from 'node:crypto'
import ssri from 'ssri'

/** ssri's algorithm names -> WebCrypto's. */
const WEBCRYPTO: Record<string, string> = { sha1: 'SHA-1', sha256: 'SHA-256', sha384: 'SHA-384', sha512: 'SHA-512' }

/**
 * Digests through WebCrypto, which hashes in the thread pool: a 10 MB publish hashed two or
 * three times would otherwise hold the event loop for tens of milliseconds.
 */
export async function digest(bytes: Buffer, algorithm: 'sha1' | 'sha512'): Promise<Buffer> {
  return Buffer.from(await webcrypto.subtle.digest(WEBCRYPTO[algorithm] as string, bytes))
}

/** Whether `bytes` match `integrity` by its strongest hash, as ssri.checkData decides. */
export async function matchesIntegrity(bytes: Buffer, integrity: string): Promise<boolean> {
  const expected = ssri.parse(integrity)
  const algorithm = expected.pickAlgorithm()
  const name = WEBCRYPTO[algorithm]
  if (!algorithm || !name) return ssri.checkData(bytes, integrity) !== false
  const ours = Buffer.from(await webcrypto.subtle.digest(name, bytes)).toString('base64')
  return expected.match(`${algorithm}-${ours}`) !== false
}

import { readFile } from 'node:fs/promises'
import type { SecureContextOptions } from 'node:tls'
import type { HttpsFiles } from '../config/types.js'
import { SinopiaError, errnoCode } from '../errors.js'

/**
 * Reads the `https` files into what node's TLS server takes. Read at start and again on
 * SIGHUP (a renewed certificate applies to new connections without a restart); an error names
 * the file and leaves the running certificate in place.
 */
export async function readTls(files: HttpsFiles | undefined, configFile: string): Promise<SecureContextOptions> {
  if (!files) {
    throw new SinopiaError('ECONFIG', `${configFile}: listen is an https:// address but the config has no https: {key, cert}`, {
      hint: 'add https: {key: ./key.pem, cert: ./cert.pem} (or pfx) to the config, or listen on http',
    })
  }
  const read = async (key: keyof Omit<HttpsFiles, 'passphrase'>): Promise<Buffer | undefined> => {
    const file = files[key]
    if (file === undefined) return undefined
    try {
      return await readFile(file)
    } catch (error) {
      throw new SinopiaError('ECONFIG', `${configFile}: https.${key}: cannot read ${file} (${errnoCode(error) ?? String(error)})`, {
        hint: 'check the path (relative paths resolve against the config file) and that this user may read it',
      })
    }
  }
  const [key, cert, ca, pfx] = await Promise.all([read('key'), read('cert'), read('ca'), read('pfx')])
  return {
    ...(key ? { key } : {}),
    ...(cert ? { cert } : {}),
    ...(ca ? { ca } : {}),
    ...(pfx ? { pfx } : {}),
    ...(files.passphrase !== undefined ? { passphrase: files.passphrase } : {}),
  }
}

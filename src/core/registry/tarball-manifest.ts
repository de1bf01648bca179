import { Parser, type ReadEntry } from 'tar'
import { badRequest } from '../errors.js'

/**
 * Reads `package.json` from a package tarball held in memory: the first top-level folder's
 * `package.json` (npm packs into `package/`, some tools into other names). Throws a 400 for
 * bytes that are not a gzip tarball or hold no readable package.json.
 */
export async function readTarballManifest(tarball: Buffer): Promise<{ name?: unknown; version?: unknown }> {
  return new Promise((resolve, reject) => {
    let found = false
    const parser = new Parser({
      strict: true,
      onReadEntry: (entry: ReadEntry) => {
        const parts = entry.path.split('/')
        if (found || parts.length !== 2 || parts[1] !== 'package.json' || entry.type !== 'File') {
          entry.resume()
          return
        }
        found = true
        const chunks: Buffer[] = []
        entry.on('data', (chunk: Buffer) => chunks.push(chunk))
        entry.on('end', () => {
          try {
            resolve(JSON.parse(Buffer.concat(chunks).toString('utf8')) as { name?: unknown; version?: unknown })
          } catch {
            reject(badRequest('the tarball\'s package.json is not valid JSON', 'EBADTARBALL'))
          }
        })
      },
    })
    parser.on('error', () => reject(badRequest('the attachment is not a valid gzip tarball', 'EBADTARBALL')))
    parser.on('end', () => {
      if (!found) reject(badRequest('the tarball holds no package.json', 'EBADTARBALL'))
    })
    parser.end(tarball)
  })
}

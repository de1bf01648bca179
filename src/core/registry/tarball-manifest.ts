import path from 'node:path'
import zlib from 'node:zlib'
import { Parser, type ReadEntry } from 'tar'
import { badRequest } from '../errors.js'
import { parseJsonWithin } from '../json.js'

export interface TarballLimits {
  /** Bytes the tar stream may inflate to (`max_unpacked_size`). */
  maxUnpackedSize: number
  /** Bytes the package.json may have. */
  maxManifestSize: number
  /** Nesting the package.json may have (`max_json_depth`). */
  maxJsonDepth: number
}

export interface TarballContents {
  /** The package.json npm installs from this tarball, parsed. */
  manifest: Record<string, unknown>
  /** Every regular file, by the path npm extracts it to (`lib/index.js`). */
  files: Set<string>
}

const GZIP_MAGIC = [0x1f, 0x8b]

/**
 * Where npm puts an entry when it installs the tarball, or null for entries it skips.
 * pacote extracts with tar's `strip: 1` and drops links: the first path component goes,
 * whatever its name; what is left resolves against the package folder (`./`, `//` and a
 * leading `/` collapse) and a `..` drops the entry. So `package/package.json`,
 * `other/package.json` and `x/./package.json` all land on `package.json`, the last one
 * extracted winning (checked against pacote's own extract).
 */
export function installedPath(entryPath: string): string | null {
  const parts = entryPath.replace(/\\/g, '/').split('/').slice(1)
  if (parts.includes('..')) return null
  const joined = path.posix.normalize(`/${parts.join('/')}`).slice(1)
  return joined === '' || joined === '.' ? null : joined
}

/**
 * Reads the package.json npm would install from a gzip tarball held in memory. Inflation runs
 * in zlib's thread pool and stops at `maxUnpackedSize` (a gzip bomb costs the event loop
 * nothing); every entry is looked at, because a later one can replace package.json. A
 * tarball with more than one entry that lands on package.json (case aside, for case-folding
 * disks) is refused: which one a client ends up with is not something to guess. 400s for
 * anything else that is not a readable package tarball.
 */
export async function readTarballContents(tarball: Buffer, limits: TarballLimits): Promise<TarballContents> {
  if (tarball[0] !== GZIP_MAGIC[0] || tarball[1] !== GZIP_MAGIC[1]) throw notTarball()
  return new Promise((resolve, reject) => {
    let settled = false
    let inflated = 0
    let candidates = 0
    let manifestBytes: Buffer | null = null
    const files = new Set<string>()
    const gunzip = zlib.createGunzip({ chunkSize: 64 * 1024 })
    const fail = (error: Error) => {
      if (settled) return
      settled = true
      gunzip.destroy()
      parser.abort(error)
      reject(error)
    }
    // `zstd: false`: the stream handed over is the inflated tar; it is never inflated twice.
    const parser = new Parser({
      strict: true,
      zstd: false,
      onReadEntry: (entry: ReadEntry) => {
        const target = /File$/.test(entry.type) ? installedPath(entry.path) : null
        if (target === null) return entry.resume()
        files.add(target)
        if (target.toLowerCase() !== 'package.json') return entry.resume()
        candidates++
        if (candidates > 1) return fail(badRequest('the tarball holds more than one file that installs as package.json', 'EBADTARBALL'))
        if (entry.size > limits.maxManifestSize) return fail(badRequest(`the tarball's package.json is larger than ${limits.maxManifestSize} bytes`, 'EBADTARBALL'))
        const chunks: Buffer[] = []
        entry.on('data', (chunk: Buffer) => chunks.push(chunk))
        entry.on('end', () => (manifestBytes = Buffer.concat(chunks)))
      },
    })
    parser.on('error', () => fail(notTarball()))
    parser.on('end', () => {
      if (settled) return
      settled = true
      if (manifestBytes === null) return reject(badRequest('the tarball holds no package/package.json', 'EBADTARBALL'))
      const parsed = parseJsonWithin(manifestBytes, limits.maxJsonDepth)
      if (!parsed.ok) {
        const why = parsed.tooDeep ? `nests deeper than max_json_depth (${limits.maxJsonDepth})` : 'is not valid JSON'
        return reject(badRequest(`the tarball's package.json ${why}`, 'EBADTARBALL'))
      }
      const manifest = parsed.value
      if (!manifest || typeof manifest !== 'object' || Array.isArray(manifest)) {
        return reject(badRequest("the tarball's package.json is not an object", 'EBADTARBALL'))
      }
      resolve({ manifest: manifest as Record<string, unknown>, files })
    })
    gunzip.on('data', (chunk: Buffer) => {
      if (settled) return
      // A gzip inside the gzip would be inflated again by tar's parser, on this thread.
      if (inflated === 0 && chunk[0] === GZIP_MAGIC[0] && chunk[1] === GZIP_MAGIC[1]) return fail(notTarball())
      inflated += chunk.length
      if (inflated > limits.maxUnpackedSize) {
        return fail(badRequest(`the tarball inflates to more than max_unpacked_size (${limits.maxUnpackedSize} bytes)`, 'EBADTARBALL'))
      }
      parser.write(chunk)
      // One chunk per turn of the event loop: other requests get their turn in between.
      gunzip.pause()
      setImmediate(() => gunzip.resume())
    })
    gunzip.on('error', () => fail(notTarball()))
    gunzip.on('end', () => parser.end())
    gunzip.end(tarball)
  })
}

function notTarball() {
  return badRequest('the attachment is not a valid gzip tarball', 'EBADTARBALL')
}

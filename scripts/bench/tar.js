import { gzipSync } from 'node:zlib'

/** npm's fixed tarball date, so the same files always make the same bytes. */
const FIXED_MTIME = Math.floor(Date.parse('1985-10-26T08:15:00.000Z') / 1000)
const BLOCK = 512

function octal(header, offset, length, value) {
  header.write(`${value.toString(8).padStart(length - 1, '0')}\0`, offset, length, 'ascii')
}

/** One ustar header for a regular file (names up to 100 bytes: all this bench makes). */
function fileHeader(name, size, mode) {
  const header = Buffer.alloc(BLOCK)
  if (Buffer.byteLength(name) > 100) throw new Error(`tar entry name too long: ${name}`)
  header.write(name, 0, 100, 'utf8')
  octal(header, 100, 8, mode)
  octal(header, 108, 8, 0) // uid
  octal(header, 116, 8, 0) // gid
  octal(header, 124, 12, size)
  octal(header, 136, 12, FIXED_MTIME)
  header.fill(' ', 148, 156) // the checksum counts its own field as spaces
  header.write('0', 156, 1, 'ascii') // regular file
  header.write('ustar\u000000', 257, 8, 'ascii')
  let sum = 0
  for (const byte of header) sum += byte
  header.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 8, 'ascii')
  return header
}

/**
 * A gzipped tarball of `files` (path -> string or Buffer) under `package/`, as `npm pack`
 * lays one out: deterministic bytes for the same input.
 */
export function packTarball(files) {
  const parts = []
  for (const [file, data] of Object.entries(files)) {
    const bytes = Buffer.isBuffer(data) ? data : Buffer.from(data)
    parts.push(fileHeader(`package/${file}`, bytes.length, 0o644), bytes)
    const pad = (BLOCK - (bytes.length % BLOCK)) % BLOCK
    if (pad) parts.push(Buffer.alloc(pad))
  }
  parts.push(Buffer.alloc(BLOCK * 2))
  return gzipSync(Buffer.concat(parts), { level: 9 })
}

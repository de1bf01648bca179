import { open, stat, type FileHandle } from 'node:fs/promises'
import { Header, Pax } from 'tar'
import { SinopiaError, errnoCode } from '../errors.js'
import { bundleError } from './format.js'

const BLOCK = 512
const CHUNK = 1024 * 1024

export interface TarEntry {
  path: string
  size: number
  /** The entry's bytes, in chunks; what the consumer leaves unread is skipped. */
  body(): AsyncIterable<Buffer>
}

/**
 * The regular files of a tar file, one after the other, read with positioned reads so a consumer
 * that awaits (a store write) holds up the reading, and nothing is buffered beyond one chunk.
 * Knows what bundles hold: files, and pax headers carrying long paths; anything else (links,
 * devices, folders) is an EBUNDLE error, as is a truncated file or a header whose checksum fails.
 */
export async function* readTar(file: string): AsyncGenerator<TarEntry> {
  const handle: FileHandle = await open(file, 'r').catch((error: unknown) => {
    throw unreadable(file, error)
  })
  try {
    const { size: total } = await handle.stat()
    let offset = 0
    let paxPath: string | undefined
    const block = Buffer.alloc(BLOCK)
    const readExactly = async (buf: Buffer, at: number) => {
      const { bytesRead } = await handle.read(buf, 0, buf.length, at)
      if (bytesRead !== buf.length) throw bundleError(`the bundle is truncated (at byte ${at})`)
    }
    for (;;) {
      if (offset + BLOCK > total) throw bundleError('the bundle is truncated (no end-of-archive blocks)')
      await readExactly(block, offset)
      offset += BLOCK
      if (block.every((b) => b === 0)) return
      const header = new Header(block)
      if (!header.cksumValid) throw bundleError(`the bundle has a damaged tar header at byte ${offset - BLOCK}`)
      const size = header.size ?? 0
      const dataAt = offset
      offset += Math.ceil(size / BLOCK) * BLOCK
      if (offset > total) throw bundleError(`the bundle is truncated (in ${header.path ?? 'an entry'})`)
      if (header.type === 'ExtendedHeader') {
        const body = Buffer.alloc(size)
        await readExactly(body, dataAt)
        paxPath = Pax.parse(body.toString('utf8')).path
        continue
      }
      if (header.type !== 'File' && header.type !== 'OldFile') throw bundleError(`the bundle holds a ${header.type} entry (${header.path ?? ''}); bundles hold only files`)
      const path = paxPath ?? header.path ?? ''
      paxPath = undefined
      yield {
        path,
        size,
        body: async function* () {
          for (let at = 0; at < size; ) {
            const chunk = Buffer.alloc(Math.min(CHUNK, size - at))
            await readExactly(chunk, dataAt + at)
            at += chunk.length
            yield chunk
          }
        },
      }
    }
  } finally {
    await handle.close()
  }
}

/** An entry's bytes in one buffer (manifest.json and its signature), refusing ones larger than `max`. */
export async function readAll(entry: TarEntry, max: number): Promise<Buffer> {
  if (entry.size > max) throw bundleError(`${entry.path} is ${entry.size} bytes, more than the ${max} a bundle may hold`)
  const chunks: Buffer[] = []
  for await (const chunk of entry.body()) chunks.push(chunk)
  return Buffer.concat(chunks)
}

/** The size of a bundle file; a missing or unreadable one is an ENOBUNDLE error naming it. */
export async function bundleSize(file: string): Promise<number> {
  try {
    return (await stat(file)).size
  } catch (error) {
    throw unreadable(file, error)
  }
}

function unreadable(file: string, error: unknown): SinopiaError {
  return new SinopiaError('ENOBUNDLE', `cannot read bundle ${file} (${errnoCode(error) ?? String(error)})`, { cause: error })
}

import { EventEmitter, once } from 'node:events'
import type { Readable, Writable } from 'node:stream'
import ssri from 'ssri'
import { CACHE_BOUNDS } from '../cache-bounds.js'
import { SinopiaError, diskErrno } from '../errors.js'
import { tarballSpec, type Blobs } from '../store/index.js'
import { printable } from './names.js'

/**
 * One tarball download from an uplink, shared by every client that asks for it meanwhile.
 * Bytes go to the store (which verifies them) and to the clients as they arrive, except
 * the last chunk, which is held back until the digest is known to match: a client never
 * receives a complete tarball with the wrong content. Late joiners replay what came so far,
 * while that is at most CACHE_BOUNDS.downloadReplayBytes: past it, a tarball is not held in memory for
 * clients that may never come (an uplink sending several huge tarballs at once would fill it),
 * and a late joiner waits for the stored copy instead (see Tarballs.open).
 *
 * Events: 'data' (chunk), 'end', 'error' (err). `chunks` holds every byte sent so far while
 * `replayable`; empty after.
 */
export class Download extends EventEmitter {
  readonly chunks: Buffer[] = []
  replayable = true
  private held = 0
  state: 'running' | 'done' | 'failed' = 'running'
  error?: Error

  constructor(readonly size: number | undefined) {
    super()
    // Every client that joins adds listeners; fifty at once is normal, not a leak.
    this.setMaxListeners(0)
    // Subscribers come and go; an 'error' with none of them listening must not crash the process.
    this.on('error', () => undefined)
  }

  push(chunk: Buffer): void {
    if (this.replayable) {
      this.held += chunk.length
      if (this.held <= CACHE_BOUNDS.downloadReplayBytes) this.chunks.push(chunk)
      else {
        this.replayable = false
        this.chunks.length = 0
      }
    }
    this.emit('data', chunk)
  }

  finish(): void {
    this.state = 'done'
    this.emit('end')
  }

  /** Narrows to a failed download, whose `error` is then set. */
  failed(): this is this & { state: 'failed'; error: Error } {
    return this.state === 'failed'
  }

  fail(error: Error): void {
    this.state = 'failed'
    this.error = error
    this.emit('error', error)
  }
}

interface Sink {
  stream: Writable
  done: Promise<unknown>
}

/** A sink that only checks the digest, for uplinks whose tarballs are not to be stored. */
function verifyOnly(expected: string, size?: number): Sink {
  const stream = ssri.integrityStream({ integrity: expected, ...(size === undefined ? {} : { size }) })
  stream.resume()
  return { stream, done: once(stream, 'verified') }
}

/**
 * Pumps `body` into the store (or a verifier) and into `download`. Never throws: failures
 * end up as `download.fail`, and nothing unverified is ever made visible in the store.
 */
export async function pump(
  body: Readable,
  download: Download,
  target: { blobs: Blobs; key: string; expected: string; store: boolean },
): Promise<void> {
  const sink: Sink = target.store
    ? target.blobs.write(target.key, target.expected, download.size)
    : verifyOnly(target.expected, download.size)
  let held: Buffer | null = null
  try {
    if (target.store) await target.blobs.assertRoom(download.size)
    let first = target.store
    for await (const chunk of body as AsyncIterable<Buffer>) {
      if (first) {
        // The store took the first bytes before any goes out: a disk that refuses them (full,
        // read-only) is a clear error to the client rather than a response cut short.
        first = false
        await new Promise<void>((resolve, reject) => sink.stream.write(chunk, (error) => (error ? reject(error) : resolve())))
      } else if (!sink.stream.write(chunk)) {
        // A sink that failed emits no 'drain': its `done` rejects instead.
        await Promise.race([once(sink.stream, 'drain'), sink.done])
      }
      if (held) download.push(held)
      held = chunk
    }
    sink.stream.end()
    await sink.done
    if (held) download.push(held)
    download.finish()
  } catch (error) {
    body.destroy()
    abandon(sink, target.store)
    download.fail(
      // A disk that refuses the bytes is the storage's failure, not the uplink's: kept as it is.
      error instanceof SinopiaError || diskErrno(error)
        ? (error as Error)
        : new SinopiaError(
            (error as { code?: string }).code === 'EINTEGRITY' ? 'EINTEGRITY' : 'EUPLINK',
            (error as { code?: string }).code === 'EINTEGRITY'
              ? `tarball ${tarballSpec(target.key)} from the uplink does not match its integrity; not stored`
              : `tarball download failed: ${printable((error as Error).message)}`,
            { cause: error },
          ),
    )
  }
}

/**
 * Gives up a write. A store write is ended rather than destroyed: the store then checks the
 * short content against the digest, refuses it and removes its temp file, where a destroyed
 * write would leave the temp file (and its open descriptor) behind for good.
 */
function abandon(sink: Sink, stored: boolean): void {
  if (!stored || sink.stream.destroyed || sink.stream.writableEnded) {
    sink.stream.destroy()
    return
  }
  sink.stream.end()
}

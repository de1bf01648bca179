import { Worker } from 'node:worker_threads'
import { SinopiaError } from '../../errors.js'
import { Inbox } from '../../inbox.js'
import { workerFile } from '../../worker-file.js'
import type { ScanDepth } from '../scan.js'
import type { ContentShare } from './listing.js'

/** Items a walk thread sends at once: one message per few hundred items keeps their cost small. */
export const WALK_BATCH = 512
/** Batches a walk thread may send before the owner has taken them: the memory a fast walk can hold. */
export const WALK_AHEAD = 4

/**
 * What the folder store runs on a thread of its own: a walk of the index entries, a scan of
 * packages, a check of the content folders it claims from a share (see ContentShare).
 */
export type WalkRequest =
  | { walk: 'entries'; blobsDir: string }
  | { walk: 'packages'; root: string; names: readonly string[]; depth: ScanDepth }
  | { walk: 'content'; blobsDir: string; share: ContentShare }

/** An error as it crosses the thread: what callers read of one (its class, code, hint, errno fields). */
export interface WalkError {
  name: string
  message: string
  code: string | null
  hint?: string
  errno?: number
  syscall?: string
  path?: string
  stack?: string
}

export type WalkMessage = { type: 'items'; items: unknown[] } | { type: 'done' } | { type: 'error'; error: WalkError }

/** An error of the walk, as the worker sends it. */
export function sendableError(error: unknown): WalkError {
  const { name, message, code, hint, errno, syscall, path, stack } = (error ?? {}) as Record<string, unknown>
  const text = (value: unknown) => (typeof value === 'string' ? value : undefined)
  return {
    name: text(name) ?? 'Error',
    message: text(message) ?? String(error),
    code: text(code) ?? null,
    ...(text(hint) ? { hint: text(hint) } : {}),
    ...(typeof errno === 'number' ? { errno } : {}),
    ...(text(syscall) ? { syscall: text(syscall) } : {}),
    ...(text(path) ? { path: text(path) } : {}),
    ...(text(stack) ? { stack: text(stack) } : {}),
  }
}

/** The walk's error on this side: a SinopiaError again when it was one, else an Error with the errno fields. */
function receivedError(sent: WalkError): Error {
  if (sent.name === 'SinopiaError' && sent.code) return new SinopiaError(sent.code, sent.message, sent.hint ? { hint: sent.hint } : {})
  const { name: _name, hint: _hint, code, stack, ...fields } = sent
  const error = Object.assign(new Error(sent.message), fields, code ? { code } : {})
  if (stack) error.stack = stack
  return error
}

/**
 * A walk over every index entry, listed package or content file (of a share) of a store, run on
 * a worker thread: its blocking reads and parsing then take another core while the caller does
 * its own part (verify hashes blobs while the index is read and the documents checked on threads
 * like this one, and one more hashes the folders left once the index walk is done). Yields the
 * walk's items in its order; an error of the walk (EIO, ...) is thrown here with its code; leaving early stops it.
 */
export async function* walkOnThread<T>(request: WalkRequest): AsyncGenerator<T> {
  const worker = new Worker(workerFile(import.meta.url, './walk-worker.js'), { workerData: request })
  const arrived = new Inbox<WalkMessage | { type: 'exit'; code: number }>()
  worker.on('message', (message: WalkMessage) => arrived.push(message))
  worker.on('error', (error) => arrived.push({ type: 'error', error: sendableError(error) }))
  worker.on('exit', (code) => arrived.push({ type: 'exit', code }))
  try {
    for (;;) {
      const message = await arrived.take()
      if (message.type === 'done') return
      if (message.type === 'error') throw receivedError(message.error)
      if (message.type === 'exit') throw new Error(`the ${request.walk} walk's thread stopped (exit code ${message.code})`)
      worker.postMessage(1)
      yield* message.items as T[]
    }
  } finally {
    await worker.terminate()
  }
}

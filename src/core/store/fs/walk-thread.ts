import { Worker } from 'node:worker_threads'
import { workerFile } from '../../worker-file.js'
import type { ScanDepth } from '../scan.js'

/** Items a walk thread sends at once: one message per few hundred items keeps their cost small. */
export const WALK_BATCH = 512
/** Batches a walk thread may send before the owner has taken them: the memory a fast walk can hold. */
export const WALK_AHEAD = 4

/** What the folder store runs on a thread of its own: a walk of the index entries, a scan of packages. */
export type WalkRequest = { walk: 'entries'; blobsDir: string } | { walk: 'packages'; root: string; names: string[]; depth: ScanDepth }

export type WalkMessage = { type: 'items'; items: unknown[] } | { type: 'done' } | { type: 'error'; message: string; code: string | null }

/**
 * A walk over every index entry or listed package of a store, run on a worker thread: its
 * blocking reads and parsing then take another core while the caller does its own part (verify
 * hashes the blobs while the index is read and the documents are parsed). Yields the walk's items in
 * its order; an error of the walk (EIO, ...) is thrown here with its code; leaving early stops it.
 */
export async function* walkOnThread<T>(request: WalkRequest): AsyncGenerator<T> {
  const worker = new Worker(workerFile(import.meta.url, './walk-worker.js'), { workerData: request })
  const arrived: Array<WalkMessage | { type: 'exit'; code: number }> = []
  let wake: (() => void) | null = null
  const arrive = (message: WalkMessage | { type: 'exit'; code: number }) => {
    arrived.push(message)
    wake?.()
  }
  worker.on('message', arrive)
  worker.on('error', (error) => arrive({ type: 'error', message: error.message, code: null }))
  worker.on('exit', (code) => arrive({ type: 'exit', code }))
  try {
    for (;;) {
      while (arrived.length === 0) await new Promise<void>((resolve) => (wake = resolve))
      wake = null
      const message = arrived.shift() as (typeof arrived)[number]
      if (message.type === 'done') return
      if (message.type === 'error') throw Object.assign(new Error(message.message), message.code ? { code: message.code } : {})
      if (message.type === 'exit') throw new Error(`the ${request.walk} walk's thread stopped (exit code ${message.code})`)
      worker.postMessage(1)
      yield* message.items as T[]
    }
  } finally {
    await worker.terminate()
  }
}

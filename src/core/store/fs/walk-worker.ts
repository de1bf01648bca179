import { parentPort, workerData } from 'node:worker_threads'
import type { ScanDepth } from '../scan.js'
import type { ContentShare } from './listing.js'
import { WALK_AHEAD, WALK_BATCH, sendableError, type WalkMessage, type WalkRequest } from './walk-thread.js'

/**
 * A walk of the folder store (its blob index, a scan of its packages, a check of its content) run on its own thread
 * (see walk-thread.ts): the items go to the owning thread in batches, at most WALK_AHEAD batches
 * ahead of what it has taken.
 */
const request = workerData as WalkRequest
const port = parentPort
if (!port) throw new Error('walk-worker.js runs as a worker thread')

let credit = WALK_AHEAD
let wake: (() => void) | null = null
port.on('message', () => {
  credit++
  wake?.()
})

const send = async (message: WalkMessage) => {
  while (credit === 0) await new Promise<void>((resolve) => (wake = resolve))
  wake = null
  credit--
  port.postMessage(message)
}

try {
  const items = request.walk === 'packages' ? await scans(request.root, request.names, request.depth) : request.walk === 'content' ? await content(request.blobsDir, request.share) : await entries(request.blobsDir)
  let batch: unknown[] = []
  for await (const item of items) {
    batch.push(item)
    if (batch.length < WALK_BATCH) continue
    await send({ type: 'items', items: batch })
    batch = []
  }
  if (batch.length > 0) await send({ type: 'items', items: batch })
  port.postMessage({ type: 'done' } satisfies WalkMessage)
} catch (error) {
  port.postMessage({ type: 'error', error: sendableError(error) } satisfies WalkMessage)
}

// Each walk loads only its own modules: a thread's memory is the process's.
async function entries(blobsDir: string): Promise<AsyncIterable<unknown>> {
  const { eachEntry } = await import('./entries.js')
  return eachEntry(blobsDir)
}

async function content(blobsDir: string, share: ContentShare): Promise<AsyncIterable<unknown>> {
  const { checkContentFiles } = await import('./check-content.js')
  return checkContentFiles(blobsDir, share)
}

async function scans(root: string, names: readonly string[], depth: ScanDepth): Promise<AsyncIterable<unknown>> {
  const [{ scanDocuments }, { DocumentReader }, { documentFile }] = await Promise.all([import('../scan.js'), import('./documents-read.js'), import('./layout.js')])
  const reader = new DocumentReader(root)
  return (async function* () {
    for (const name of names) yield scanDocuments(name, await reader.forScan(name, depth), (kind) => documentFile(root, name, kind))
  })()
}

import { parentPort } from 'node:worker_threads'
import { renderReadme } from './readme-html.js'

/**
 * The README renderer's thread (see readme-renderer.ts): `{id, markdown}` in, `{id, html}`
 * or `{id, error}` out. It may be terminated mid-render; it keeps no state between jobs.
 */
export interface ReadmeJob {
  id: number
  markdown: string
}

export type ReadmeResult = { id: number; html: string | null } | { id: number; error: string }

/** Sent once, when the renderer's modules are loaded: job time budgets count from here, not from thread start. */
export const READY = 'ready'

parentPort?.on('message', ({ id, markdown }: ReadmeJob) => {
  let result: ReadmeResult
  try {
    result = { id, html: renderReadme(markdown)?.value ?? null }
  } catch (error) {
    result = { id, error: error instanceof Error ? error.message : String(error) }
  }
  parentPort?.postMessage(result)
})

parentPort?.postMessage(READY)

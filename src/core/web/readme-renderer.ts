import { Worker } from 'node:worker_threads'
import { trusted, type SafeHtml } from './html.js'
import { cutReadme, hasReadme, plainReadme } from './readme.js'
import type { ReadmeResult } from './readme-worker.js'

export interface ReadmeBudget {
  /** README bytes rendered; the rest is cut (`limits.readme_size`). */
  maxBytes: number
  /** Past this the thread is terminated and the README shown as plain text (`limits.readme_render_time`). */
  timeoutMs: number
}

/**
 * Renders READMEs off the main thread. Markdown and HTML sanitizing can take seconds on
 * crafted input (quadratic emphasis, deep nesting, many tags), and a README can come from an
 * uplink, so anyone can plant one: on the main thread that stalls every request.
 *
 * One worker thread, started on the first README and kept (unref'd) for the next ones; jobs
 * run one at a time, in order. A job past its time budget gets the worker terminated (the
 * next job starts a fresh one); a job that throws, runs out of memory or loses its worker
 * resolves to the escaped plain text. Never rejects: callers cache what they get, failures
 * included, so a bad README costs one budget per revision, not one per view.
 */
export class ReadmeRenderer {
  private worker: Worker | null = null
  private tail: Promise<unknown> = Promise.resolve()
  private lastId = 0

  constructor(
    private readonly budget: () => ReadmeBudget,
    private readonly onFallback: (reason: string) => void = () => {},
    private readonly workerUrl: URL = defaultWorkerUrl(),
  ) {}

  render(markdown: string | null | undefined): Promise<SafeHtml | null> {
    if (!hasReadme(markdown)) return Promise.resolve(null)
    const { maxBytes, timeoutMs } = this.budget()
    const source = cutReadme(markdown, maxBytes)
    const job = this.tail.then(() => this.run(source, timeoutMs))
    this.tail = job
    return job
  }

  /** Stops the worker (a render in progress resolves to plain text). */
  async close(): Promise<void> {
    const worker = this.worker
    this.worker = null
    await worker?.terminate()
  }

  private run(source: string, timeoutMs: number): Promise<SafeHtml | null> {
    return new Promise((resolve) => {
      const worker = this.ensureWorker()
      const id = ++this.lastId
      let settled = false
      const finish = (value: SafeHtml | null, failure?: string) => {
        if (settled) return
        settled = true
        clearTimeout(timer)
        worker.off('message', onMessage)
        worker.off('error', onError)
        worker.off('exit', onExit)
        if (failure !== undefined) this.onFallback(failure)
        resolve(value)
      }
      const fallback = (reason: string) => finish(plainReadme(source), reason)
      const onMessage = (result: ReadmeResult) => {
        if (result.id !== id) return
        if ('error' in result) fallback(`the renderer failed: ${result.error}`)
        else finish(result.html === null ? null : trusted(result.html))
      }
      const onError = (error: Error) => {
        this.drop(worker)
        fallback(`the renderer failed: ${error.message}`)
      }
      const onExit = () => {
        this.drop(worker)
        fallback('the renderer stopped')
      }
      const timer = setTimeout(() => {
        this.drop(worker)
        fallback(`rendering took longer than ${timeoutMs} ms`)
      }, timeoutMs)
      worker.on('message', onMessage)
      worker.on('error', onError)
      worker.on('exit', onExit)
      worker.postMessage({ id, markdown: source })
    })
  }

  private ensureWorker(): Worker {
    if (!this.worker) {
      // A README that eats memory takes its thread down (ERR_WORKER_OUT_OF_MEMORY), not the server.
      this.worker = new Worker(this.workerUrl, { resourceLimits: { maxOldGenerationSizeMb: 256 } })
      // An idle renderer never keeps the process alive.
      this.worker.unref()
    }
    return this.worker
  }

  private drop(worker: Worker): void {
    if (this.worker === worker) this.worker = null
    void worker.terminate()
  }
}

/**
 * The compiled worker next to this module. Run from the TypeScript sources (vitest), a
 * worker thread cannot load `.ts`, so it takes the build's copy (`npm run build`).
 */
function defaultWorkerUrl(): URL {
  const here = import.meta.url
  if (here.endsWith('.ts')) return new URL(here.replace(/\/src\/core\/web\/[^/]+\.ts$/, '/dist/core/web/readme-worker.js'))
  return new URL('./readme-worker.js', here)
}

import { pathToFileURL } from 'node:url'
import { Worker } from 'node:worker_threads'
import { workerFile } from '../worker-file.js'
import { trusted, type SafeHtml } from './html.js'
import { cutReadme, hasReadme, plainReadme } from './readme.js'
import type { ReadmeResult } from './readme-worker.js'

/** The worker's "modules loaded" message (readme-worker.ts; not imported, which would start it here). */
const READY = 'ready'
/** A worker that has not loaded its modules by then is taken for broken. */
const STARTUP_MS = 30_000

interface Renderer {
  worker: Worker
  /** Resolves true once the worker has loaded, false when it failed to start. */
  ready: Promise<boolean>
}

export interface ReadmeBudget {
  /** README bytes rendered; the rest is cut (`limits.readme_size`). */
  maxBytes: number
  /** Past this the thread is terminated and the README shown as plain text (`limits.readme_render_time`). */
  timeoutMs: number
  /** READMEs waiting at most (`limits.readme_queue`); each holds its text and a request. */
  maxQueued: number
}

export interface ReadmeOutcome {
  html: SafeHtml | null
  /** False when the README was not rendered because too many were waiting: show it, do not keep it. */
  keep: boolean
}

/**
 * Renders READMEs off the main thread. Markdown and HTML sanitizing can take seconds on
 * crafted input (quadratic emphasis, deep nesting, many tags), and a README can come from an
 * uplink, so anyone can plant one: on the main thread that stalls every request.
 *
 * One worker thread, started on the first README and kept (unref'd) for the next ones; jobs
 * run one at a time, in order. The time budget counts from when the worker has loaded its
 * modules (on a busy machine that alone can take a second). A job past its budget gets the
 * worker terminated (the next job starts a fresh one); a job that throws, runs out of memory or loses its worker
 * resolves to the escaped plain text. Never rejects: callers cache what they get, failures
 * included, so a bad README costs one budget per revision, not one per view. At most
 * `maxQueued` wait; more get their plain text at once, marked not to be kept.
 */
export class ReadmeRenderer {
  private current: Renderer | null = null
  private tail: Promise<unknown> = Promise.resolve()
  private lastId = 0
  private queued = 0

  constructor(
    private readonly budget: () => ReadmeBudget,
    private readonly onFallback: (reason: string) => void = () => {},
    // Unchecked: without a build, the worker fails to start and READMEs fall back to plain text.
    private readonly workerUrl: URL = pathToFileURL(workerFile(import.meta.url, './readme-worker.js', false)),
  ) {}

  render(markdown: string | null | undefined): Promise<ReadmeOutcome> {
    if (!hasReadme(markdown)) return Promise.resolve({ html: null, keep: true })
    const { maxBytes, timeoutMs, maxQueued } = this.budget()
    const source = cutReadme(markdown, maxBytes)
    if (this.queued >= maxQueued) {
      this.onFallback(`${this.queued} READMEs are waiting to be rendered`)
      return Promise.resolve({ html: plainReadme(source), keep: false })
    }
    this.queued++
    const job = this.tail.then(() => this.run(source, timeoutMs)).finally(() => this.queued--)
    this.tail = job
    return job.then((html) => ({ html, keep: true }))
  }

  /** Stops the worker (a render in progress resolves to plain text). */
  async close(): Promise<void> {
    const current = this.current
    this.current = null
    await current?.worker.terminate()
  }

  private async run(source: string, timeoutMs: number): Promise<SafeHtml | null> {
    const { worker, ready } = this.ensureWorker()
    if (!(await ready)) {
      this.drop(worker)
      this.onFallback('the renderer did not start')
      return plainReadme(source)
    }
    return new Promise((resolve) => {
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

  private ensureWorker(): Renderer {
    if (!this.current) {
      // A README that eats memory takes its thread down (ERR_WORKER_OUT_OF_MEMORY), not the server.
      const worker = new Worker(this.workerUrl, { resourceLimits: { maxOldGenerationSizeMb: 256 } })
      // An idle renderer never keeps the process alive.
      worker.unref()
      const ready = new Promise<boolean>((resolve) => {
        const timer = setTimeout(() => done(false), STARTUP_MS)
        const onMessage = (message: unknown) => {
          if (message === READY) done(true)
        }
        const done = (ok: boolean) => {
          clearTimeout(timer)
          worker.off('message', onMessage)
          worker.off('error', onFailure)
          worker.off('exit', onFailure)
          resolve(ok)
        }
        const onFailure = () => done(false)
        worker.on('message', onMessage)
        worker.once('error', onFailure)
        worker.once('exit', onFailure)
      })
      this.current = { worker, ready }
    }
    return this.current
  }

  private drop(worker: Worker): void {
    if (this.current?.worker === worker) this.current = null
    void worker.terminate()
  }
}

import { Worker } from 'node:worker_threads'
import { SinopiaError } from '../errors.js'
import { workerFile } from '../worker-file.js'
import { ownedMemory } from './transfer.js'
import { TASKS, type TaskInput, type TaskName, type TaskOutput } from './view-tasks.js'
import type { ResultMessage, TaskMessage } from './view-worker.js'
import { BASE_TOKEN } from './view.js'

/**
 * Documents at least this big are parsed, checked and serialized in the worker thread. Measured
 * on this project's 2-core CI machine, the whole pipeline costs about 0.2 s per MB of JSON: a
 * 1 MB document stalls the event loop ~200 ms inline, where the worker's round trip costs ~2 ms.
 * Smaller ones (nearly every package) stay inline, where a round trip would cost more than the work.
 */
export const WORKER_THRESHOLD = 1024 * 1024

/**
 * Runs the view tasks (view-tasks.ts) inline or in one worker thread, by the size of the input.
 * One worker: the machine's other core is the event loop's, and big documents are rare enough
 * that they queue; the event loop only copies the results in. The worker starts on the first big
 * document, does not keep the process alive when idle, and a new one replaces a worker that died.
 */
export class ViewBuilder {
  private current: Lane | null = null
  private nextId = 1

  constructor(private readonly threshold = WORKER_THRESHOLD) {}

  /**
   * Runs `task`. `handOver`: byte arrays of the input the caller no longer needs; when the task
   * goes to the worker, they move there without a copy and are empty here afterwards.
   */
  run<K extends TaskName>(task: K, input: TaskInput<K>, size: number, handOver: Array<Uint8Array | null | undefined> = []): Promise<TaskOutput<K>> {
    if (size < this.threshold) {
      // A throw in the executor rejects the promise, as a failure in the worker would.
      return new Promise((resolve) => resolve((TASKS[task] as (input: TaskInput<K>) => TaskOutput<K>)(input)))
    }
    const lane = (this.current ??= this.start())
    const id = this.nextId++
    return new Promise<TaskOutput<K>>((resolve, reject) => {
      lane.pending.set(id, { resolve: resolve as (value: unknown) => void, reject })
      if (lane.pending.size === 1) lane.worker.ref()
      lane.worker.postMessage({ id, task, input } satisfies TaskMessage, ownedMemory(handOver))
    })
  }

  /** Stops the worker (tests, shutdown); tasks still queued fail. */
  async close(): Promise<void> {
    const lane = this.current
    this.current = null
    if (lane) await lane.worker.terminate()
  }

  private start(): Lane {
    const lane: Lane = { worker: new Worker(workerFile(import.meta.url, './view-worker.js'), { workerData: { baseToken: BASE_TOKEN } }), pending: new Map() }
    const { worker, pending } = lane
    worker.unref()
    worker.on('message', (message: ResultMessage) => {
      const waiting = pending.get(message.id)
      if (!waiting) return
      pending.delete(message.id)
      if (pending.size === 0) worker.unref()
      if (message.ok) waiting.resolve(message.value)
      else waiting.reject(new SinopiaError(message.error.code, message.error.message, { ...(message.error.hint ? { hint: message.error.hint } : {}) }))
    })
    const fail = (why: string) => {
      if (this.current === lane) this.current = null
      const error = new SinopiaError('EINTERNAL', `the view worker stopped: ${why}`)
      for (const waiting of pending.values()) waiting.reject(error)
      pending.clear()
    }
    worker.on('error', (error) => fail(error.message))
    worker.on('exit', (code) => fail(`exit code ${code}`))
    return lane
  }
}

/** One worker and the tasks sent to it that have not answered yet. */
interface Lane {
  worker: Worker
  pending: Map<number, { resolve: (value: unknown) => void; reject: (error: Error) => void }>
}

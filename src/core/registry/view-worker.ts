import { setPriority } from 'node:os'
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import { parentPort } from 'node:worker_threads'
import { SinopiaError } from '../errors.js'
import { ownedMemory } from './transfer.js'
import { onPhaseDone, TASKS, type TaskName } from './view-tasks.js'

/**
 * The view builder's worker thread: runs one task of view-tasks.ts per message, in order, and
 * answers with its result or its error (code, message and hint survive the trip).
 */
/** A nice value: on a contended CPU the worker gets about a tenth of what the event loop gets. */
const WORKER_NICE = 10

export interface TaskMessage {
  id: number
  task: TaskName
  input: unknown
}

export type ResultMessage =
  | { id: number; ok: true; value: unknown }
  | { id: number; ok: false; error: { code: string; message: string; hint?: string } }

// Below the event loop's priority: on a busy machine, a big document waits rather than the
// requests of everyone else (on Linux a thread's nice value is its own, so this sets only ours).
try {
  setPriority(WORKER_NICE)
} catch {
  // Not allowed here (some containers): the worker runs at the process's priority.
}

/**
 * A full collection, run after a task on a big document and between its phases. This thread
 * allocates only for documents: an 11 MB one leaves its text, parsed tree and serialized forms
 * behind (~80 MB), which V8 would otherwise keep, and the process's peak memory with them, until
 * the next document's allocations. Collecting what is all garbage by then costs ~20-50 ms here,
 * against seconds of work on such a document. (`gc` is reached through a new context: the flag
 * only applies to contexts made after it is set; it changes nothing else.)
 */
const collect: () => void = (() => {
  try {
    setFlagsFromString('--expose-gc')
    return runInNewContext('gc') as () => void
  } catch {
    return () => undefined
  }
})()
/** Phases of tasks on inputs this big are followed by a collection (the builder sends only documents above 1 MB here). */
const COLLECT_FROM_BYTES = 1024 * 1024
onPhaseDone((size) => {
  if (size >= COLLECT_FROM_BYTES) collect()
})

parentPort?.on('message', (message: TaskMessage) => {
  let answer: ResultMessage
  try {
    const run = TASKS[message.task] as (input: unknown) => unknown
    answer = { id: message.id, ok: true, value: run(message.input) }
  } catch (error) {
    const known = error instanceof SinopiaError
    answer = {
      id: message.id,
      ok: false,
      error: {
        code: known ? error.code : 'EINTERNAL',
        message: error instanceof Error ? error.message : String(error),
        ...(known && error.hint ? { hint: error.hint } : {}),
      },
    }
  }
  // What the result's bytes hold moves to the main thread without a copy.
  parentPort?.postMessage(answer, answer.ok ? transferables(answer.value) : [])
  collect()
})

/** The byte arrays among a result's values (two levels deep: the tasks' results are flat). */
function transferables(value: unknown): ArrayBuffer[] {
  const arrays: ArrayBufferView[] = []
  const visit = (v: unknown, depth: number) => {
    if (ArrayBuffer.isView(v)) arrays.push(v)
    else if (v && typeof v === 'object' && depth < 3) for (const child of Object.values(v)) visit(child, depth + 1)
  }
  visit(value, 0)
  return ownedMemory(arrays)
}

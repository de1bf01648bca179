import { parentPort } from 'node:worker_threads'
import { SinopiaError } from '../errors.js'
import { TASKS, type TaskName } from './view-tasks.js'

/**
 * The view builder's worker thread: runs one task of view-tasks.ts per message, in order, and
 * answers with its result or its error (code, message, status and hint survive the trip).
 */
export interface TaskMessage {
  id: number
  task: TaskName
  input: unknown
}

export type ResultMessage =
  | { id: number; ok: true; value: unknown }
  | { id: number; ok: false; error: { code: string; message: string; status: number; hint?: string } }

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
        status: known ? error.status : 500,
        ...(known && error.hint ? { hint: error.hint } : {}),
      },
    }
  }
  parentPort?.postMessage(answer, answer.ok ? transferables(answer.value) : [])
})

/**
 * The byte arrays of a result that own their whole memory: handed to the main thread without
 * a copy. (A small Buffer is a slice of a shared pool, which must stay here: it is copied.)
 */
function transferables(value: unknown, depth = 0, found: ArrayBuffer[] = []): ArrayBuffer[] {
  if (value instanceof Uint8Array) {
    if (value.byteOffset === 0 && value.byteLength === value.buffer.byteLength && value.buffer instanceof ArrayBuffer && !found.includes(value.buffer)) found.push(value.buffer)
  } else if (value && typeof value === 'object' && depth < 3) {
    for (const child of Object.values(value)) transferables(child, depth + 1, found)
  }
  return found
}

import { parentPort } from 'node:worker_threads'
import { SinopiaError } from '../errors.js'
import { TASKS, type TaskName } from './view-tasks.js'

/**
 * The view builder's worker thread: runs one task of view-tasks.ts per message, in order, and
 * answers with its result or its error (code, message and hint survive the trip).
 */
export interface TaskMessage {
  id: number
  task: TaskName
  input: unknown
}

export type ResultMessage =
  | { id: number; ok: true; value: unknown }
  | { id: number; ok: false; error: { code: string; message: string; hint?: string } }

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
  parentPort?.postMessage(answer)
})

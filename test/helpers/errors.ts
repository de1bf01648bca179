import { errorAnswer } from '../../src/core/server/statuses.js'

/**
 * An error's fields plus the HTTP status the server answers it with (server/statuses.ts), so
 * a test can assert a core error's code and the status it maps to in one `toMatchObject`.
 */
export function withStatus(error: unknown): Record<string, unknown> {
  const { name, message, cause } = error as Error
  return { ...(error as object), name, message, cause, status: errorAnswer(error).status }
}

/** What `promise` rejects with, `withStatus`; a promise that resolves fails the test. */
export function rejection(promise: Promise<unknown>): Promise<Record<string, unknown>> {
  return promise.then(
    (value) => {
      throw new Error(`expected a rejection, got ${JSON.stringify(value)}`)
    },
    (error: unknown) => withStatus(error),
  )
}

/** What `run` throws, `withStatus`; a call that returns fails the test. */
export function thrownBy(run: () => unknown): Record<string, unknown> {
  try {
    run()
  } catch (error) {
    return withStatus(error)
  }
  throw new Error('expected a throw')
}

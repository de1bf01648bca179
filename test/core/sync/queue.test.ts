import { describe, expect, it } from 'vitest'
import { WorkQueue, type Job, type QueueOptions } from '../../../src/core/sync/index.js'

/** A job whose run() stays pending until the test settles it. */
function deferredJob(label: string, log: string[]) {
  let settle!: (error?: Error) => void
  const job: Job & { settle: (error?: Error) => void; failures: unknown[] } = {
    label,
    failures: [],
    run: () => {
      log.push(`start ${label}`)
      return new Promise<void>((resolve, reject) => {
        settle = (error) => (error ? reject(error) : resolve())
      })
    },
    failed(error) {
      job.failures.push(error)
    },
    settle: (error) => settle(error),
  }
  return job
}

const options = (over: Partial<QueueOptions> = {}): QueueOptions => ({
  concurrency: 2,
  retries: 0,
  backoffMs: 100,
  retryable: () => true,
  wait: () => Promise.resolve(),
  ...over,
})

/** Lets pending promise callbacks run. */
const tick = () => new Promise((resolve) => setImmediate(resolve))

describe('WorkQueue', () => {
  it('runs at most `concurrency` jobs at once, in order, and drains', async () => {
    const log: string[] = []
    const queue = new WorkQueue(options())
    const jobs = ['a', 'b', 'c', 'd'].map((label) => deferredJob(label, log))
    queue.push(...jobs)
    await tick()
    expect(log).toEqual(['start a', 'start b'])
    jobs[1]?.settle()
    await tick()
    expect(log).toEqual(['start a', 'start b', 'start c'])
    jobs[0]?.settle()
    jobs[2]?.settle()
    await tick()
    jobs[3]?.settle()
    await queue.drained()
    expect(log).toHaveLength(4)
    expect(queue.interrupted).toEqual([])
  })

  it('retries transient failures with doubling backoff, then reports the last error', async () => {
    const waits: number[] = []
    let attempts = 0
    const failures: unknown[] = []
    const retried: number[] = []
    const queue = new WorkQueue(
      options({
        retries: 3,
        backoffMs: 100,
        wait: (ms) => {
          waits.push(ms)
          return Promise.resolve()
        },
        onRetry: (_job, _error, attempt) => retried.push(attempt),
      }),
    )
    queue.push({
      label: 'x',
      run: () => {
        attempts++
        return Promise.reject(new Error(`fail ${attempts}`))
      },
      failed: (error) => failures.push(error),
    })
    await queue.drained()
    expect(attempts).toBe(4)
    expect(retried).toEqual([1, 2, 3])
    expect(waits).toHaveLength(3)
    // ±20% jitter around 100, 200, 400.
    expect(waits[0]).toBeGreaterThanOrEqual(80)
    expect(waits[0]).toBeLessThanOrEqual(120)
    expect(waits[2]).toBeGreaterThanOrEqual(320)
    expect(waits[2]).toBeLessThanOrEqual(480)
    expect(failures).toEqual([new Error('fail 4')])
  })

  it('does not retry what is not retryable, and succeeds after a transient failure', async () => {
    const failures: unknown[] = []
    const queue = new WorkQueue(options({ retries: 5, retryable: (error) => (error as Error).message === 'transient' }))
    let calls = 0
    queue.push(
      { label: 'permanent', run: () => Promise.reject(new Error('permanent')), failed: (e) => failures.push(e) },
      {
        label: 'flaky',
        run: () => (calls++ === 0 ? Promise.reject(new Error('transient')) : Promise.resolve()),
        failed: (e) => failures.push(e),
      },
    )
    await queue.drained()
    expect(failures).toEqual([new Error('permanent')])
    expect(calls).toBe(2)
  })

  it('lets running jobs push more jobs before it drains', async () => {
    const done: string[] = []
    const queue = new WorkQueue(options({ concurrency: 1 }))
    const leaf = (label: string): Job => ({
      label,
      run: () => {
        done.push(label)
        return Promise.resolve()
      },
      failed: () => undefined,
    })
    queue.push({
      label: 'root',
      run: async () => {
        await tick()
        queue.push(leaf('child-1'), leaf('child-2'))
        done.push('root')
      },
      failed: () => undefined,
    })
    await queue.drained()
    expect(done).toEqual(['root', 'child-1', 'child-2'])
  })

  it('after an abort starts nothing new, lets running jobs finish and lists the rest as interrupted', async () => {
    const log: string[] = []
    const controller = new AbortController()
    const queue = new WorkQueue(options({ signal: controller.signal }))
    const jobs = ['a', 'b', 'c', 'd'].map((label) => deferredJob(label, log))
    queue.push(...jobs)
    await tick()
    controller.abort()
    let drained = false
    const draining = queue.drained().then(() => (drained = true))
    jobs[0]?.settle()
    await tick()
    expect(drained).toBe(false)
    jobs[1]?.settle()
    await draining
    expect(log).toEqual(['start a', 'start b'])
    expect(queue.interrupted.map((job) => job.label)).toEqual(['c', 'd'])
  })

  it('an abort during a retry wait counts the job as interrupted, not failed', async () => {
    const controller = new AbortController()
    const failures: unknown[] = []
    const queue = new WorkQueue(
      options({
        retries: 3,
        signal: controller.signal,
        wait: () => {
          controller.abort()
          return Promise.reject(new Error('aborted'))
        },
      }),
    )
    queue.push({ label: 'x', run: () => Promise.reject(new Error('transient')), failed: (e) => failures.push(e) })
    await queue.drained()
    expect(failures).toEqual([])
    expect(queue.interrupted.map((job) => job.label)).toEqual(['x'])
  })

  it('drains at once when empty', async () => {
    await new WorkQueue(options()).drained()
  })
})

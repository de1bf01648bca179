import { Inbox } from './inbox.js'

/**
 * Runs `fn` over `items`, at most `limit` at once; the first failure rejects once the running
 * ones end. Shared by what goes through many packages of the store (bundle import, migrate, the
 * maintenance scans), where a bounded number of reads and writes in flight keeps memory and file
 * handles flat.
 */
export async function eachLimited<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0
  let failure: { error: unknown } | null = null
  const worker = async () => {
    while (next < items.length && !failure) {
      try {
        await fn(items[next++] as T)
      } catch (error) {
        failure ??= { error }
      }
    }
  }
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker))
  if (failure) throw (failure as { error: unknown }).error
}

/**
 * eachLimited over items that arrive one by one (a store listing): the next is taken only when
 * fewer than `limit` run, so what is held is `limit` items, whatever the listing yields.
 */
export async function eachLimitedOf<T>(items: AsyncIterable<T>, limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let failure: { error: unknown } | null = null
  const running = new Set<Promise<void>>()
  for await (const item of items) {
    if (failure) break
    const job: Promise<void> = fn(item)
      .catch((error: unknown) => void (failure ??= { error }))
      .finally(() => running.delete(job))
    running.add(job)
    if (running.size >= Math.max(1, limit)) await Promise.race(running)
  }
  await Promise.all(running)
  if (failure) throw (failure as { error: unknown }).error
}

/**
 * The items of every source, as each arrives (no order across sources; those ready at once in
 * the order they became ready): a source waits for nothing but its own next item. Leaving
 * early, or a source's failure, stops the others.
 */
export async function* merged<T>(sources: ReadonlyArray<AsyncIterable<T>>): AsyncGenerator<T> {
  const iterators = sources.map((source) => source[Symbol.asyncIterator]())
  const ready = new Inbox<{ at: number; result: IteratorResult<T> } | { at: number; error: unknown }>()
  const pull = (at: number) =>
    void (iterators[at] as AsyncIterator<T>).next().then(
      (result) => ready.push({ at, result }),
      (error: unknown) => ready.push({ at, error }),
    )
  let live = iterators.length
  iterators.forEach((_, at) => pull(at))
  try {
    while (live > 0) {
      const item = await ready.take()
      if ('error' in item) throw item.error
      if (item.result.done) {
        live--
        continue
      }
      pull(item.at)
      yield item.result.value
    }
  } finally {
    await Promise.allSettled(iterators.map((iterator) => iterator.return?.() ?? Promise.resolve()))
  }
}

/**
 * `source()`'s items, asked for once `start` settles (at once without it; a rejection starts it
 * too); a source of null is none. Left before that (the caller stopped, or failed), it ends at
 * once and never asks for the source: written by hand because an async generator paused at
 * `await start` would hold a return() until `start` settles, and then start the source only to
 * stop it.
 */
export function startingAfter<T>(start: Promise<unknown> | undefined, source: () => AsyncIterable<T> | null): AsyncIterableIterator<T> {
  let stop: () => void = () => undefined
  const stopped = new Promise<false>((resolve) => (stop = () => resolve(false)))
  const began = Promise.race([(start ?? Promise.resolve()).then(() => true, () => true), stopped])
  let inner: AsyncIterator<T> | null = null
  let left = false
  const done = { done: true, value: undefined } as const
  return {
    [Symbol.asyncIterator]() {
      return this
    },
    async next() {
      if (!(await began) || left) return done
      inner ??= source()?.[Symbol.asyncIterator]() ?? null
      return inner ? inner.next() : done
    },
    async return() {
      left = true
      stop()
      await inner?.return?.()
      return done
    },
  }
}

/** `fn` of each item, at most `limit` at once, each result as it is ready (not in the items' order). */
export function mapLimited<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): AsyncGenerator<R> {
  let next = 0
  async function* lane(): AsyncGenerator<R> {
    while (next < items.length) yield await fn(items[next++] as T)
  }
  return merged(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, lane))
}

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

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

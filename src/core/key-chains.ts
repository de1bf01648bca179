/**
 * Runs the calls made with one key one after another, in call order, and calls with different
 * keys side by side: the in-process half of a lock, before anything more costly (a lock file,
 * a database session) is taken, so a process never waits on itself across processes.
 */
export class KeyChains {
  private readonly chains = new Map<string, Promise<unknown>>()

  async run<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const previous = this.chains.get(key) ?? Promise.resolve()
    const run = previous.catch(() => undefined).then(fn)
    this.chains.set(key, run)
    try {
      return await run
    } finally {
      if (this.chains.get(key) === run) this.chains.delete(key)
    }
  }
}

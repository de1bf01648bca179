/** Concurrent calls with the same key share one run of `fn` and its result. */
export class SingleFlight<T> {
  private readonly inFlight = new Map<string, Promise<T>>()

  run(key: string, fn: () => Promise<T>): Promise<T> {
    const running = this.inFlight.get(key)
    if (running) return running
    const started = fn().finally(() => this.inFlight.delete(key))
    this.inFlight.set(key, started)
    return started
  }

  get(key: string): Promise<T> | undefined {
    return this.inFlight.get(key)
  }
}

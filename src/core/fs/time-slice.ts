/**
 * Gives the event loop a turn every `sliceMs` of a loop that does synchronous work (the
 * maintenance walks read small files with blocking calls: one call costs a few µs where a trip
 * through the thread pool costs tens). Timers, signals and sockets then wait at most one slice.
 */
export class TimeSlice {
  private since = performance.now()

  constructor(private readonly sliceMs = 10) {}

  /** Resolves at once inside the slice; past it, after the event loop's next turn. */
  async pause(): Promise<void> {
    if (performance.now() - this.since < this.sliceMs) return
    await new Promise<void>((resolve) => setImmediate(resolve))
    this.since = performance.now()
  }
}

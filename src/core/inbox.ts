/**
 * Items handed in by callbacks (settled promises, a worker thread's messages) and taken in the
 * order they came by one async reader, which waits while there are none.
 */
export class Inbox<T> {
  private readonly items: T[] = []
  private wake: (() => void) | null = null

  push(item: T): void {
    this.items.push(item)
    this.wake?.()
    this.wake = null
  }

  async take(): Promise<T> {
    while (this.items.length === 0) await new Promise<void>((resolve) => (this.wake = resolve))
    return this.items.shift() as T
  }
}

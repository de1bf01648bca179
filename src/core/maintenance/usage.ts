import { readFile } from 'node:fs/promises'
import { SinopiaError, errnoCode } from '../errors.js'
import { writeFileAtomic } from '../fs/atomic.js'
import type { KeyedLock } from '../fs/lock.js'
import { usageFile, usageLock } from '../store/layout.js'

/** How often a server merges what it served into usage.json. */
export const USAGE_FLUSH_MS = 30_000

/** Last use (ms since the epoch) of each blob key. */
export type Usage = Map<string, number>

/** usage.json as a map; a missing file is an empty map, a broken one an ECORRUPT error. */
export async function readUsage(root: string): Promise<Usage> {
  const file = usageFile(root)
  let raw: string
  try {
    raw = await readFile(file, 'utf8')
  } catch (error) {
    if (errnoCode(error) === 'ENOENT') return new Map()
    throw error
  }
  let parsed: unknown
  try {
    parsed = JSON.parse(raw)
  } catch (error) {
    throw new SinopiaError('ECORRUPT', `${file} is not valid JSON`, { hint: 'run `sinopia-cli verify --fix`', cause: error })
  }
  const lastUse = (parsed as { lastUse?: unknown } | null)?.lastUse
  if (!lastUse || typeof lastUse !== 'object' || Array.isArray(lastUse)) {
    throw new SinopiaError('ECORRUPT', `${file} has no lastUse map`, { hint: 'run `sinopia-cli verify --fix`' })
  }
  const usage: Usage = new Map()
  for (const [key, at] of Object.entries(lastUse)) if (typeof at === 'number' && Number.isFinite(at)) usage.set(key, at)
  return usage
}

/**
 * Read-modify-write of usage.json under its cross-process lock, so that several servers and
 * a prune never lose each other's updates. A broken file starts over empty: it is only a hint.
 */
export async function updateUsage(root: string, lock: KeyedLock, change: (usage: Usage) => void): Promise<void> {
  await lock.withLock(usageLock(root), async () => {
    const usage = await readUsage(root).catch((error: unknown) => {
      if (error instanceof SinopiaError && error.code === 'ECORRUPT') return new Map<string, number>()
      throw error
    })
    change(usage)
    await writeFileAtomic(usageFile(root), JSON.stringify({ format: 1, lastUse: Object.fromEntries(usage) }))
  })
}

/**
 * When each tarball was last served, batched in memory: `touch` is one Map.set on the read
 * path, and the batch is merged into usage.json (newest time wins) every `intervalMs` and
 * at close, never once per request.
 */
export class UsageTracker {
  private pending: Usage = new Map()
  private timer: NodeJS.Timeout | null = null
  private flushing: Promise<void> = Promise.resolve()

  constructor(
    private readonly root: string,
    private readonly lock: KeyedLock,
    private readonly options: { intervalMs?: number; now?: () => number; onError?: (error: unknown) => void } = {},
  ) {}

  touch(key: string): void {
    this.pending.set(key, (this.options.now ?? Date.now)())
  }

  start(): void {
    if (this.timer) return
    this.timer = setInterval(() => {
      this.flush().catch((error: unknown) => this.options.onError?.(error))
    }, this.options.intervalMs ?? USAGE_FLUSH_MS)
    // Pending uses are flushed by close(); the timer alone must not keep a process alive.
    this.timer.unref()
  }

  /** Merges what was touched since the last flush into usage.json. One flush at a time. */
  flush(): Promise<void> {
    const run = this.flushing.catch(() => undefined).then(() => this.write())
    this.flushing = run
    return run
  }

  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer)
    this.timer = null
    await this.flush()
  }

  private async write(): Promise<void> {
    if (this.pending.size === 0) return
    const batch = this.pending
    this.pending = new Map()
    try {
      await updateUsage(this.root, this.lock, (usage) => {
        for (const [key, at] of batch) if ((usage.get(key) ?? 0) < at) usage.set(key, at)
      })
    } catch (error) {
      // Keep the batch for the next try; uses touched meanwhile are newer and win.
      for (const [key, at] of batch) if (!this.pending.has(key)) this.pending.set(key, at)
      throw error
    }
  }
}

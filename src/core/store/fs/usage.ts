import { readFile, rm } from 'node:fs/promises'
import { SinopiaError, errnoCode } from '../../errors.js'
import { writeFileAtomic } from '../../fs/atomic.js'
import type { KeyedLock } from '../../fs/lock.js'
import type { Usage } from '../documents.js'
import type { UsageRecords } from '../types.js'
import { usageFile, usageLock } from './layout.js'

/** usage.json (see layout.ts): `{"format": 1, "lastUse": {key: ms}}`. */
export class FsUsage implements UsageRecords {
  constructor(
    private readonly root: string,
    private readonly lock: KeyedLock,
  ) {}

  where(): string {
    return usageFile(this.root)
  }

  async read(): Promise<Usage> {
    const file = usageFile(this.root)
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

  /** Under usage.lock, so that several servers and a prune never lose each other's updates. */
  async update(change: (usage: Usage) => void): Promise<void> {
    await this.lock.withLock(usageLock(this.root), async () => {
      const usage = await this.read().catch((error: unknown) => {
        if (error instanceof SinopiaError && error.code === 'ECORRUPT') return new Map<string, number>()
        throw error
      })
      change(usage)
      await writeFileAtomic(usageFile(this.root), JSON.stringify({ format: 1, lastUse: Object.fromEntries(usage) }))
    })
  }

  async clear(): Promise<void> {
    await this.lock.withLock(usageLock(this.root), () => rm(usageFile(this.root), { force: true }))
  }
}

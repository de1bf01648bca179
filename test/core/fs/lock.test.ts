import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { KeyedLock } from '../../../src/core/fs/lock.js'

describe('KeyedLock', () => {
  let dir: string
  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'sinopia-lock-'))
  })
  afterEach(() => rm(dir, { recursive: true, force: true }))

  it('holds two locks of one folder at once (usage.lock and changes.log.lock share the storage root)', async () => {
    const lock = new KeyedLock()
    // The second taken while the first is held, and released before it.
    let inner: Promise<void> | null = null
    await lock.withLock(path.join(dir, 'usage.lock'), async () => {
      inner = lock.withLock(path.join(dir, 'changes.log.lock'), () => Promise.resolve())
      await inner
    })
    await expect(inner).resolves.toBeUndefined()
    // Both released: taken again at once.
    await lock.withLock(path.join(dir, 'usage.lock'), () => Promise.resolve())
    await lock.withLock(path.join(dir, 'changes.log.lock'), () => Promise.resolve())
  })

  it('makes the folder of a lock that has none yet', async () => {
    const lock = new KeyedLock()
    await expect(lock.withLock(path.join(dir, 'a', 'b', '.lock'), () => Promise.resolve('held'))).resolves.toBe('held')
  })

  it('waits while another holder has the lock, then takes it', async () => {
    const file = path.join(dir, 'pkg', '.lock')
    // Two instances stand for two processes: each takes the lock folder itself.
    const first = new KeyedLock()
    const second = new KeyedLock()
    const order: string[] = []
    let release!: () => void
    const held = first.withLock(file, async () => {
      order.push('first')
      await new Promise<void>((resolve) => (release = resolve))
    })
    await expect.poll(() => order).toEqual(['first'])
    const waiting = second.withLock(file, () => Promise.resolve(order.push('second')))
    await new Promise((resolve) => setTimeout(resolve, 100))
    expect(order).toEqual(['first'])
    release()
    await held
    await waiting
    expect(order).toEqual(['first', 'second'])
  })

  it('fails at once on an error of the disk, not after the retries for a held lock', async () => {
    const lock = new KeyedLock()
    // mkdir(2) fails with ENAMETOOLONG. Retried like a held lock, it failed only after ~40 s of
    // timers: with the timers stopped here, that version never settles (the test times out).
    vi.useFakeTimers({ toFake: ['setTimeout'] })
    try {
      await expect(lock.withLock(path.join(dir, `${'x'.repeat(300)}.lock`), () => Promise.resolve())).rejects.toMatchObject({ code: 'ENAMETOOLONG' })
    } finally {
      vi.useRealTimers()
    }
  })
})

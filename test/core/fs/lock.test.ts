import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
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
})

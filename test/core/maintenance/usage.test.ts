import { mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { UsageTracker } from '../../../src/core/maintenance/index.js'
import { openStore } from '../../../src/core/store/index.js'
import { tempStore, type TestStore } from './fixture.js'

describe('UsageTracker', () => {
  let t: TestStore
  const file = () => path.join(t.root, 'usage.json')
  beforeEach(async () => {
    t = await tempStore()
  })
  afterEach(() => t.cleanup())

  it('keeps touches in memory until a flush, then writes them in one go', async () => {
    let now = 1000
    const tracker = new UsageTracker(t.store.usage, { now: () => now })
    tracker.touch('tarball:a@1.0.0')
    now = 2000
    tracker.touch('tarball:a@1.0.0')
    tracker.touch('tarball:b@1.0.0')
    await expect(stat(file())).rejects.toMatchObject({ code: 'ENOENT' })
    await tracker.flush()
    expect(Object.fromEntries(await t.store.usage.read())).toEqual({ 'tarball:a@1.0.0': 2000, 'tarball:b@1.0.0': 2000 })
    // Nothing new: no write at all.
    const before = (await stat(file())).mtimeMs
    await tracker.flush()
    expect((await stat(file())).mtimeMs).toBe(before)
  })

  it('merges with what other processes wrote: the newest time of each key wins', async () => {
    const now = { a: 5000 }
    // Two processes: each opens the store with its own lock table.
    const one = new UsageTracker((await openStore(t.root)).usage, { now: () => now.a })
    const two = new UsageTracker((await openStore(t.root)).usage, { now: () => now.a })
    one.touch('tarball:x@1.0.0')
    one.touch('tarball:y@1.0.0')
    now.a = 9000
    two.touch('tarball:y@1.0.0')
    two.touch('tarball:z@1.0.0')
    now.a = 1000
    await Promise.all([two.flush(), one.flush()])
    expect(Object.fromEntries(await t.store.usage.read())).toEqual({ 'tarball:x@1.0.0': 5000, 'tarball:y@1.0.0': 9000, 'tarball:z@1.0.0': 9000 })
  })

  it('close() flushes what is pending and stops the timer', async () => {
    const tracker = new UsageTracker(t.store.usage, { intervalMs: 60_000, now: () => 42 })
    tracker.start()
    tracker.touch('tarball:a@1.0.0')
    await tracker.close()
    expect(JSON.parse(await readFile(file(), 'utf8'))).toEqual({ format: 1, lastUse: { 'tarball:a@1.0.0': 42 } })
  })

  it('a broken usage.json is an ECORRUPT error to readers and starts over on the next flush', async () => {
    await writeFile(file(), '{"lastUse": ')
    await expect(t.store.usage.read()).rejects.toMatchObject({ code: 'ECORRUPT' })
    const tracker = new UsageTracker(t.store.usage, { now: () => 7 })
    tracker.touch('tarball:a@1.0.0')
    await tracker.flush()
    expect(Object.fromEntries(await t.store.usage.read())).toEqual({ 'tarball:a@1.0.0': 7 })
  })

  it('keeps a batch whose write failed for the next flush', async () => {
    await mkdir(file())
    const tracker = new UsageTracker(t.store.usage, { now: () => 3 })
    tracker.touch('tarball:a@1.0.0')
    await expect(tracker.flush()).rejects.toMatchObject({ code: 'EISDIR' })
    await rm(file(), { recursive: true })
    await tracker.flush()
    expect(Object.fromEntries(await t.store.usage.read())).toEqual({ 'tarball:a@1.0.0': 3 })
  })
})

import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { KeyedLock } from '../../../src/core/fs/lock.js'
import { ChangeJournal } from '../../../src/core/store/fs/journal.js'

describe('ChangeJournal (the folder store change feed)', () => {
  let dir: string
  let file: string
  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'sinopia-journal-'))
    file = path.join(dir, 'changes.log')
  })
  afterEach(() => rm(dir, { recursive: true, force: true }))

  it('a reader that polls once per rotation reads every name, across the rotation', async () => {
    const journal = new ChangeJournal(file, new KeyedLock(), 200)
    const cursor = await journal.cursor()
    const names = Array.from({ length: 12 }, (_, i) => `@scope/package-${i}`)
    for (const name of names) await journal.note(name)
    // 12 lines of ~26 bytes: the file was rotated once, so the cursor's file is now changes.1.
    expect(await readFile(path.join(dir, 'changes.1'), 'utf8')).toContain('package-0')
    const read = await journal.changesSince(cursor)
    expect(read.names?.sort()).toEqual([...names].sort())
    expect((await journal.changesSince(read.cursor)).names).toEqual([])
  })

  it('a cursor older than the last two files cannot tell: names is null, and the new cursor reads on', async () => {
    const journal = new ChangeJournal(file, new KeyedLock(), 100)
    const cursor = await journal.cursor()
    for (let i = 0; i < 30; i++) await journal.note(`name-${i}`)
    const lost = await journal.changesSince(cursor)
    expect(lost.names).toBeNull()
    await journal.note('after')
    expect((await journal.changesSince(lost.cursor)).names).toEqual(['after'])
  })

  it('the same name noted many times comes once; a half-written last line waits for the next read', async () => {
    const journal = new ChangeJournal(file, new KeyedLock())
    const cursor = await journal.cursor()
    for (let i = 0; i < 5; i++) await journal.note('a')
    await writeFile(file, 'b', { flag: 'a' })
    const read = await journal.changesSince(cursor)
    expect(read.names).toEqual(['a'])
    await writeFile(file, '\n%E0%A4%A\n', { flag: 'a' })
    await journal.note('c')
    // The undecodable line (a crash's leftover) is skipped, not a wall the feed stops at.
    expect((await journal.changesSince(read.cursor)).names).toEqual(['b', 'c'])
  })

  it('a cursor of another journal cannot tell', async () => {
    const journal = new ChangeJournal(file, new KeyedLock())
    await journal.note('a')
    const other = new ChangeJournal(path.join(dir, 'other.log'), new KeyedLock())
    expect((await journal.changesSince(await other.cursor())).names).toBeNull()
    expect((await journal.changesSince('not a cursor')).names).toBeNull()
  })
})

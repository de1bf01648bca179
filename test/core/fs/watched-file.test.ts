import { mkdtemp, rename, rm, stat, utimes, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { KeyedLock } from '../../../src/core/fs/lock.js'
import { WatchedFile } from '../../../src/core/fs/watched-file.js'

describe('WatchedFile', () => {
  let dir: string
  let file: string
  let parses: number
  const watched = () =>
    new WatchedFile<string>(
      file,
      {
        parse: (text) => {
          parses++
          return text
        },
        serialize: (value) => value,
        empty: () => '(none)',
      },
      new KeyedLock(),
    )
  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'sinopia-watched-'))
    file = path.join(dir, 'data')
    parses = 0
  })
  afterEach(() => rm(dir, { recursive: true, force: true }))

  it('sees a rewrite of the same size within the same mtime second (a new inode)', async () => {
    const sameSecond = new Date('2026-01-01T00:00:00Z')
    await writeFile(file, 'alice\n')
    await utimes(file, sameSecond, sameSecond)
    const reader = watched()
    expect(await reader.read()).toBe('alice\n')

    // Another process's atomic write: a temp file of the same size renamed over it, same mtime.
    const temp = path.join(dir, '.data.tmp')
    await writeFile(temp, 'bobby\n')
    await utimes(temp, sameSecond, sameSecond)
    await rename(temp, file)
    const after = await stat(file)
    expect(after.size).toBe(6)
    expect(after.mtimeMs).toBe(sameSecond.getTime())

    expect(await reader.read()).toBe('bobby\n')
  })

  it('parses an unchanged file once, and reads a missing one as empty', async () => {
    const reader = watched()
    expect(await reader.read()).toBe('(none)')
    await reader.modify(() => 'one\n')
    expect(await reader.read()).toBe('one\n')
    expect(await reader.read()).toBe('one\n')
    expect(parses).toBe(1)
  })
})

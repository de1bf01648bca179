import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { contentFiles, contentShare } from '../../../src/core/store/fs/listing.js'

describe('contentFiles (folder store)', () => {
  let blobsDir: string
  beforeEach(async () => {
    blobsDir = await mkdtemp(path.join(tmpdir(), 'sinopia-listing-'))
  })
  afterEach(() => rm(blobsDir, { recursive: true, force: true }))

  const made = async (top: string, second = '01', fill = '5') => {
    const hex = `${top}${second}${fill.repeat(124)}`
    const dir = path.join(blobsDir, 'content-v2', 'sha512', top, second)
    await mkdir(dir, { recursive: true })
    await writeFile(path.join(dir, hex.slice(4)), 'x')
    return hex
  }
  const names = (found: Iterable<{ name: string }>) => [...found].map((file) => file.name)

  it('shares the content out among walks that take turns, every file once and a top folder whole', async () => {
    const hexes: string[] = []
    for (const top of ['00', '3f', '7a', 'c1', 'ff']) for (const second of ['01', 'e2']) hexes.push(await made(top, second))
    // Not content: a top folder whose name is no byte, and a file whose joined name is not a digest.
    await mkdir(path.join(blobsDir, 'content-v2', 'sha512', 'zz', '01'), { recursive: true })
    await writeFile(path.join(blobsDir, 'content-v2', 'sha512', 'zz', '01', 'x'.repeat(124)), 'x')
    expect(names(contentFiles(blobsDir)).sort()).toEqual(hexes.sort())
    for (const walks of [2, 3]) {
      const share = contentShare()
      const iterators = Array.from({ length: walks }, () => contentFiles(blobsDir, share)[Symbol.iterator]())
      const taken: string[][] = iterators.map(() => [])
      // Round robin, one file at a time, until every walk is done.
      for (let live = walks; live > 0; ) {
        live = 0
        iterators.forEach((iterator, at) => {
          const next = iterator.next()
          if (!next.done) {
            live++
            taken[at]?.push(next.value.name)
          }
        })
      }
      for (const files of taken) expect(files.length).toBeGreaterThan(0)
      expect(taken.flat().sort()).toEqual(hexes.sort())
      // A top folder is one walk's whole: both files under each are in the same walk's share.
      for (const top of ['00', '3f', '7a', 'c1', 'ff']) expect(taken.filter((files) => files.some((name) => name.startsWith(top)))).toHaveLength(1)
    }
  })

  it('leaves a late walk what is left, and a folder made meanwhile to at most one walk', async () => {
    const before = [await made('20'), await made('41'), await made('a3')]
    const share = contentShare()
    const first = contentFiles(blobsDir, share)[Symbol.iterator]()
    const start = first.next()
    const taken: string[] = start.done ? [] : [start.value.name]
    // A publish makes new top folders while the walks run: one already passed, one still ahead.
    const passed = await made('02')
    const ahead = await made('f0')
    const second = names(contentFiles(blobsDir, share))
    for (let next = first.next(); !next.done; next = first.next()) taken.push(next.value.name)
    expect(taken[0]).toBe(before[0])
    // The second walk started late: it took everything after the first walk's first folder.
    expect(second.sort()).toEqual([...before.slice(1), ahead].sort())
    expect(taken).toEqual([before[0]])
    expect([...taken, ...second]).not.toContain(passed)
  })
})

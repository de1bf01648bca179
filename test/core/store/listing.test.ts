import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { contentFiles } from '../../../src/core/store/fs/listing.js'

describe('contentFiles (folder store)', () => {
  let blobsDir: string
  beforeEach(async () => {
    blobsDir = await mkdtemp(path.join(tmpdir(), 'sinopia-listing-'))
  })
  afterEach(() => rm(blobsDir, { recursive: true, force: true }))

  it('splits the content into lanes that together hold every file once', async () => {
    const hexes: string[] = []
    for (const top of ['00', '3f', '7a', 'c1', 'ff']) {
      for (const second of ['01', 'e2']) {
        const hex = `${top}${second}${'5'.repeat(124)}`
        hexes.push(hex)
        const dir = path.join(blobsDir, 'content-v2', 'sha512', top, second)
        await mkdir(dir, { recursive: true })
        await writeFile(path.join(dir, hex.slice(4)), 'x')
      }
    }
    const names = (share?: { lane: number; lanes: number }) => [...contentFiles(blobsDir, share)].map((found) => found.name)
    expect(names().sort()).toEqual(hexes.sort())
    for (const lanes of [2, 3]) {
      const shares = Array.from({ length: lanes }, (_, lane) => names({ lane, lanes }))
      for (const share of shares) expect(share.length).toBeGreaterThan(0)
      expect(shares.flat().sort()).toEqual(hexes.sort())
    }
    // A top folder is one lane's whole, by its name: both files under "3f" (0x3f is odd) are lane 1's of 2.
    expect(names({ lane: 1, lanes: 2 }).filter((name) => name.startsWith('3f'))).toHaveLength(2)
  })

  it('shares the folders out the same way when one is made between the lanes\' listings', async () => {
    const made = async (top: string) => {
      const hex = `${top}01${'7'.repeat(124)}`
      const dir = path.join(blobsDir, 'content-v2', 'sha512', top, '01')
      await mkdir(dir, { recursive: true })
      await writeFile(path.join(dir, hex.slice(4)), 'x')
      return hex
    }
    const before = [await made('20'), await made('41'), await made('a3')]
    const first = [...contentFiles(blobsDir, { lane: 0, lanes: 2 })].map((found) => found.name)
    // A publish makes a new top folder before the second lane lists them: no folder moves lane.
    await made('02')
    const second = [...contentFiles(blobsDir, { lane: 1, lanes: 2 })].map((found) => found.name)
    expect([...first, ...second].sort()).toEqual(before.sort())
  })
})

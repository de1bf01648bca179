import { appendFile, mkdtemp, readFile, readdir, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { KeyedLock } from '../../../src/core/fs/lock.js'
import { FsEntries, entriesFileOf, eachEntry } from '../../../src/core/store/fs/entries.js'
import { tarballKey } from '../../../src/core/store/index.js'

const digest = (n: number) => `sha512-${Buffer.alloc(64, n).toString('base64')}`

/** The folder store's blob index (format 2): one entries file per package. */
describe('entries files', () => {
  let dir: string
  let entries: FsEntries
  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'sinopia-entries-'))
    entries = new FsEntries(dir, new KeyedLock())
  })
  afterEach(() => rm(dir, { recursive: true, force: true }))

  const all = async () => {
    const out: string[] = []
    for await (const entry of eachEntry(dir)) out.push(entry.key)
    return out.sort()
  }
  const linesOf = async (key: string) => (await readFile(entriesFileOf(dir, key), 'utf8')).split('\n').filter(Boolean)

  it("keeps a package's keys in one file, scoped names included; the walk yields each live key once", async () => {
    await entries.put(tarballKey('@scope/a', '1.0.0'), { integrity: digest(1), size: 10, verified: true })
    await entries.put(tarballKey('@scope/a', '2.0.0'), { integrity: digest(2), size: 20, verified: true })
    await entries.put(tarballKey('b', '1.0.0'), { integrity: digest(3), size: 30, verified: false })
    await entries.put(tarballKey('b', '1.0.0'), { integrity: digest(3), size: 30, time: 5, verified: true })
    expect((await readdir(path.join(dir, 'entries'))).sort()).toEqual(['%40scope%2Fa', 'b'])
    expect(await entries.get(tarballKey('b', '1.0.0'))).toEqual({ key: tarballKey('b', '1.0.0'), integrity: digest(3), size: 30, time: 5, verified: true })
    expect(await all()).toEqual([tarballKey('@scope/a', '1.0.0'), tarballKey('@scope/a', '2.0.0'), tarballKey('b', '1.0.0')])
  })

  it("names no file '.', '..' or like a temp file, whatever the package's name", async () => {
    const odd = ['.', '..', '.hidden'].map((name) => tarballKey(name, '1.0.0'))
    for (const [n, key] of odd.entries()) await entries.put(key, { integrity: digest(n), size: n, verified: true })
    expect((await readdir(path.join(dir, 'entries'))).sort()).toEqual(['%2E', '%2E.', '%2Ehidden'])
    expect(await all()).toEqual([...odd].sort())
  })

  it('skips a torn line (a crash mid-append) and reads the lines after it', async () => {
    const key = tarballKey('torn', '1.0.0')
    await entries.put(key, { integrity: digest(1), size: 10, verified: true })
    // Cut off mid-line, as a crash leaves it: no newline after it.
    await appendFile(entriesFileOf(dir, key), '\n0123abcd\t{"key":"tarball:torn@2.0.0","integ')
    await entries.put(tarballKey('torn', '3.0.0'), { integrity: digest(3), size: 30, verified: true })
    expect(await entries.get(tarballKey('torn', '2.0.0'))).toBeNull()
    expect(await all()).toEqual([tarballKey('torn', '1.0.0'), tarballKey('torn', '3.0.0')])
  })

  it('a removal is a line until removals outnumber live keys; then the file is rewritten, and removed with its last key', async () => {
    const keys = [1, 2, 3, 4].map((n) => tarballKey('p', `${n}.0.0`))
    for (const [n, key] of keys.entries()) await entries.put(key, { integrity: digest(n), size: n, verified: true })
    await entries.remove([keys[0] as string])
    expect(await linesOf(keys[0] as string)).toHaveLength(5)
    await entries.remove([keys[1] as string])
    // 4 puts + 2 removals against 2 live keys: rewritten with the live ones.
    expect(await linesOf(keys[0] as string)).toHaveLength(2)
    expect(await all()).toEqual(keys.slice(2))
    await entries.remove([keys[2] as string])
    await entries.remove([keys[3] as string])
    expect(await readdir(path.join(dir, 'entries'))).toEqual([])
    // Removing what is not there changes nothing.
    await entries.remove([keys[3] as string])
    expect(await all()).toEqual([])
  })

  it('marks an entry verified keeping its time, but never brings back one removed meanwhile', async () => {
    const [kept, gone] = [tarballKey('m', '1.0.0'), tarballKey('m', '2.0.0')]
    await entries.put(kept, { integrity: digest(1), size: 1, time: 42, verified: false })
    await entries.put(gone, { integrity: digest(2), size: 2, verified: false })
    await entries.remove([gone])
    await entries.markVerified(kept, digest(1))
    await entries.markVerified(gone, digest(2))
    // A content other than the one hashed is not marked.
    await entries.put(tarballKey('m', '3.0.0'), { integrity: digest(3), size: 3, verified: false })
    await entries.markVerified(tarballKey('m', '3.0.0'), digest(4))
    expect(await entries.get(kept)).toMatchObject({ verified: true, time: 42 })
    expect(await entries.get(gone)).toBeNull()
    expect(await entries.get(tarballKey('m', '3.0.0'))).toMatchObject({ verified: false })
  })

  it("two processes' changes of one package's file, compactions among them, lose nothing", async () => {
    // Two lock tables: the cross-process lock is all that orders them, as between two processes.
    const other = new FsEntries(dir, new KeyedLock())
    const key = (side: number, n: number) => tarballKey('shared', `${side}.${n}.0`)
    await Promise.all(
      [entries, other].map(async (each, side) => {
        for (let n = 0; n < 30; n++) {
          await each.put(key(side, n), { integrity: digest(n), size: n, verified: true })
          // Every third key removed again: compactions run while the other side appends.
          if (n % 3 === 0) await each.remove([key(side, n)])
        }
      }),
    )
    const expected = [0, 1].flatMap((side) => Array.from({ length: 30 }, (_, n) => n).filter((n) => n % 3 !== 0).map((n) => key(side, n)))
    expect(await all()).toEqual(expected.sort())
  })
})

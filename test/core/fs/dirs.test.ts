import { mkdtemp, readFile, rename, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { inDir } from '../../../src/core/fs/dirs.js'

/** inDir: the write first, the folder only when the write found it missing. */
describe('inDir', () => {
  let dir: string
  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'sinopia-dirs-'))
  })
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true })
  })

  it('runs the write once where the folder exists, and again after making it where it does not', async () => {
    let calls = 0
    const write = (target: string) => () => {
      calls++
      return writeFile(target, 'x')
    }
    await inDir(dir, write(path.join(dir, 'a')))
    expect(calls).toBe(1)
    const nested = path.join(dir, 'b', 'c')
    await inDir(nested, write(path.join(nested, 'd')))
    expect(calls).toBe(3)
    expect(await readFile(path.join(nested, 'd'), 'utf8')).toBe('x')
  })

  it('passes other errors through untouched, and an ENOENT the folder does not cure after one more try', async () => {
    let calls = 0
    const refused = Object.assign(new Error('EACCES: refused'), { code: 'EACCES' })
    await expect(
      inDir(path.join(dir, 'never'), () => {
        calls++
        return Promise.reject(refused)
      }),
    ).rejects.toBe(refused)
    expect(calls).toBe(1)
    // A rename whose source is gone: the folder is made once, the ENOENT stays.
    const target = path.join(dir, 'e', 'f')
    await expect(inDir(path.dirname(target), () => rename(path.join(dir, 'missing'), target))).rejects.toMatchObject({ code: 'ENOENT' })
  })
})

import { createHash } from 'node:crypto'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { sha512OfFile } from '../../../src/core/store/fs/blob-hash.js'

describe('sha512OfFile', () => {
  let dir: string
  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'sinopia-hash-'))
  })
  afterEach(() => rm(dir, { recursive: true, force: true }))

  const digestOf = (data: Buffer) => createHash('sha512').update(data).digest('base64')

  it('hashes every byte of files smaller than, equal to and larger than one read', async () => {
    for (const size of [0, 1, 300, 64 * 1024 - 1, 64 * 1024, 64 * 1024 + 1, 200_000]) {
      const data = Buffer.alloc(size)
      for (let i = 0; i < size; i++) data[i] = (i * 31 + size) & 0xff
      const file = path.join(dir, `f${size}`)
      await writeFile(file, data)
      expect(await sha512OfFile(file)).toEqual({ digest: digestOf(data), size })
      // A changed last byte changes the digest: the tail past the first read is hashed too.
      if (size > 0) {
        data[size - 1] = (data[size - 1] as number) ^ 0xff
        await writeFile(file, data)
        expect((await sha512OfFile(file))?.digest).toBe(digestOf(data))
      }
    }
  })

  it('says null for a missing file and throws other errors', async () => {
    expect(await sha512OfFile(path.join(dir, 'none'))).toBeNull()
    await expect(sha512OfFile(dir)).rejects.toMatchObject({ code: 'EISDIR' })
  })
})

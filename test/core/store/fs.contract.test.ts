import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { openStore } from '../../../src/core/store/index.js'
import { describeStore } from './contract.js'

describeStore('filesystem', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'sinopia-contract-'))
  const root = path.join(dir, 'storage')
  const store = await openStore(root)
  return {
    store,
    reopen: () => openStore(root),
    corrupt: async (sha512) => {
      const file = store.blobs.where(sha512)
      const bytes = await readFile(file)
      bytes[0] = (bytes[0] as number) ^ 0xff
      await writeFile(file, bytes)
    },
    cleanup: () => rm(dir, { recursive: true, force: true }),
  }
})

import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import pg from 'pg'
import { openStore, type Store } from '../../../src/core/store/index.js'
import { BlobCache } from '../../../src/core/store/pg/blob-cache.js'
import { freshDatabase } from '../../helpers/postgres.js'
import { describeStore } from './contract.js'

/** The shared contract, on a fresh database per test; `corrupt` flips a byte in the database and in every handle's disk copy. */
describeStore('postgresql', async () => {
  const url = await freshDatabase()
  const dir = await mkdtemp(path.join(tmpdir(), 'sinopia-pg-contract-'))
  // Each handle its own blob cache, as each instance on its own host would have.
  let handles = 0
  const open = () => openStore(url, { blobCache: path.join(dir, `cache-${handles++}`) })
  const opened: Store[] = [await open()]
  const store = opened[0] as Store
  return {
    store,
    feedMayRepeat: true,
    reopen: async () => {
      const other = await open()
      opened.push(other)
      return other
    },
    corrupt: async (sha512) => {
      const db = new pg.Client({ connectionString: url })
      await db.connect()
      try {
        await db.query(
          `UPDATE sinopia_blob_chunks SET data = set_byte(data, 0, get_byte(data, 0) # 255)
           WHERE seq = 0 AND content_id = (SELECT id FROM sinopia_blob_content WHERE integrity = $1)`,
          [sha512],
        )
      } finally {
        await db.end()
      }
      for (let i = 0; i < handles; i++) {
        const file = new BlobCache(path.join(dir, `cache-${i}`)).path(sha512)
        const bytes = await readFile(file).catch(() => null)
        if (!bytes) continue
        bytes[0] = (bytes[0] as number) ^ 0xff
        await writeFile(file, bytes)
      }
    },
    cleanup: async () => {
      await Promise.all(opened.map((s) => s.close()))
      await rm(dir, { recursive: true, force: true })
    },
  }
})

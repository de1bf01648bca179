import { SinopiaError } from '../../errors.js'
import type { KeyedLock } from '../../fs/lock.js'
import { WatchedFile } from '../../fs/watched-file.js'
import type { TokenRecord } from '../documents.js'
import type { TokenRecords } from '../types.js'

/** auth/tokens.json (see layout.ts): `{"tokens": [TokenRecord, ...]}`, mode 0600. */
export class FsTokens implements TokenRecords {
  private readonly records: WatchedFile<Map<string, TokenRecord>>

  constructor(
    readonly file: string,
    lock: KeyedLock,
  ) {
    this.records = new WatchedFile(
      file,
      {
        parse: (text) => {
          try {
            return byKeyOf((JSON.parse(text) as { tokens: TokenRecord[] }).tokens)
          } catch (error) {
            throw new SinopiaError('ECORRUPT', `${file} is not a valid token file`, { cause: error })
          }
        },
        serialize: (byKey) => JSON.stringify({ tokens: [...byKey.values()] }, null, 1),
        empty: () => new Map<string, TokenRecord>(),
      },
      lock,
      // Hashes only, but enough to tell who has which tokens: for the server's user alone.
      { mode: 0o600 },
    )
  }

  read(): Promise<ReadonlyMap<string, TokenRecord>> {
    return this.records.read()
  }

  modify(change: (records: TokenRecord[]) => TokenRecord[]): Promise<void> {
    return this.records.modify((byKey) => byKeyOf(change([...byKey.values()])))
  }
}

const byKeyOf = (records: TokenRecord[]) => new Map(records.map((r) => [r.key, r]))

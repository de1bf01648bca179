import { SinopiaError } from '../../errors.js'
import type { KeyedLock } from '../../fs/lock.js'
import { WatchedFile } from '../../fs/watched-file.js'
import type { UserRecord } from '../documents.js'
import type { UserRecords } from '../types.js'

/**
 * How a file of users reads and writes: a line format (an htpasswd file, auth/ knows it) or JSON.
 * `make` turns a record added here into a line, keeping what the format keeps beyond name and hash.
 */
export interface UserFileFormat<E extends UserRecord> {
  parse(text: string): E[]
  serialize(entries: E[]): string
  make(record: UserRecord): E
}

/**
 * Users kept in one file that several processes share: read again whenever it changes on disk
 * (`user add` in another process is seen at once), changed under a lock and replaced atomically.
 */
export class FileUserRecords<E extends UserRecord> implements UserRecords {
  private readonly file: WatchedFile<{ entries: E[]; byName: Map<string, UserRecord> }>

  constructor(
    readonly path: string,
    private readonly format: UserFileFormat<E>,
    lock: KeyedLock,
  ) {
    this.file = new WatchedFile(
      path,
      {
        parse: (text) => indexed(format.parse(text)),
        serialize: ({ entries }) => format.serialize(entries),
        empty: () => indexed([]),
      },
      lock,
      // Password hashes: for the server's user alone (they can be attacked offline).
      { mode: 0o600 },
    )
  }

  async read(): Promise<ReadonlyMap<string, UserRecord>> {
    return (await this.file.read()).byName
  }

  async add(record: UserRecord, limit = Infinity): Promise<'added' | 'exists' | 'full'> {
    let outcome: 'added' | 'exists' | 'full' = 'added'
    await this.file.modify((current) => {
      if (current.byName.has(record.name)) outcome = 'exists'
      else if (current.entries.length >= limit) outcome = 'full'
      else return indexed([...current.entries, this.format.make(record)])
      return current
    })
    return outcome
  }

  async setHash(name: string, hash: string): Promise<boolean> {
    let found = false
    await this.file.modify((current) => {
      found = current.byName.has(name)
      return indexed(current.entries.map((e) => (e.name === name ? { ...e, hash } : e)))
    })
    return found
  }

  async remove(name: string): Promise<boolean> {
    let found = false
    await this.file.modify((current) => {
      found = current.byName.has(name)
      return indexed(current.entries.filter((e) => e.name !== name))
    })
    return found
  }

  where(): string {
    return this.path
  }
}

function indexed<E extends UserRecord>(entries: E[]): { entries: E[]; byName: Map<string, UserRecord> } {
  // The first line of a name wins, as the htpasswd tools read it.
  const byName = new Map<string, UserRecord>()
  for (const e of entries) if (!byName.has(e.name)) byName.set(e.name, { name: e.name, hash: e.hash })
  return { entries, byName }
}

/** auth/users.json (see layout.ts): `{"users": [{name, hash}, ...]}`. */
export function jsonUsers(file: string): UserFileFormat<UserRecord> {
  return {
    parse: (text) => {
      try {
        return (JSON.parse(text) as { users: UserRecord[] }).users.map(({ name, hash }) => ({ name, hash }))
      } catch (error) {
        throw new SinopiaError('ECORRUPT', `${file} is not a valid users file`, { cause: error })
      }
    },
    serialize: (entries) => JSON.stringify({ users: entries }, null, 1),
    make: ({ name, hash }) => ({ name, hash }),
  }
}

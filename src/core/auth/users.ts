import { createHash, randomBytes } from 'node:crypto'
import { LRUCache } from 'lru-cache'
import { CACHE_BOUNDS } from '../cache-bounds.js'
import { SinopiaError } from '../errors.js'
import type { Config } from '../config/types.js'
import { KeyedLock } from '../fs/lock.js'
import { FileUserRecords, type Store, type UserRecords } from '../store/index.js'
import { hashPassword, parseHtpasswd, serializeHtpasswd, verifyPassword, type HtpasswdEntry } from './htpasswd.js'

/** npm's own rule for user names is loose; these characters are safe in htpasswd lines, URLs and logs. */
const USER_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/

export function assertUserName(name: string): string {
  if (!USER_NAME.test(name)) {
    throw new SinopiaError('EBADUSER', 'user names are 1 to 100 letters, digits, ".", "_" or "-", starting with a letter or digit', {
    })
  }
  return name
}

/** An htpasswd file as user records: lines keep what follows the hash (Verdaccio's `:autocreated <date>`). */
export function htpasswdRecords(file: string, lock: KeyedLock): FileUserRecords<HtpasswdEntry> {
  return new FileUserRecords(file, { parse: parseHtpasswd, serialize: serializeHtpasswd, make: (r) => ({ rest: '', ...r }) }, lock)
}

/**
 * The users, wherever the config keeps them: an htpasswd file (`auth.htpasswd`, the default) or
 * the store (`auth.store`: the database every instance shares). Either is read again whenever it
 * changes, so `sinopia-cli user add` in another process is seen by a running server at once.
 * Passwords are hashed and checked here; the records only keep the hashes.
 */
export class Users {
  private readonly records: UserRecords
  /** Passwords already checked against a hash: bcrypt costs ~50 ms, too much for every request. */
  private readonly verified = new LRUCache<string, string>({ max: CACHE_BOUNDS.verifiedPasswords })
  private readonly verify: (password: string, hash: string) => Promise<boolean>

  /** The users where the config keeps them; `store` is the one the config's `storage` opens (used with `auth.store`). */
  static of(config: Config, store: Pick<Store, 'users'> | null, lock: KeyedLock = new KeyedLock()): Users {
    if (!config.auth.store) return new Users(config.auth.htpasswd.file, config.auth.htpasswd.maxUsers, lock)
    if (!store) throw new Error('auth.store keeps the users in the store: open it first')
    return new Users(store.users, config.auth.store.maxUsers)
  }

  /** `source`: an htpasswd file's path, or records kept elsewhere (a store's). */
  constructor(
    source: string | UserRecords,
    private readonly maxUsers: number,
    lock: KeyedLock = new KeyedLock(),
    options: { verify?: (password: string, hash: string) => Promise<boolean> } = {},
  ) {
    this.verify = options.verify ?? verifyPassword
    this.records = typeof source === 'string' ? htpasswdRecords(source, lock) : source
  }

  /** Where the users are kept (the htpasswd file, or the store): for messages. */
  where(): string {
    return this.records.where()
  }

  async list(): Promise<string[]> {
    return [...(await this.records.read()).keys()]
  }

  async exists(name: string): Promise<boolean> {
    return (await this.records.read()).has(name)
  }

  async authenticate(name: string, password: string): Promise<boolean> {
    const entry = (await this.records.read()).get(name)
    // An unknown name costs one bcrypt compare too: the time taken must not tell which names exist.
    if (!entry) return this.verify(password, await dummyHash()).then(() => false)
    const key = createHash('sha256').update(`${name}\u0000${password}`).digest('base64')
    if (this.verified.get(key) === entry.hash) return true
    const ok = await this.verify(password, entry.hash)
    // Older files' fast hashes (MD5, SHA1, crypt) answer in microseconds: a wrong password for
    // such a user pays the bcrypt compare too, or its speed would tell that the name exists.
    if (!ok && !isBcrypt(entry.hash)) await this.verify(password, await dummyHash())
    if (!ok) return false
    this.verified.set(key, entry.hash)
    return true
  }

  /** Whether `npm adduser` may create one more user now (`max_users` not reached, not -1). */
  async registrationOpen(): Promise<boolean> {
    return this.maxUsers >= 0 && (await this.records.read()).size < this.maxUsers
  }

  /**
   * Adds a user. `selfRegistration` (npm adduser) obeys `max_users`; the terminal does not. The
   * check and the add are one step of the records, so racing adds never pass the limit.
   */
  async add(name: string, password: string, options: { selfRegistration?: boolean } = {}): Promise<void> {
    assertUserName(name)
    assertPassword(password)
    const hash = await hashPassword(password)
    const outcome = await this.records.add({ name, hash }, options.selfRegistration ? Math.max(this.maxUsers, 0) : Infinity)
    if (outcome === 'exists') throw new SinopiaError('EUSEREXISTS', `user ${name} already exists`)
    if (outcome === 'full') {
      throw new SinopiaError('EREGISTRATION', this.maxUsers < 0 ? 'registration is closed on this registry' : 'maximum number of users reached', {
        hint: 'ask an admin to run `sinopia-cli user add`',
      })
    }
  }

  /**
   * Adds users with their hashes as another htpasswd file holds them (a Verdaccio's, on
   * migrate): the hash formats are the same. A name already here keeps its own entry.
   */
  async adopt(entries: HtpasswdEntry[]): Promise<{ added: string[]; existing: string[] }> {
    const result = { added: [] as string[], existing: [] as string[] }
    // One at a time, in file order; an htpasswd file keeps each line's trailing fields, a store name and hash.
    for (const entry of entries) {
      if ((await this.records.add(entry)) === 'added') result.added.push(entry.name)
      else result.existing.push(entry.name)
    }
    return result
  }

  async setPassword(name: string, password: string): Promise<void> {
    assertPassword(password)
    const hash = await hashPassword(password)
    if (!(await this.records.setHash(name, hash))) throw new SinopiaError('ENOUSER', `no user named ${name}`)
  }

  async remove(name: string): Promise<void> {
    if (!(await this.records.remove(name))) throw new SinopiaError('ENOUSER', `no user named ${name}`)
  }
}

/**
 * bcrypt reads the first 72 bytes of a password and ignores the rest, so a longer one would
 * be accepted with any ending. Refused rather than pre-hashed: the rule is plain to the
 * user, and hashes stay readable by other htpasswd tools.
 */
export const MAX_PASSWORD_BYTES = 72

function assertPassword(password: string): void {
  if (password.length < 1 || /[\r\n]/.test(password)) {
    throw new SinopiaError('EBADPASSWORD', 'a password must not be empty, and must fit on one line')
  }
  if (Buffer.byteLength(password, 'utf8') > MAX_PASSWORD_BYTES) {
    throw new SinopiaError('EBADPASSWORD', `passwords are at most ${MAX_PASSWORD_BYTES} bytes (UTF-8); bcrypt ignores anything past that`, {
      hint: 'choose a shorter password (a passphrase of a few words fits)',
    })
  }
}

const isBcrypt = (hash: string) => /^\$2[abxy]?\$/.test(hash)

let dummy: Promise<string> | undefined
/** A bcrypt hash of nothing anyone knows, made once, with the rounds real entries use. */
function dummyHash(): Promise<string> {
  dummy ??= hashPassword(randomBytes(16).toString('base64'))
  return dummy
}

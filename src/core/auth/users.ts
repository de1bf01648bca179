import { createHash, randomBytes } from 'node:crypto'
import { LRUCache } from 'lru-cache'
import { CACHE_BOUNDS } from '../cache-bounds.js'
import { SinopiaError } from '../errors.js'
import type { Config } from '../config/types.js'
import { KeyedLock } from '../fs/lock.js'
import { WatchedFile } from '../fs/watched-file.js'
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

/**
 * The users of an htpasswd file. The file is read again whenever it changes on disk, so
 * `sinopia-cli user add` in another process is seen by a running server at once; writes
 * hold a lock and replace the file atomically.
 */
export class Users {
  private readonly htpasswd: WatchedFile<HtpasswdEntry[]>
  /** Passwords already checked against a hash: bcrypt costs ~50 ms, too much for every request. */
  private readonly verified = new LRUCache<string, string>({ max: CACHE_BOUNDS.verifiedPasswords })
  private readonly verify: (password: string, hash: string) => Promise<boolean>

  /** The users of the config's htpasswd file. */
  static of(config: Config, lock: KeyedLock = new KeyedLock()): Users {
    return new Users(config.auth.htpasswd.file, config.auth.htpasswd.maxUsers, lock)
  }

  constructor(
    readonly file: string,
    private readonly maxUsers: number,
    lock: KeyedLock,
    options: { verify?: (password: string, hash: string) => Promise<boolean> } = {},
  ) {
    this.verify = options.verify ?? verifyPassword
    // Password hashes: for the server's user alone (they can be attacked offline).
    this.htpasswd = new WatchedFile(file, { parse: parseHtpasswd, serialize: serializeHtpasswd, empty: () => [] }, lock, { mode: 0o600 })
  }

  async list(): Promise<string[]> {
    return (await this.entries()).map((e) => e.name)
  }

  async exists(name: string): Promise<boolean> {
    return (await this.entries()).some((e) => e.name === name)
  }

  async authenticate(name: string, password: string): Promise<boolean> {
    const entry = (await this.entries()).find((e) => e.name === name)
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
    return this.maxUsers >= 0 && (await this.entries()).length < this.maxUsers
  }

  /** Adds a user. `selfRegistration` (npm adduser) obeys `max_users`; the terminal does not. */
  async add(name: string, password: string, options: { selfRegistration?: boolean } = {}): Promise<void> {
    assertUserName(name)
    assertPassword(password)
    const hash = await hashPassword(password)
    await this.modify((entries) => {
      if (entries.some((e) => e.name === name)) {
        throw new SinopiaError('EUSEREXISTS', `user ${name} already exists`)
      }
      if (options.selfRegistration && entries.length >= this.maxUsers) {
        throw new SinopiaError('EREGISTRATION', this.maxUsers < 0 ? 'registration is closed on this registry' : 'maximum number of users reached', {
          hint: 'ask an admin to run `sinopia-cli user add`',
        })
      }
      return [...entries, { name, hash, rest: '' }]
    })
  }

  /**
   * Appends users with their hashes as another htpasswd file holds them (a Verdaccio's, on
   * migrate): the hash formats are the same. A name already here keeps its own entry.
   */
  async adopt(entries: HtpasswdEntry[]): Promise<{ added: string[]; existing: string[] }> {
    const result = { added: [] as string[], existing: [] as string[] }
    await this.modify((current) => {
      result.added = []
      result.existing = []
      const names = new Set(current.map((e) => e.name))
      const kept = [...current]
      for (const entry of entries) {
        if (names.has(entry.name)) result.existing.push(entry.name)
        else {
          names.add(entry.name)
          kept.push(entry)
          result.added.push(entry.name)
        }
      }
      return kept
    })
    return result
  }

  async setPassword(name: string, password: string): Promise<void> {
    assertPassword(password)
    const hash = await hashPassword(password)
    await this.modify((entries) => {
      const found = entries.find((e) => e.name === name)
      if (!found) throw new SinopiaError('ENOUSER', `no user named ${name}`)
      return entries.map((e) => (e.name === name ? { ...e, hash } : e))
    })
  }

  async remove(name: string): Promise<void> {
    await this.modify((entries) => {
      if (!entries.some((e) => e.name === name)) throw new SinopiaError('ENOUSER', `no user named ${name}`)
      return entries.filter((e) => e.name !== name)
    })
  }

  private entries(): Promise<HtpasswdEntry[]> {
    return this.htpasswd.read()
  }

  private modify(change: (entries: HtpasswdEntry[]) => HtpasswdEntry[]): Promise<void> {
    return this.htpasswd.modify(change)
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

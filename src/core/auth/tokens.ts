import { createHash, randomBytes } from 'node:crypto'
import { SinopiaError } from '../errors.js'
import type { KeyedLock } from '../fs/lock.js'
import { WatchedFile } from '../fs/watched-file.js'

/** What is kept of a token: never the token itself, only its hash. */
export interface TokenRecord {
  /** sha512 (hex) of the token: the id npm shows as `key` and revokes by. */
  key: string
  user: string
  /** The first characters of the token, so a person can tell their tokens apart. */
  prefix: string
  readonly: boolean
  cidr: string[]
  created: string
  /** Tokens made by `npm login` are revoked by `npm logout`; those from `npm token create` are not. */
  kind: 'login' | 'api'
}

export const hashToken = (token: string) => createHash('sha512').update(token).digest('hex')

/**
 * Login and API tokens, in one JSON file (in the storage folder) so they survive restarts
 * and are shared by every process on the same storage. Lookups go through an in-memory map
 * that is reloaded when the file changes.
 */
export class Tokens {
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
        empty: () => new Map(),
      },
      lock,
      // Hashes only, but enough to tell who has which tokens: for the server's user alone.
      { mode: 0o600 },
    )
  }

  async create(user: string, options: { readonly?: boolean; cidr?: string[]; kind?: TokenRecord['kind'] } = {}): Promise<{ token: string; record: TokenRecord }> {
    const token = `snp_${randomBytes(32).toString('base64url')}`
    const record: TokenRecord = {
      key: hashToken(token),
      user,
      prefix: token.slice(0, 10),
      readonly: options.readonly ?? false,
      cidr: options.cidr ?? [],
      created: new Date().toISOString(),
      kind: options.kind ?? 'api',
    }
    await this.modify((records) => [...records, record])
    return { token, record }
  }

  async find(token: string): Promise<TokenRecord | null> {
    return (await this.load()).get(hashToken(token)) ?? null
  }

  async list(user: string): Promise<TokenRecord[]> {
    return [...(await this.load()).values()].filter((r) => r.user === user)
  }

  /** Revokes by token or by key (npm sends either); only the owner's tokens. */
  async revoke(user: string, tokenOrKey: string): Promise<boolean> {
    let removed = false
    await this.modify((records) =>
      records.filter((r) => {
        const match = r.user === user && (r.key === tokenOrKey || r.key === hashToken(tokenOrKey) || (tokenOrKey.length >= 6 && r.key.startsWith(tokenOrKey)))
        if (match) removed = true
        return !match
      }),
    )
    return removed
  }

  /** Drops every token of a user (the user was removed). */
  async revokeAll(user: string): Promise<void> {
    await this.modify((records) => records.filter((r) => r.user !== user))
  }

  private load(): Promise<Map<string, TokenRecord>> {
    return this.records.read()
  }

  private modify(change: (records: TokenRecord[]) => TokenRecord[]): Promise<void> {
    return this.records.modify((byKey) => byKeyOf(change([...byKey.values()])))
  }
}

const byKeyOf = (records: TokenRecord[]) => new Map(records.map((r) => [r.key, r]))

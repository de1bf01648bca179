import { createHash, randomBytes } from 'node:crypto'
import type { TokenRecord, TokenRecords } from '../store/index.js'

export type { TokenRecord } from '../store/index.js'

export const hashToken = (token: string) => createHash('sha512').update(token).digest('hex')

/**
 * Login and API tokens, kept in the store so they survive restarts and are shared by every
 * process on the same storage; lookups go through the store's cached records.
 */
export class Tokens {
  constructor(private readonly records: TokenRecords) {}

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

  private load(): Promise<ReadonlyMap<string, TokenRecord>> {
    return this.records.read()
  }

  private modify(change: (records: TokenRecord[]) => TokenRecord[]): Promise<void> {
    return this.records.modify(change)
  }
}

import { createHash, randomBytes } from 'node:crypto'
import { mkdir, readFile, stat } from 'node:fs/promises'
import path from 'node:path'
import { SinopiaError, errnoCode } from '../errors.js'
import { writeFileAtomic } from '../store/atomic.js'
import type { KeyedLock } from '../store/lock.js'

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
  private cache: { mtimeMs: number; size: number; byKey: Map<string, TokenRecord> } | null = null

  constructor(
    readonly file: string,
    private readonly lock: KeyedLock,
  ) {}

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

  private async load(): Promise<Map<string, TokenRecord>> {
    let info: { mtimeMs: number; size: number }
    try {
      info = await stat(this.file)
    } catch (error) {
      if (errnoCode(error) === 'ENOENT') return new Map()
      throw error
    }
    if (this.cache && this.cache.mtimeMs === info.mtimeMs && this.cache.size === info.size) return this.cache.byKey
    let records: TokenRecord[]
    try {
      records = (JSON.parse(await readFile(this.file, 'utf8')) as { tokens: TokenRecord[] }).tokens
    } catch (error) {
      throw new SinopiaError('ECORRUPT', `${this.file} is not a valid token file`, { cause: error })
    }
    const byKey = new Map(records.map((r) => [r.key, r]))
    this.cache = { mtimeMs: info.mtimeMs, size: info.size, byKey }
    return byKey
  }

  private async modify(change: (records: TokenRecord[]) => TokenRecord[]): Promise<void> {
    await mkdir(path.dirname(this.file), { recursive: true })
    await this.lock.withLock(`${this.file}.lock`, async () => {
      this.cache = null
      const next = change([...(await this.load()).values()])
      await writeFileAtomic(this.file, JSON.stringify({ tokens: next }, null, 1))
      this.cache = null
    })
  }
}

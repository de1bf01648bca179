import { SinopiaError } from '../errors.js'
import { cidrAllows } from './cidr.js'
import { FailureLimiter } from './limiter.js'
import type { TokenRecord, Tokens } from './tokens.js'
import type { Users } from './users.js'

export { Tokens, hashToken, type TokenRecord } from './tokens.js'
export { Users, assertUserName } from './users.js'
export { FailureLimiter, type LimiterOptions } from './limiter.js'
export { cidrAllows, isIpv4Cidr } from './cidr.js'
export { hashPassword, verifyPassword, parseHtpasswd } from './htpasswd.js'

export interface User {
  name: string
  groups: string[]
  /** Set when the request came with a token rather than a password. */
  token?: TokenRecord
}

/** The one answer for an unknown user and a wrong password alike: it never tells which names exist. */
export const WRONG_PASSWORD = 'wrong user name or password'

const unauthorized = (message: string) => new SinopiaError('EUNAUTHORIZED', message)

/** Who a request is, from its Authorization header: a token (Bearer) or a password (Basic). */
export class Auth {
  constructor(
    readonly users: Users,
    readonly tokens: Tokens,
    readonly limiter = new FailureLimiter(),
  ) {}

  /** null for anonymous requests; throws 401 for credentials that are wrong, 429 when guessing. */
  async identify(authorization: string | undefined, address: string): Promise<User | null> {
    if (!authorization) return null
    const space = authorization.indexOf(' ')
    const scheme = authorization.slice(0, space).toLowerCase()
    const value = authorization.slice(space + 1).trim()
    if (scheme === 'bearer') {
      const record = await this.tokens.find(value)
      if (!record || !(await this.users.exists(record.user))) throw unauthorized('invalid or revoked token')
      if (record.cidr.length > 0 && !cidrAllows(record.cidr, address)) {
        throw new SinopiaError('EFORBIDDEN', 'this token may not be used from this address (CIDR allow-list)')
      }
      return { name: record.user, groups: [], token: record }
    }
    if (scheme === 'basic') {
      const decoded = Buffer.from(value, 'base64').toString('utf8')
      const colon = decoded.indexOf(':')
      if (colon <= 0) throw unauthorized('malformed Basic credentials')
      const name = decoded.slice(0, colon)
      const password = decoded.slice(colon + 1)
      await this.checkPassword(name, password, address)
      return { name, groups: [] }
    }
    throw unauthorized(`unsupported authorization scheme`)
  }

  /** Password check with the failure limiter around it; throws 401 or 429. */
  async checkPassword(name: string, password: string, address: string): Promise<void> {
    this.limiter.check(name, address)
    if (!(await this.users.authenticate(name, password))) {
      this.limiter.fail(name, address)
      throw unauthorized(WRONG_PASSWORD)
    }
    this.limiter.succeed(name, address)
  }
}

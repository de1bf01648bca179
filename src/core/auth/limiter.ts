import { createHash } from 'node:crypto'
import net from 'node:net'
import { LRUCache } from 'lru-cache'
import { SinopiaError } from '../errors.js'

export interface LimiterOptions {
  /** Wrong passwords for one user from one address before that pair is locked out. */
  maxFailures: number
  /** How long failures count and a lock-out lasts, from the first failure (ms). */
  windowMs: number
  /** Counters kept at most, per kind (counting, locked out); the least recently touched go first. */
  maxTracked: number
  now: () => number
}

/** One address may fail this many times the per-user limit, over all the names it tries. */
const ADDRESS_FACTOR = 5

interface Count {
  count: number
  first: number
}

/**
 * Slows password guessing without letting a guesser lock others out. Failures are counted
 * per (user, address) and per address; at the limit the key is locked out until its window
 * (from its first failure) has passed. The right password from another address still logs
 * the user in, and a success resets only its own (user, address) pair.
 *
 * Counting and locked-out keys live in two bounded LRU maps: a flood of failures from
 * fresh addresses evicts only counters, never a lock-out. To push one out, a guesser would
 * have to earn `maxTracked` lock-outs of its own within one window, each costing
 * `maxFailures` password hashes.
 */
export class FailureLimiter {
  private readonly options: LimiterOptions
  private maps?: { counting: LRUCache<string, Count>; locked: LRUCache<string, number> }

  constructor(options: Partial<LimiterOptions> = {}) {
    this.options = { maxFailures: 10, windowMs: 15 * 60 * 1000, maxTracked: 100_000, now: Date.now, ...options }
  }

  /**
   * Made at the first login: an LRU map allocates its `max` slots up front, and two of 100,000
   * with expiry cost a server's start-up tens of ms before anyone logs in.
   */
  private get tracked(): { counting: LRUCache<string, Count>; locked: LRUCache<string, number> } {
    if (this.maps) return this.maps
    const { windowMs, maxTracked, now } = this.options
    // ttlResolution 0: read the clock on every check, so an injected clock moves the state at once.
    const shared = { max: maxTracked, ttl: windowMs, ttlResolution: 0, perf: { now } }
    this.maps = { counting: new LRUCache<string, Count>(shared), locked: new LRUCache<string, number>(shared) }
    return this.maps
  }

  private get counting(): LRUCache<string, Count> {
    return this.tracked.counting
  }

  private get locked(): LRUCache<string, number> {
    return this.tracked.locked
  }

  /** Throws 429 when `user` from `address` is locked out. No side effects otherwise. */
  check(user: string, address: string): void {
    const at = this.options.now()
    for (const key of keysOf(user, address)) {
      const until = this.locked.get(key)
      if (until !== undefined && until > at) {
        throw new SinopiaError('ERATELIMIT', `too many failed logins; try again in ${Math.ceil((until - at) / 1000)} s`)
      }
    }
  }

  fail(user: string, address: string): void {
    const at = this.options.now()
    const [pair, from] = keysOf(user, address)
    this.count(pair, this.options.maxFailures, at)
    this.count(from, this.options.maxFailures * ADDRESS_FACTOR, at)
  }

  succeed(user: string, address: string): void {
    const [pair] = keysOf(user, address)
    this.counting.delete(pair)
    this.locked.delete(pair)
  }

  private count(key: string, limit: number, at: number): void {
    const entry = this.counting.get(key)
    const next = entry ? { count: entry.count + 1, first: entry.first } : { count: 1, first: at }
    const left = next.first + this.options.windowMs - at
    if (next.count < limit) {
      this.counting.set(key, next, { ttl: left })
      return
    }
    this.counting.delete(key)
    this.locked.set(key, next.first + this.options.windowMs, { ttl: left })
  }
}

/** The (user, address) key and the address key. A name longer than any real one (Basic auth takes anything) is kept as its hash. */
function keysOf(user: string, address: string): [string, string] {
  const from = clientKey(address)
  const who = user.length > 100 ? createHash('sha256').update(user).digest('base64url') : user
  return [`${from}\u0000${who}`, from.length > 100 ? createHash('sha256').update(from).digest('base64url') : from]
}

/**
 * The part of an address one client controls: IPv4 as it is (IPv4-mapped IPv6 included),
 * IPv6 cut to its /64, the block one subscriber is usually given.
 */
export function clientKey(address: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address)?.[1]
  if (mapped) return mapped
  const plain = address.replace(/%.*$/, '')
  if (!net.isIPv6(plain)) return address
  return `${expandIpv6(plain).slice(0, 4).join(':')}::/64`
}

function expandIpv6(address: string): string[] {
  const [head, tail] = address.split('::') as [string, string | undefined]
  const left = head ? head.split(':') : []
  const right = tail ? tail.split(':') : []
  const zeros = tail === undefined ? [] : Array<string>(8 - left.length - right.length).fill('0')
  return [...left, ...zeros, ...right].map((part) => part.toLowerCase().replace(/^0+(?=.)/, ''))
}

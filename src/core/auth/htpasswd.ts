import { createHash, timingSafeEqual } from 'node:crypto'
import { createRequire } from 'node:module'
import { hash as bcryptHash, verify as bcryptVerify } from '@node-rs/bcrypt'

const require = createRequire(import.meta.url)
const apacheMd5 = require('apache-md5') as (password: string, salt: string) => string
const apacheCrypt = require('apache-crypt') as (password: string, salt: string) => string

/**
 * htpasswd files: one `name:hash` per line. New passwords are bcrypt; the formats older
 * Sinopia/Verdaccio files hold (Apache MD5 `$apr1$`, `{SHA}` and DES crypt) still verify,
 * so an existing file keeps working.
 */
export interface HtpasswdEntry {
  name: string
  hash: string
  /** Anything after the hash (Verdaccio writes `:autocreated <date>`), kept as it is. */
  rest: string
}

export const BCRYPT_ROUNDS = 10

export function parseHtpasswd(text: string): HtpasswdEntry[] {
  const entries: HtpasswdEntry[] = []
  for (const line of text.split(/\r?\n/)) {
    if (!line.trim() || line.trimStart().startsWith('#')) continue
    const first = line.indexOf(':')
    if (first <= 0) continue
    const name = line.slice(0, first)
    const after = line.slice(first + 1)
    const second = after.indexOf(':')
    entries.push({ name, hash: second === -1 ? after : after.slice(0, second), rest: second === -1 ? '' : after.slice(second) })
  }
  return entries
}

export function serializeHtpasswd(entries: HtpasswdEntry[]): string {
  return entries.map((e) => `${e.name}:${e.hash}${e.rest}\n`).join('')
}

export function hashPassword(password: string): Promise<string> {
  return bcryptHash(password, BCRYPT_ROUNDS)
}

function same(a: string, b: string): boolean {
  const x = Buffer.from(a)
  const y = Buffer.from(b)
  return x.length === y.length && timingSafeEqual(x, y)
}

/** Whether `password` matches `hash`, in any of the formats above; false for an unknown format. */
export async function verifyPassword(password: string, hash: string): Promise<boolean> {
  if (/^\$2[abxy]?\$/.test(hash)) return bcryptVerify(password, hash).catch(() => false)
  if (hash.startsWith('$apr1$')) return same(apacheMd5(password, hash), hash)
  if (hash.startsWith('{SHA}')) return same(`{SHA}${createHash('sha1').update(password).digest('base64')}`, hash)
  if (/^[./0-9A-Za-z]{13}$/.test(hash)) return same(apacheCrypt(password, hash.slice(0, 2)), hash)
  return false
}

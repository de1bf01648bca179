import { createHash } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { isOneSha512, sha512Of } from '../../../src/core/store/integrity.js'

describe('isOneSha512', () => {
  const one = `sha512-${createHash('sha512').update('a').digest('base64')}`
  const pattern = /^sha512-[A-Za-z0-9+/]{86}==$/

  it('says what the canonical pattern says, for the canonical form and for every near miss', () => {
    const texts = [
      one,
      `${one} `,
      ` ${one}`,
      one.slice(0, -1),
      `${one}=`,
      one.replace('sha512-', 'sha384-'),
      one.replace('sha512-', 'SHA512-'),
      `${one} sha1-${createHash('sha1').update('a').digest('base64')}`,
      '',
      'sha512-',
      `sha512-${'A'.repeat(86)}==`,
      `sha512-${'A'.repeat(85)}===`,
      `sha512-${'A'.repeat(87)}=`,
    ]
    // Every character of the digest part swapped for each kind of character that may or may not belong.
    for (const replacement of ['-', '_', '=', '.', ' ', 'é', '\u0100', 'Z', 'z', '9', '+', '/']) {
      for (const at of [7, 8, 50, 91, 92, 93, 94]) texts.push(one.slice(0, at) + replacement + one.slice(at + 1))
    }
    for (const text of texts) expect(isOneSha512(text), JSON.stringify(text)).toBe(pattern.test(text))
    expect(texts.filter((text) => isOneSha512(text)).length).toBeGreaterThan(5)
  })

  it('lets sha512Of hand a canonical integrity back as it is, and take the sha512 out of any other', () => {
    expect(sha512Of(one)).toBe(one)
    expect(sha512Of(`sha1-${createHash('sha1').update('a').digest('base64')} ${one}`)).toBe(one)
    expect(sha512Of(`sha1-${createHash('sha1').update('a').digest('base64')}`)).toBeNull()
  })
})

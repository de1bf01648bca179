import type { IncomingMessage } from 'node:http'
import { describe, expect, it } from 'vitest'
import { etagMatches, pickEncoding, publicBaseUrl, wantsAbbreviated } from '../../../src/core/server/negotiate.js'

const req = (headers: Record<string, string>) => ({ headers }) as unknown as IncomingMessage

describe('negotiation', () => {
  it('detects the abbreviated document as npm, pnpm and yarn ask for it', () => {
    expect(wantsAbbreviated('application/vnd.npm.install-v1+json; q=1.0, application/json; q=0.8, */*')).toBe(true)
    expect(wantsAbbreviated('application/vnd.npm.install-v1+json')).toBe(true)
    expect(wantsAbbreviated('application/json')).toBe(false)
    expect(wantsAbbreviated(undefined)).toBe(false)
    expect(wantsAbbreviated('application/vnd.npm.install-v1+json;q=0')).toBe(false)
  })

  it('picks an encoding the client takes', () => {
    expect(pickEncoding('gzip, deflate')).toBe('gzip')
    expect(pickEncoding('gzip, deflate, br')).toBe('br')
    expect(pickEncoding('br;q=0, gzip')).toBe('gzip')
    expect(pickEncoding('identity')).toBeNull()
    expect(pickEncoding(undefined)).toBeNull()
  })

  it('matches ETags, weak or strong, in lists', () => {
    expect(etagMatches('"a"', ['"a"'])).toBe(true)
    expect(etagMatches('W/"a", "b"', ['"b"'])).toBe(true)
    expect(etagMatches('"c"', ['"a"', '"b"'])).toBe(false)
    expect(etagMatches(undefined, ['"a"'])).toBe(false)
  })

  it('builds the public base URL from url_prefix, or the forwarded headers of a trusted proxy', () => {
    expect(publicBaseUrl(req({ host: 'localhost:4873' }), undefined, 'x')).toBe('http://localhost:4873/')
    const proxied = { ...req({ host: 'a:1', 'x-forwarded-proto': 'https', 'x-forwarded-host': 'reg.example.com' }), socket: { remoteAddress: '10.0.0.5' } } as unknown as IncomingMessage
    expect(publicBaseUrl(proxied, undefined, 'x', ['10.0.0.0/8'])).toBe('https://reg.example.com/')
    expect(publicBaseUrl(proxied, undefined, 'x')).toBe('http://a:1/')
    expect(publicBaseUrl(req({ host: 'a:1' }), '/npm', 'x')).toBe('http://a:1/npm/')
    expect(publicBaseUrl(req({ host: 'a:1' }), 'https://npm.corp/registry', 'x')).toBe('https://npm.corp/registry/')
    // A Host header that is not a host is ignored rather than echoed into documents.
    expect(publicBaseUrl(req({ host: 'evil"><script>' }), undefined, '127.0.0.1:4873')).toBe('http://127.0.0.1:4873/')
  })
})

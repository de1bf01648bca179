import { request } from 'node:http'
import { readdir } from 'node:fs/promises'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startHarness, type Harness } from './harness.js'

/** A request with the path exactly as written: fetch() would normalize `..` away. */
function raw(url: string, method: string, path: string, body?: string): Promise<{ status: number; body: string; type: string }> {
  const { hostname, port } = new URL(url)
  return new Promise((resolve, reject) => {
    const req = request({ host: hostname, port, method, path }, (res) => {
      let text = ''
      res.setEncoding('utf8')
      res.on('data', (c: string) => (text += c))
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text, type: String(res.headers['content-type']) }))
    })
    req.on('error', reject)
    req.end(body)
  })
}

describe('bad input', () => {
  let h: Harness
  let before: string[]
  beforeAll(async () => {
    h = await startHarness()
    before = await readdir(h.dir, { recursive: true })
  })
  afterAll(() => h.close())

  it('answers traversal attempts with a 400 JSON error', async () => {
    for (const path of [
      '/..%2f..%2fetc%2fpasswd',
      '/%2e%2e',
      '/%2e%2e/%2e%2e/etc/passwd',
      '/alpha/-/..%2f..%2f..%2fformat.json.tgz',
      '/alpha/-/%2f..%2fx.tgz',
      '/alpha/-/..%5c..%5cx.tgz',
      '/alpha%00',
      '/alpha/-/alpha-1.0.0.tgz%00',
      '/%2fetc%2fpasswd',
      '/@acme%2f..%2f..%2fx',
      '/C:%5cWindows',
      '/alpha/-/%E0%A4%A.tgz',
    ]) {
      const res = await raw(h.url, 'GET', path)
      expect(res.status, path).toBe(400)
      expect(res.type).toBe('application/json')
      expect((JSON.parse(res.body) as { error?: unknown }).error, path).toEqual(expect.any(String))
    }
  })

  it('refuses over-long names and names npm would reject', async () => {
    for (const path of [`/${'a'.repeat(300)}`, '/.hidden', '/_underscore', '/has%20space', '/UPPER%7Ccase', '/@scope']) {
      const res = await raw(h.url, 'GET', path)
      expect(res.status, path).toBe(400)
      expect((JSON.parse(res.body) as { error?: unknown }).error).toMatch(/name/)
    }
  })

  it('answers unknown routes with 404 and wrong methods with 405, as JSON', async () => {
    const unknown = await raw(h.url, 'GET', '/-/no/such/route')
    expect(unknown.status).toBe(404)
    expect(JSON.parse(unknown.body)).toEqual({ error: 'not found' })
    const deep = await raw(h.url, 'GET', '/alpha/1.0.0/extra/segments')
    expect(deep.status).toBe(404)
    for (const method of ['DELETE', 'PATCH', 'POST']) {
      const res = await raw(h.url, method, '/alpha')
      expect(res.status, method).toBe(405)
      expect((JSON.parse(res.body) as { error?: unknown }).error).toMatch(/not allowed/)
    }
    const ping = await raw(h.url, 'POST', '/-/ping')
    expect(ping.status).toBe(405)
  })

  it('survives a malformed request line and keeps serving', async () => {
    const { connect } = await import('node:net')
    const { hostname, port } = new URL(h.url)
    const answer = await new Promise<string>((resolve) => {
      const socket = connect(Number(port), hostname, () => socket.write('GARBAGE / HTTP/9\r\n\r\n'))
      let text = ''
      socket.on('data', (c) => (text += c.toString()))
      socket.on('close', () => resolve(text))
    })
    expect(answer).toMatch(/400/)
    expect((await raw(h.url, 'GET', '/-/ping')).status).toBe(200)
  })

  it('wrote nothing outside the storage folder', async () => {
    const after = await readdir(h.dir, { recursive: true })
    const outside = after.filter((p) => !before.includes(p) && !p.startsWith('storage'))
    expect(outside).toEqual([])
  })
})

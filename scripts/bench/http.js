import http from 'node:http'

/** npm's media type for the abbreviated packument (the install form), asked by every bench row that installs. */
export const ABBREVIATED = 'application/vnd.npm.install-v1+json'

/**
 * One GET with node:http (no decompression, no added headers): resolves
 * `{ status, headers, body }` for any status, rejects on a network error or after `timeoutMs`.
 */
export function get(url, { headers = {}, agent, timeoutMs = 20_000 } = {}) {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { headers, agent }, (res) => {
      const chunks = []
      res.on('data', (chunk) => chunks.push(chunk))
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks) }))
      res.on('error', reject)
    })
    req.setTimeout(timeoutMs, () => req.destroy(new Error(`no answer within ${timeoutMs / 1000} s: GET ${url}`)))
    req.on('error', reject)
  })
}

/**
 * One request of any method with node:http (`body` a Buffer): resolves `{ status, headers, body }`
 * for any status, rejects on a network error or after `timeoutMs`.
 */
export function request(url, { method = 'GET', headers = {}, body, agent, timeoutMs = 20_000 } = {}) {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method, agent, headers: body ? { ...headers, 'content-length': body.length } : headers }, (res) => {
      const chunks = []
      res.on('data', (chunk) => chunks.push(chunk))
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks) }))
      res.on('error', reject)
    })
    req.setTimeout(timeoutMs, () => req.destroy(new Error(`no answer within ${timeoutMs / 1000} s: ${method} ${url}`)))
    req.on('error', reject)
    req.end(body)
  })
}

/**
 * What the keep-alive mode reads from the logs of a run (pure: text in, counts out).
 * npm logs each failed attempt of a fetch it will retry as
 * `http fetch GET <url> attempt <n> failed with <code>`, and a fetch that failed for good as
 * `error code <code>`; a reused socket that the server closed under the request shows up as
 * ECONNRESET ("socket hang up") or EPIPE.
 */
const RESET_CODES = new Set(['ECONNRESET', 'EPIPE', 'ECONNABORTED'])
const ATTEMPT = /\bhttp fetch \w+ (\S+) attempt (\d+) failed with (\S+)/
const FINAL_ERROR = /\berror code (\S+)/
const FETCHED = /\bhttp fetch \w+ (\d{3}) /
const EXAMPLES = 3

/** Counts in npm's debug log text: `{ fetches, retries, resets, codes, examples }`. */
export function countNpmLog(text) {
  const out = { fetches: 0, retries: 0, resets: 0, codes: {}, examples: [] }
  for (const line of text.split('\n')) {
    if (FETCHED.test(line)) {
      out.fetches++
      continue
    }
    const attempt = ATTEMPT.exec(line)
    const final = attempt ? null : FINAL_ERROR.exec(line)
    const code = attempt?.[3] ?? final?.[1]
    if (code === undefined) continue
    if (attempt) out.retries++
    out.codes[code] = (out.codes[code] ?? 0) + 1
    if (RESET_CODES.has(code)) {
      out.resets++
      if (out.examples.length < EXAMPLES) out.examples.push(line.trim())
    }
  }
  return out
}

/**
 * Counts in the server's JSON request log (one object per line, `status` on request lines):
 * `{ requests, tarballs, non2xx: { status: n }, aborted }`. Lines that are not requests are skipped.
 */
export function countServerLog(text) {
  const out = { requests: 0, tarballs: 0, non2xx: {}, aborted: 0 }
  for (const line of text.split('\n')) {
    if (!line.startsWith('{')) continue
    let entry
    try {
      entry = JSON.parse(line)
    } catch {
      continue
    }
    if (typeof entry.status !== 'number') continue
    out.requests++
    if (typeof entry.path === 'string' && entry.path.includes('/-/') && entry.path.endsWith('.tgz')) out.tarballs++
    if (entry.status < 200 || entry.status > 299) out.non2xx[entry.status] = (out.non2xx[entry.status] ?? 0) + 1
    if (entry.aborted) out.aborted++
  }
  return out
}

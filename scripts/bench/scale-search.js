#!/usr/bin/env node
// The scale bench's search rows alone, on a store it already wrote (`bench.js --scale 100k --keep DIR`),
// read only: starts `serve` with the store's own config, waits until search finds every package,
// then loads the search route as scale.js does, once with the one text the row used to repeat
// and once with its texts in turn. Per row: req/s, p50/p99 and the server's CPU per request.
// Needs `npm run build` first.
//   node scripts/bench/scale-search.js --config DIR/100k/config.yaml [--connections N] [--seconds N] [--json FILE] [--root DIR]
// --root: the checkout whose build serves (another branch's, to compare; default this one).
import { writeFile } from 'node:fs/promises'
import path from 'node:path'
import { performance } from 'node:perf_hooks'
import { fileURLToPath } from 'node:url'
import { parseOptions } from './args.js'
import { get } from './http.js'
import { loadRow } from './scale.js'
import { searchRequests } from './scale-store.js'
import { launchServer } from './server.js'

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..')
const USAGE = 'usage: node scripts/bench/scale-search.js --config FILE [--connections N] [--seconds N] [--json FILE] [--root DIR]'
const options = parseOptions({ config: { type: 'string' }, connections: { type: 'string', default: '10' }, seconds: { type: 'string', default: '5' }, json: { type: 'string' }, root: { type: 'string' } }, USAGE)
if (!options.config) {
  console.error(USAGE)
  process.exit(2)
}
const config = path.resolve(options.config)
const log = (line) => console.error(`[scale-search] ${line}`)
const problems = []
const server = await launchServer({ root: options.root ? path.resolve(options.root) : ROOT, dir: path.dirname(config), existingConfig: config, timeoutMs: 60_000 })
const stop = () => void server.stop()
process.once('SIGINT', stop)
try {
  const { url } = await server.ready
  const began = performance.now()
  let total = 0
  let previous = -1
  // Every package listed by an empty query once the count stops growing: the index has read them all.
  for (;;) {
    const answer = await get(`${url}-/v1/search?text=&size=1`).catch(() => null)
    total = answer?.status === 200 ? JSON.parse(answer.body.toString('utf8')).total : 0
    if (total > 0 && total === previous) break
    previous = total
    await new Promise((resolve) => setTimeout(resolve, 1000))
  }
  log(`search finds ${total} packages after ${Math.round(performance.now() - began)} ms`)
  const headers = { accept: 'application/json' }
  const rows = [
    ['one text (parser)', `${url}-/v1/search?text=parser&size=20`, undefined],
    [`${searchRequests().length} texts in turn`, url, searchRequests()],
  ]
  const out = []
  for (const [name, target, requests] of rows) {
    const result = await loadRow({ url, target, headers, requests, pid: server.pid, problem: (text) => problems.push(text), key: name, connections: Number(options.connections), seconds: Number(options.seconds) })
    const row = { name, reqPerSec: Math.round(result.reqPerSec), p50Ms: result.latencyMs.p50, p99Ms: result.latencyMs.p99, cpuMsPerRequest: result.cpuMsPerRequest, requests: result.requests }
    out.push(row)
    console.log(`${name.padEnd(22)} ${String(row.reqPerSec).padStart(6)} req/s  p50 ${String(row.p50Ms).padStart(5)} ms  p99 ${String(row.p99Ms).padStart(5)} ms  server CPU ${row.cpuMsPerRequest} ms a request`)
  }
  if (problems.length > 0) console.log(`problems:\n  ${problems.join('\n  ')}`)
  if (options.json) await writeFile(options.json, `${JSON.stringify({ date: new Date().toISOString(), connections: Number(options.connections), seconds: Number(options.seconds), packages: total, rows: out, problems }, null, 2)}\n`)
} finally {
  await server.stop()
}

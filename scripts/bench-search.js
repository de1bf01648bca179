#!/usr/bin/env node
// Measures npm search and the web list with 10,000 packages in the store: writes a synthetic
// store (2,000 published here, 8,000 cached uplink copies) with the built store code, starts
// the built server on 127.0.0.1, waits for its index, then runs autocannon for a bounded time
// per query. Needs `npm run build` first.
//   node scripts/bench-search.js [--quick] [--packages N] [--json FILE]
import { existsSync } from 'node:fs'
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseOptions } from './bench/args.js'
import { measure } from './bench/load.js'
import { launchServer, readMemory } from './bench/server.js'
import { stopList } from './bench/stops.js'

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const USAGE = 'usage: node scripts/bench-search.js [--quick] [--packages N] [--json FILE]'
const LOCAL_SHARE = 0.2
/** Never contacted: searches and the index build read the store only. Port 9 is discard. */
const UNUSED_UPLINK = 'http://127.0.0.1:9/'
const WORDS = ['http', 'parser', 'stream', 'react', 'cli', 'color', 'date', 'test', 'router', 'cache', 'json', 'yaml', 'crypto', 'logger', 'queue', 'widget']

const options = parseOptions({ quick: { type: 'boolean', default: false }, packages: { type: 'string', default: '10000' }, json: { type: 'string' } }, USAGE)
if (!existsSync(path.join(ROOT, 'dist', 'core', 'store', 'index.js'))) {
  console.error('dist/ is missing: run `npm run build` first')
  process.exit(2)
}
const count = Number(options.packages)
const duration = options.quick ? 2 : 10
const connections = 10
const jsonFile = path.resolve(options.json ?? path.join(ROOT, 'bench-results/bench-search.json'))

const { openStore } = await import(path.join(ROOT, 'dist', 'core', 'store', 'index.js'))

/** Package i: a name, a description and keywords drawn from WORDS, so queries match few or many. */
function synthetic(i) {
  const a = WORDS[i % WORDS.length]
  const b = WORDS[Math.floor(i / WORDS.length) % WORDS.length]
  const name = i % 10 === 0 ? `@scope${i % 7}/${a}-${b}-${i}` : `${a}-${b}-${i}`
  const version = `1.${i % 13}.${i % 7}`
  const when = new Date(Date.UTC(2020, 0, 1) + i * 3_600_000).toISOString()
  const manifest = {
    name,
    version,
    description: `A ${a} library for ${b} work, number ${i}`,
    keywords: [a, b, `kw-${i % 100}`],
    author: { name: `author${i % 50}` },
    maintainers: [{ name: `user${i % 200}`, email: `user${i % 200}@example.com` }],
    dist: { tarball: `${UNUSED_UPLINK}${name}/-/x-${version}.tgz`, integrity: 'sha512-AAAA', shasum: '0'.repeat(40) },
  }
  return { name, version, when, manifest }
}

async function writeStore(storage) {
  const store = await openStore(storage)
  const started = Date.now()
  let next = 0
  // A fresh store with one writer: no per-package lock needed.
  const worker = async () => {
    while (next < count) {
      const i = next++
      const { name, version, when, manifest } = synthetic(i)
      if (i < count * LOCAL_SHARE) {
        await store.packages.writeLocal(name, {
          origin: 'local-only',
          versions: { [version]: manifest },
          'dist-tags': { latest: version },
          removedTags: [],
          deprecated: {},
          time: { created: when, modified: when, [version]: when },
          revision: 1,
          description: manifest.description,
          maintainers: manifest.maintainers,
        })
      } else {
        const doc = { name, 'dist-tags': { latest: version }, versions: { [version]: manifest }, time: { created: when, modified: when, [version]: when } }
        await store.packages.writeUpstream(name, { uplink: 'npmjs', upstreamUrl: UNUSED_UPLINK, doc })
      }
    }
  }
  await Promise.all(Array.from({ length: 16 }, worker))
  return Date.now() - started
}

const QUERIES = [
  { name: 'search: one word, ~1/16 match', path: '/-/v1/search?text=widget&size=20' },
  { name: 'search: two words, few match', path: '/-/v1/search?text=crypto%20queue&size=20' },
  { name: 'search: exact name', path: `/-/v1/search?text=${encodeURIComponent(synthetic(4321).name)}&size=20` },
  { name: 'search: keywords qualifier', path: '/-/v1/search?text=keywords:kw-42&size=20' },
  { name: 'search: one letter (first keystroke)', path: '/-/v1/search?text=c&size=20' },
  { name: 'search: common substring, ~all match', path: '/-/v1/search?text=er&size=20' },
  { name: 'search: empty text (list), page 50', path: '/-/v1/search?text=&size=20&from=1000' },
  { name: 'web list fragment: search', path: '/-/web/fragment?q=widget' },
  { name: 'web list page 200', path: '/?page=200' },
]

const dir = await mkdtemp(path.join(os.tmpdir(), 'sinopia-bench-search-'))
let server = null
let stopLoad = null
const stops = stopList({ onSignal: () => stopLoad?.() })
stops.push(() => rm(dir, { recursive: true, force: true }))

try {
  console.log(`writing a store with ${count} packages (${Math.round(count * LOCAL_SHARE)} local, ${count - Math.round(count * LOCAL_SHARE)} cached)...`)
  const writeMs = await writeStore(path.join(dir, 'storage'))
  console.log(`  ${writeMs} ms`)
  server = await launchServer({ root: ROOT, dir, upstreamUrl: UNUSED_UPLINK, timeoutMs: 30_000 })
  stops.push(() => server.stop())
  const { url, startupMs } = await server.ready
  // The index builds after listen, while the server answers: poll until every package is in.
  const indexStart = Date.now()
  let total = 0
  while (total < count && Date.now() - indexStart < 120_000) {
    total = (await (await fetch(`${url}-/v1/search?text=&size=1`)).json()).total
    if (total < count) await new Promise((resolve) => setTimeout(resolve, 50))
  }
  const indexMs = Date.now() - indexStart
  if (total !== count) throw new Error(`the index holds ${total} packages, not ${count}`)
  console.log(`server listening after ${startupMs} ms; index of ${total} packages complete ${indexMs} ms later`)

  const rows = []
  for (const query of QUERIES) {
    const target = new URL(query.path, url).href
    const probe = await fetch(target)
    const body = await probe.text()
    if (probe.status !== 200) throw new Error(`${query.path}: ${probe.status} ${body.slice(0, 200)}`)
    const row = await measure(target, { name: query.name, headers: {} }, { connections, duration, track: (stop) => (stopLoad = stop) })
    rows.push(row)
    console.log(
      `${query.name.padEnd(38)} ${row.reqPerSec.toFixed(0).padStart(6)} req/s  p50 ${String(row.latencyMs.p50).padStart(3)} ms  p99 ${String(row.latencyMs.p99).padStart(3)} ms  ${row.bytesPerResponse} B${row.non2xx || row.errors ? `  (non-2xx ${row.non2xx}, errors ${row.errors})` : ''}`,
    )
  }
  const memory = readMemory(server.pid)
  console.log(`server memory: rss ${memory?.rssKb ?? '?'} kB, peak ${memory?.hwmKb ?? '?'} kB; ${connections} connections, ${duration} s per query`)
  await mkdir(path.dirname(jsonFile), { recursive: true })
  await writeFile(
    jsonFile,
    `${JSON.stringify({ packages: count, localShare: LOCAL_SHARE, storeWriteMs: writeMs, startupMs, indexMs, connections, duration, memory, node: process.version, cpus: os.cpus().length, rows }, null, 2)}\n`,
  )
  console.log(`figures written to ${path.relative(process.cwd(), jsonFile)}`)
} finally {
  await stops.stopAll()
}

#!/usr/bin/env node
// In-process timing of the search index alone (no HTTP, no store): fills a SearchIndex with
// summaries shaped like the scale bench's store (scale-store.js) and times queries on it,
// p50/p99 per query, and the heap the index holds. Needs `npm run build` first.
//   node --expose-gc scripts/bench/search-index.js [--packages N] [--runs N]
import { existsSync } from 'node:fs'
import path from 'node:path'
import { performance } from 'node:perf_hooks'
import { fileURLToPath } from 'node:url'
import { parseOptions } from './args.js'
import { packument, prng } from './fixtures.js'
import { isLocal, packageOf } from './scale-store.js'

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..')
const USAGE = 'usage: node --expose-gc scripts/bench/search-index.js [--packages N] [--runs N] [--churn N] [--query TEXT]...'
// --query (repeatable): time only these texts, size 20 (to profile one with --cpu-prof).
/** The scale bench's search row first (scale.js), then shapes it does not ask: empty, qualifiers, one letter, a rare word. */
const QUERIES = [
  { text: 'parser', size: 20 },
  { text: '', size: 1 },
  { text: 'fast parser', size: 20 },
  { text: 'parser', size: 20, from: 200 },
  { text: 'keywords:parser', size: 20 },
  { text: 'p', size: 20 },
  { text: 'scale-pkg-4242', size: 20 },
  { text: 'pars', size: 20 },
  { text: 'nomatchatall', size: 20 },
]

const options = parseOptions({ packages: { type: 'string', default: '100000' }, runs: { type: 'string', default: '50' }, churn: { type: 'string', default: '200' }, query: { type: 'string', multiple: true } }, USAGE)
if (!existsSync(path.join(ROOT, 'dist', 'core', 'search', 'index.js'))) {
  console.error('dist/ is missing: run `npm run build` first')
  process.exit(2)
}
const { SearchIndex, parseQuery, summarize } = await import(path.join(ROOT, 'dist', 'core', 'search', 'index.js'))
const count = Number(options.packages)
const runs = Number(options.runs)

/** Package i's summary as the server would index it (one tarball per version, like --per-package 1). */
function summaryOf(i) {
  const { name, manifests, times } = packageOf(i, 1, 'http://127.0.0.1:9')
  return summarize(name, packument(prng(i + 7), name, manifests, times), isLocal(i) ? 'local' : 'cached')
}

const heapMiB = () => {
  globalThis.gc?.()
  return process.memoryUsage().heapUsed / 1024 / 1024
}

const source = { names: async () => [], load: async () => null, stamp: async () => '' }
const heapBefore = heapMiB()
const summaries = Array.from({ length: count }, (_, i) => summaryOf(i))
const index = new SearchIndex(source)
let began = performance.now()
for (const summary of summaries) index.put(summary)
const putMs = performance.now() - began
summaries.length = 0
const heapIndex = heapMiB() - heapBefore

// Like the route's readableBy: one function per user and config, a memo lookup per name.
const rules = new Map()
const visible = (name) => {
  let verdict = rules.get(name)
  if (verdict === undefined) {
    verdict = !name.startsWith('@scale-6/')
    rules.set(name, verdict)
  }
  return verdict
}

function percentile(sorted, p) {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]
}

/** Times `runs` searches of one query: each after the index forgot its answers (the work of a new query), then remembered ones. */
function timeQuery({ text, size, from = 0 }) {
  const query = parseQuery(text)
  const times = []
  const cpu = []
  const cached = []
  let answer
  for (let r = 0; r < runs; r++) {
    index.forget()
    const start = performance.now()
    const startCpu = process.cpuUsage()
    answer = index.search(query, { from, size, visible })
    const used = process.cpuUsage(startCpu)
    times.push(performance.now() - start)
    cpu.push((used.user + used.system) / 1000)
    // The same query again, another page of it: answered from what the first search ranked.
    const again = performance.now()
    index.search(query, { from: from + size, size, visible })
    cached.push(performance.now() - again)
  }
  times.sort((a, b) => a - b)
  cpu.sort((a, b) => a - b)
  cached.sort((a, b) => a - b)
  const label = `${text || '(empty)'} size=${size}${from ? ` from=${from}` : ''}`
  return { query: label, total: answer.total, first: answer.results[0]?.summary.name ?? '-', p50: percentile(times, 50), p99: percentile(times, 99), cpu50: percentile(cpu, 50), cached50: percentile(cached, 50) }
}

const rows = (options.query ? options.query.map((text) => ({ text, size: 20 })) : QUERIES).map(timeQuery)
// A publish storm: each search follows a change (a re-put of an existing package and a new one).
const churn = Number(options.churn)
const storm = []
for (let c = 0; c < churn; c++) {
  index.put(summaryOf(c * 37))
  index.put(summaryOf(count + c))
  // A put makes the index forget its answers: each search here is a new one.
  const start = performance.now()
  index.search(parseQuery('parser'), { from: 0, size: 20, visible })
  storm.push(performance.now() - start)
}
storm.sort((a, b) => a - b)

const ms = (v) => v.toFixed(2).padStart(9)
console.log(`packages ${count}, ${runs} runs per query; put all: ${Math.round(putMs)} ms; index heap (summaries included): ${heapIndex.toFixed(1)} MiB (total heap ${heapMiB().toFixed(1)} MiB)`)
// CPU time as well as wall time: on a shared machine the wall time counts the waits for a core.
console.log(`${'query (new each time)'.padEnd(36)} ${'total'.padStart(7)} ${'p50 ms'.padStart(9)} ${'p99 ms'.padStart(9)} ${'cpu p50'.padStart(9)} ${'next page'.padStart(9)}  first`)
for (const row of rows) console.log(`${row.query.padEnd(36)} ${String(row.total).padStart(7)} ${ms(row.p50)} ${ms(row.p99)} ${ms(row.cpu50)} ${ms(row.cached50)}  ${row.first}`)
if (churn > 0) console.log(`${`parser after each of ${churn} puts`.padEnd(36)} ${''.padStart(7)} ${ms(percentile(storm, 50))} ${ms(percentile(storm, 99))}`)

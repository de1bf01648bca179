#!/usr/bin/env node
import { readdir, readFile } from 'node:fs/promises'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

/**
 * Where a V8 CPU profile (`node --cpu-prof`) spent its time: self time per function and per
 * area (sinopia's dist/, node_modules, Node's internals, GC, idle), from the samples.
 *   node scripts/bench/profile.js FILE.cpuprofile|DIR [--top N]
 */
export function summarizeProfile(profile, { top = 25 } = {}) {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]))
  const selfUs = new Map()
  for (let i = 0; i < profile.samples.length; i++) {
    const id = profile.samples[i]
    selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0))
  }
  const functions = new Map()
  const areas = new Map()
  let totalUs = 0
  for (const [id, us] of selfUs) {
    const { callFrame } = byId.get(id)
    const name = callFrame.functionName || '(anonymous)'
    const where = callFrame.url ? `${shortUrl(callFrame.url)}:${callFrame.lineNumber + 1}` : ''
    const key = where ? `${name} ${where}` : name
    functions.set(key, (functions.get(key) ?? 0) + us)
    const area = areaOf(callFrame)
    areas.set(area, (areas.get(area) ?? 0) + us)
    totalUs += us
  }
  // Shares of the busy time (everything but idle): what a faster server would have to cut.
  const busyUs = totalUs - (functions.get('(idle)') ?? 0)
  const rows = (map) =>
    [...map]
      .sort((a, b) => b[1] - a[1])
      .map(([key, us]) => ({
        key,
        ms: Math.round(us / 1000),
        pct: totalUs ? Math.round((us / totalUs) * 1000) / 10 : 0,
        busyPct: busyUs && !key.startsWith('idle') && key !== '(idle)' ? Math.round((us / busyUs) * 1000) / 10 : null,
      }))
  return { totalMs: Math.round(totalUs / 1000), busyMs: Math.round(busyUs / 1000), areas: rows(areas), functions: rows(functions).slice(0, top) }
}

function shortUrl(url) {
  const at = url.indexOf('/dist/')
  if (at !== -1 && !url.includes('node_modules')) return url.slice(at + 1)
  const nm = url.lastIndexOf('node_modules/')
  if (nm !== -1) return url.slice(nm)
  return url.replace(/^file:\/\//, '')
}

function areaOf({ url, functionName }) {
  if (!url) {
    if (functionName === '(idle)') return 'idle (waiting for I/O)'
    if (functionName === '(garbage collector)') return 'garbage collector'
    if (functionName === '(program)') return 'V8/native (program)'
    return `native: ${functionName || '(anonymous)'}`
  }
  if (url.startsWith('node:')) return `node internals (${url.split('/').slice(0, 2).join('/')})`
  if (url.includes('node_modules/')) return `node_modules/${url.split('node_modules/').pop().split('/')[0]}`
  if (url.includes('/dist/')) return 'sinopia (dist/)'
  return 'other'
}

export function renderProfile(summary, label) {
  const lines = [
    `${label}: ${summary.totalMs} ms of samples, ${summary.busyMs} ms not idle (main thread only; the libuv pool's work is not sampled,`,
    '  and on a loaded machine time the thread was preempted counts toward whatever it was running)',
    '  % of all samples, % of the busy ones, ms:',
  ]
  const line = (row) => `    ${String(row.pct).padStart(5)}%  ${row.busyPct === null ? '     -' : `${String(row.busyPct).padStart(5)}%`}  ${String(row.ms).padStart(7)} ms  ${row.key}`
  lines.push('  by area:')
  for (const row of summary.areas.slice(0, 12)) lines.push(line(row))
  lines.push('  top functions (self time):')
  for (const row of summary.functions) lines.push(line(row))
  return lines.join('\n')
}

/**
 * The newest profile of process `pid`'s main thread in `dir`, summarized: `{ file, summary }`, or
 * null when there is none. `--cpu-prof` writes one file per thread,
 * CPU.<date>.<time>.<pid>.<thread>.<seq>.cpuprofile, and the main thread is thread 0.
 */
export async function mainThreadProfile(dir, pid) {
  const file = (await profileFiles(dir)).filter((f) => path.basename(f).includes(`.${pid}.0.`)).sort().at(-1)
  return file ? { file, summary: summarizeProfile(JSON.parse(await readFile(file, 'utf8'))) } : null
}

export async function profileFiles(target) {
  if (target.endsWith('.cpuprofile')) return [target]
  return (await readdir(target)).filter((f) => f.endsWith('.cpuprofile')).map((f) => path.join(target, f))
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const target = process.argv[2]
  if (!target) {
    console.error('usage: node scripts/bench/profile.js FILE.cpuprofile|DIR [--top N]')
    process.exit(2)
  }
  const topAt = process.argv.indexOf('--top')
  const top = topAt === -1 ? 25 : Number(process.argv[topAt + 1])
  for (const file of await profileFiles(target)) {
    console.log(renderProfile(summarizeProfile(JSON.parse(await readFile(file, 'utf8')), { top }), file))
  }
}

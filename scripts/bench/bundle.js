import { spawn } from 'node:child_process'
import { createHash } from 'node:crypto'
import { readFile, readdir, stat, writeFile } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { performance } from 'node:perf_hooks'
import { readManifest } from '../../dist/core/bundle/index.js'
import { flatLockfile, startFlatProject } from './project.js'

const ROUNDS = 3
const COMMAND_TIMEOUT_MS = 300_000

/**
 * The bundle mode of the bench: sizes and times of `bundle create`, `verify` and `import` for the
 * bench's generated project (by default its 615 packages, flat, as the `npm ci` row installs),
 * each run as the built CLI (process start included). A first create fills the store from the
 * fake uplink (cold); then `ROUNDS` times: create from the warm store, verify, import into an
 * empty store whose config has no uplink, and import again (everything already present).
 * Reports the median of each; the bundle of every warm create must have the same sha256.
 */
export async function runBundle({ root, dir, packages, log, cleanups, stopped }) {
  const began = performance.now()
  const { upstream, project } = await startFlatProject(packages, cleanups)
  const results = {
    date: new Date().toISOString(),
    environment: { node: process.version, platform: `${process.platform} ${os.release()}`, cpus: os.cpus().length, loadAverageAtStart: os.loadavg(), loadAverageAtEnd: null },
    mode: { bundle: true, packages: project.latest.size, rounds: ROUNDS },
    sizes: null,
    coldCreateMs: null,
    rounds: [],
    medians: null,
    problems: [],
    elapsedS: null,
  }
  const source = path.join(dir, 'source.yaml')
  await writeFile(source, configYaml(path.join(dir, 'source'), upstream.url))
  await writeFile(path.join(dir, 'package-lock.json'), JSON.stringify(flatLockfile(project, { name: 'bench-project', version: '1.0.0' }, upstream.url)))
  const cli = (args) => runCli(root, dir, args)
  const bundle = path.join(dir, 'deps.tar')

  log(`bundle: create from the lockfile of ${project.latest.size} packages, cold (fills the store from the fake uplink)`)
  const cold = await cli(['bundle', 'create', '--from', 'package-lock.json', '--out', bundle, '--json', '--config', source])
  if (cold.code !== 0) return finish(results, began, `cold create failed (${cold.code}): ${cold.output.slice(-1500)}`)
  results.coldCreateMs = cold.ms
  const sha = await sha256(bundle)
  const manifest = await readManifest(bundle)
  const tarballBytes = manifest.packages.reduce((sum, p) => sum + p.versions.reduce((s, v) => s + v.size, 0), 0)
  results.sizes = {
    bundleBytes: (await stat(bundle)).size,
    manifestBytes: Buffer.byteLength(JSON.stringify(manifest)) + 1,
    tarballs: manifest.packages.reduce((n, p) => n + p.versions.length, 0),
    tarballBytes,
    sha256: sha,
    storeBytesAfterImport: null,
  }

  for (let round = 0; round < ROUNDS && !stopped(); round++) {
    const warm = await cli(['bundle', 'create', '--from', 'package-lock.json', '--out', bundle, '--json', '--config', source])
    if (warm.code !== 0) return finish(results, began, `warm create failed (${warm.code}): ${warm.output.slice(-1500)}`)
    if ((await sha256(bundle)) !== sha) results.problems.push(`round ${round + 1}: the warm create wrote other bytes than the cold one`)
    const verify = await cli(['bundle', 'verify', bundle, '--json'])
    if (verify.code !== 0) return finish(results, began, `verify failed (${verify.code}): ${verify.output.slice(-1500)}`)
    const target = path.join(dir, `gapped-${round}.yaml`)
    const storage = path.join(dir, `gapped-${round}`)
    await writeFile(target, configYaml(storage, null))
    const imported = await cli(['bundle', 'import', bundle, '--json', '--config', target])
    if (imported.code !== 0) return finish(results, began, `import failed (${imported.code}): ${imported.output.slice(-1500)}`)
    const added = JSON.parse(imported.stdout).added.length
    if (added !== results.sizes.tarballs) results.problems.push(`round ${round + 1}: import added ${added} of ${results.sizes.tarballs}`)
    const again = await cli(['bundle', 'import', bundle, '--json', '--config', target])
    if (again.code !== 0) return finish(results, began, `second import failed (${again.code}): ${again.output.slice(-1500)}`)
    results.sizes.storeBytesAfterImport ??= await folderBytes(storage)
    const row = { warmCreateMs: warm.ms, verifyMs: verify.ms, importMs: imported.ms, importAgainMs: again.ms }
    results.rounds.push(row)
    log(`bundle round ${round + 1}: create (warm) ${warm.ms} ms, verify ${verify.ms} ms, import ${imported.ms} ms, import again ${again.ms} ms`)
  }
  if (results.rounds.length > 0) {
    results.medians = Object.fromEntries(Object.keys(results.rounds[0]).map((key) => [key, median(results.rounds.map((r) => r[key]))]))
  }
  return finish(results, began, null)
}

function finish(results, began, problem) {
  if (problem) results.problems.push(problem)
  results.environment.loadAverageAtEnd = os.loadavg()
  results.elapsedS = Math.round((performance.now() - began) / 100) / 10
  return results
}

export function renderBundle(results) {
  const { mode, sizes, medians } = results
  const mb = (bytes) => `${(bytes / 1e6).toFixed(1)} MB`
  const lines = [`bundle: ${mode.packages} packages of the bench project, as the built CLI (process start included), median of ${results.rounds.length} rounds`]
  if (sizes) {
    lines.push(
      `  bundle ${mb(sizes.bundleBytes)} (${sizes.tarballs} tarballs, ${mb(sizes.tarballBytes)}; manifest.json ${mb(sizes.manifestBytes)}); the store after import ${sizes.storeBytesAfterImport === null ? '-' : mb(sizes.storeBytesAfterImport)}`,
      `  create, cold (fetches into the store): ${results.coldCreateMs ?? '-'} ms`,
    )
  }
  if (medians) {
    lines.push(
      `  create from the warm store ${medians.warmCreateMs} ms; verify ${medians.verifyMs} ms; import into an empty store ${medians.importMs} ms; import again (all present) ${medians.importAgainMs} ms`,
    )
  }
  const load = (l) => (l ?? []).map((n) => n.toFixed(2)).join(' ')
  lines.push(`  load average ${load(results.environment.loadAverageAtStart)} at the start, ${load(results.environment.loadAverageAtEnd)} at the end (a shared machine: times vary)`)
  lines.push(results.problems.length === 0 ? '  no problems' : `  problems:\n${results.problems.map((p) => `    ${p}`).join('\n')}`)
  return `${lines.join('\n')}\n`
}

function configYaml(storage, upstreamUrl) {
  const rule = upstreamUrl ? '{ access: $all, proxy: npmjs }' : '{ access: $all }'
  return [
    `storage: ${JSON.stringify(storage)}`,
    ...(upstreamUrl ? ['uplinks:', `  npmjs: { url: ${JSON.stringify(upstreamUrl)} }`] : []),
    'packages:',
    `  '@*/*': ${rule}`,
    `  '**': ${rule}`,
    '',
  ].join('\n')
}

/** Runs the built CLI; resolves with its exit code, stdout, both outputs and wall time. */
function runCli(root, cwd, args) {
  return new Promise((resolve) => {
    const started = performance.now()
    const child = spawn(process.execPath, [path.join(root, 'bin', 'run.js'), ...args], { cwd, stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let output = ''
    child.stdout.setEncoding('utf8').on('data', (text) => {
      stdout += text
      output += text
    })
    child.stderr.setEncoding('utf8').on('data', (text) => (output += text))
    const timer = setTimeout(() => child.kill('SIGKILL'), COMMAND_TIMEOUT_MS)
    child.on('close', (code) => {
      clearTimeout(timer)
      resolve({ code, stdout, output, ms: Math.round(performance.now() - started) })
    })
  })
}

async function sha256(file) {
  return createHash('sha256').update(await readFile(file)).digest('hex')
}

async function folderBytes(folder) {
  let bytes = 0
  for (const entry of await readdir(folder, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) bytes += (await stat(path.join(entry.parentPath, entry.name))).size
  }
  return bytes
}

function median(values) {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.floor(sorted.length / 2)]
}

import { spawn, type ChildProcess } from 'node:child_process'
import { writeFile } from 'node:fs/promises'
import path from 'node:path'
import { stringify } from 'yaml'
import { REPO_ROOT, isolatedBaseEnv, makeTempDir, runProcess, type ClientResult } from '../helpers/clients.js'
import type { BuiltPackage } from '../helpers/packages.js'
import { registryConfig } from '../helpers/server.js'

export const BIN = path.join(REPO_ROOT, 'bin', 'run.js')

/** A temp folder with config.yaml (uplink: the fake upstream) and an empty storage folder under it. */
export async function cliWorkspace(upstreamUrl: string): Promise<{ dir: string; config: string; storage: string }> {
  const dir = await makeTempDir('sinopia-lock-sync-')
  const storage = path.join(dir, 'storage')
  const config = path.join(dir, 'config.yaml')
  await writeFile(config, stringify(registryConfig({ storage, upstreamUrl })))
  return { dir, config, storage }
}

/** Runs the built CLI (`npm run build` first) without a TTY; never throws on a non-zero exit. */
export function runCli(args: string[], opts: { cwd: string; timeoutMs?: number }): Promise<ClientResult> {
  return runProcess(process.execPath, [BIN, ...args], { cwd: opts.cwd, env: isolatedBaseEnv(), timeoutMs: opts.timeoutMs ?? 60_000 })
}

/** Starts the built CLI and hands over the process, for signal tests. */
export function startCli(args: string[], cwd: string): { child: ChildProcess; stdout: () => string; stderr: () => string; exited: Promise<number | null> } {
  const child = spawn(process.execPath, [BIN, ...args], { cwd, env: isolatedBaseEnv(), stdio: ['ignore', 'pipe', 'pipe'] })
  let stdout = ''
  let stderr = ''
  child.stdout.setEncoding('utf8').on('data', (text: string) => (stdout += text))
  child.stderr.setEncoding('utf8').on('data', (text: string) => (stderr += text))
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)))
  return { child, stdout: () => stdout, stderr: () => stderr, exited }
}

/**
 * A package-lock.json (v3) listing these packages with the upstream's URLs, as npm writes them:
 * the first version of a name at the top, others nested under a parent folder.
 */
export function packageLock(packages: BuiltPackage[], upstreamUrl: string, extra: Record<string, Record<string, unknown>> = {}): string {
  const entries: Record<string, Record<string, unknown>> = { '': { name: 'synthetic', version: '1.0.0' } }
  const seen = new Map<string, number>()
  for (const pkg of packages) {
    const count = seen.get(pkg.name) ?? 0
    seen.set(pkg.name, count + 1)
    const key = count === 0 ? `node_modules/${pkg.name}` : `node_modules/holder-${count}/node_modules/${pkg.name}`
    entries[key] = { version: pkg.version, resolved: `${upstreamUrl}${pkg.name}/-/${pkg.filename}`, integrity: pkg.manifest.dist.integrity }
  }
  return `${JSON.stringify({ name: 'synthetic', version: '1.0.0', lockfileVersion: 3, requires: true, packages: { ...entries, ...extra } }, null, 2)}\n`
}

export interface JsonSummary {
  command: string
  lockfiles?: Array<{ file: string; format: string; packages: number; skipped: number }>
  roots?: Array<{ spec: string; versions: string[] }>
  total: number
  present: number
  fetched: number
  ok: number
  failed: Array<{ package: string; code: string; message: string }>
  missing: Array<{ package: string; reason: string }>
  corrupt: Array<{ package: string; reason: string }>
  skipped: Array<{ name: string; spec: string; kind: string; reason: string; lockfile?: string }>
  interrupted: number
  bytes: { fetched: number; total: number }
  durationMs: number
}

export function parseSummary(result: ClientResult): JsonSummary {
  try {
    return JSON.parse(result.stdout) as JsonSummary
  } catch {
    throw new Error(`not a JSON summary (exit ${result.code}):\n${result.stdout}\n--- stderr ---\n${result.stderr}`)
  }
}

export function describeResult(result: ClientResult): string {
  return `exit ${result.code} signal ${result.signal}\n--- stdout ---\n${result.stdout.slice(-4000)}\n--- stderr ---\n${result.stderr.slice(-4000)}`
}

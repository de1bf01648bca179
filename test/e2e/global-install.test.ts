import { execFileSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { copyFile, mkdir, readFile, readdir, symlink } from 'node:fs/promises'
import path from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import * as tar from 'tar'
import { REPO_ROOT, cleanupTempDirs, isolatedBaseEnv, makeTempDir, runNpm, runProcess } from '../helpers/clients.js'
import { startFakeUpstream, type FakeUpstream } from '../helpers/fake-upstream.js'
import { integrityOf, shasumOf, tarballFilename, type BuiltPackage, type PackageManifest } from '../helpers/packages.js'
import { cleanupRegistries, startRegistry } from '../helpers/server.js'

/**
 * Installs the project the way a user installs any npm CLI: `npm pack` of a copy of the
 * repository (its `prepack` builds it), then `npm install -g` of that tarball into a temp
 * prefix, and the installed `sinopia-cli serve` answers. No test talks to the internet, so
 * the install's dependencies come through a `serve` whose fake uplink holds the production
 * dependencies of this very checkout, packed from node_modules.
 */

const TIMEOUT = 300_000

/** The repository's own files (tracked, or new and not ignored), as a fresh clone would have them. */
async function copyRepository(to: string): Promise<void> {
  const files = execFileSync('git', ['ls-files', '--cached', '--others', '--exclude-standard', '-z'], { cwd: REPO_ROOT, encoding: 'utf8' })
    .split('\0')
    .filter((file) => file && !file.startsWith('test/') && existsSync(path.join(REPO_ROOT, file)))
  for (const file of files) {
    await mkdir(path.dirname(path.join(to, file)), { recursive: true })
    await copyFile(path.join(REPO_ROOT, file), path.join(to, file))
  }
  // The build's tools (tsc, oclif) come from this checkout's node_modules.
  await symlink(path.join(REPO_ROOT, 'node_modules'), path.join(to, 'node_modules'), 'dir')
}

async function filesBelow(dir: string, prefix = ''): Promise<string[]> {
  const out: string[] = []
  for (const entry of await readdir(path.join(dir, prefix), { withFileTypes: true })) {
    const rel = prefix ? `${prefix}/${entry.name}` : entry.name
    if (entry.isDirectory()) {
      if (entry.name !== 'node_modules') out.push(...(await filesBelow(dir, rel)))
    } else if (entry.isFile()) out.push(rel)
  }
  return out.sort()
}

/** Every production dependency installed here (from package-lock.json), packed as a registry would serve it. */
async function productionDependencies(): Promise<BuiltPackage[]> {
  const lock = JSON.parse(await readFile(path.join(REPO_ROOT, 'package-lock.json'), 'utf8')) as {
    packages: Record<string, { dev?: boolean; devOptional?: boolean }>
  }
  const seen = new Map<string, BuiltPackage>()
  const out = await makeTempDir('sinopia-deps-')
  for (const [key, entry] of Object.entries(lock.packages)) {
    const dir = path.join(REPO_ROOT, key)
    // Platform-specific optional packages of other platforms are not installed here.
    if (!key || entry.dev || entry.devOptional || !existsSync(path.join(dir, 'package.json'))) continue
    const json = JSON.parse(await readFile(path.join(dir, 'package.json'), 'utf8')) as { name: string; version: string }
    const id = `${json.name}@${json.version}`
    if (seen.has(id)) continue
    const file = path.join(out, `${seen.size}.tgz`)
    await tar.create({ file, cwd: dir, gzip: true, portable: true, prefix: 'package/' }, await filesBelow(dir))
    const tarball = await readFile(file)
    const manifest = { ...json, dist: { tarball: '', integrity: integrityOf(tarball), shasum: shasumOf(tarball) } } as PackageManifest
    seen.set(id, { name: json.name, version: json.version, manifest, tarball, filename: tarballFilename(json.name, json.version) })
  }
  return [...seen.values()]
}

describe('npm install -g of npm pack output', () => {
  let upstream: FakeUpstream | undefined

  afterAll(async () => {
    await cleanupRegistries()
    await upstream?.stop()
    await cleanupTempDirs()
  })

  it(
    'packs a copy of the repository (prepack builds it), installs it globally into a temp prefix, and the installed sinopia-cli serves',
    async () => {
      const copy = await makeTempDir('sinopia-clone-')
      await copyRepository(copy)
      expect(existsSync(path.join(copy, 'dist'))).toBe(false)
      const packed = await makeTempDir('sinopia-packed-')
      const pack = await runProcess('npm', ['pack', '--pack-destination', packed, '--silent'], { cwd: copy, env: isolatedBaseEnv(), timeoutMs: TIMEOUT })
      expect(pack.code, `${pack.stdout}\n${pack.stderr}`).toBe(0)
      const tgz = path.join(packed, pack.stdout.trim().split('\n').pop() as string)
      const entries: string[] = []
      await tar.list({ file: tgz, onReadEntry: (entry) => entries.push(entry.path) })
      expect(entries).toContain('package/dist/commands/serve.js')
      expect(entries).toContain('package/oclif.manifest.json')

      upstream = await startFakeUpstream({ packages: await productionDependencies() })
      const registry = await startRegistry({ upstreamUrl: upstream.url })
      const prefix = await makeTempDir('sinopia-prefix-')
      const install = await runNpm(['install', '-g', '--prefix', prefix, tgz], { cwd: prefix, registry: registry.url, timeoutMs: TIMEOUT })
      expect(install.code, `${install.stdout}\n${install.stderr}\n--- server ---\n${registry.output().slice(-3000)}`).toBe(0)

      const home = await makeTempDir('sinopia-home-')
      const bin = path.join(prefix, 'bin', 'sinopia-cli')
      const serve = await startRegistry({ bin, storage: path.join(home, 'storage'), config: { uplinks: undefined } })
      const ping = await fetch(`${serve.url}-/ping`)
      expect(ping.status).toBe(200)
      const version = await runProcess(bin, ['--version'], { cwd: home, env: isolatedBaseEnv() })
      expect(version.stdout).toMatch(/^sinopia-cli\/\d+\.\d+\.\d+/)
    },
    TIMEOUT,
  )
})

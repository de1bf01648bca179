import { createCipheriv, createHash } from 'node:crypto'
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import * as tar from 'tar'

export interface PackageSpec {
  name: string
  version: string
  description?: string
  dependencies?: Record<string, string>
  optionalDependencies?: Record<string, string>
  peerDependencies?: Record<string, string>
  /** A string is the one executable named after the package; a missing target file is generated. */
  bin?: string | Record<string, string>
  /** Paths relative to the package root. Without `index.js`, one is generated. */
  files?: Record<string, string | Buffer>
  /** Merged into package.json last (so it can override anything but `dist`). */
  extra?: Record<string, unknown>
  /** Bytes of incompressible (pseudo-random, seeded by name@version) data, stored as `padding.bin`. */
  padding?: number
}

export interface PackageDist {
  /** Empty here: the upstream that serves the package fills it in. */
  tarball: string
  /** `sha512-<base64>` */
  integrity: string
  /** sha1, hex */
  shasum: string
  fileCount?: number
  unpackedSize?: number
}

export interface PackageManifest {
  name: string
  version: string
  dist: PackageDist
  dependencies?: Record<string, string>
  optionalDependencies?: Record<string, string>
  peerDependencies?: Record<string, string>
  [key: string]: unknown
}

export interface BuiltPackage {
  name: string
  version: string
  manifest: PackageManifest
  tarball: Buffer
  /** `<name without scope>-<version>.tgz`, as in `/<name>/-/<filename>`. */
  filename: string
}

/** npm's own fixed tarball date, so the same spec always gives the same bytes. */
const FIXED_MTIME = new Date('1985-10-26T08:15:00.000Z')

export function tarballFilename(name: string, version: string): string {
  const bare = name.startsWith('@') ? name.slice(name.indexOf('/') + 1) : name
  return `${bare}-${version}.tgz`
}

export function integrityOf(data: Buffer): string {
  return `sha512-${createHash('sha512').update(data).digest('base64')}`
}

export function shasumOf(data: Buffer): string {
  return createHash('sha1').update(data).digest('hex')
}

/** AES-CTR keystream: looks random to gzip (so it does not shrink), but is fixed by the seed. */
function pseudoRandomBytes(seed: string, length: number): Buffer {
  const key = createHash('sha256').update(seed).digest()
  const cipher = createCipheriv('aes-256-ctr', key, Buffer.alloc(16))
  return Buffer.concat([cipher.update(Buffer.alloc(length)), cipher.final()])
}

function packageJsonOf(spec: PackageSpec): Record<string, unknown> {
  const json: Record<string, unknown> = {
    name: spec.name,
    version: spec.version,
    description: spec.description ?? `Test package ${spec.name}`,
    main: 'index.js',
    license: 'MIT',
  }
  if (spec.bin !== undefined) json.bin = spec.bin
  if (spec.dependencies) json.dependencies = spec.dependencies
  if (spec.optionalDependencies) json.optionalDependencies = spec.optionalDependencies
  if (spec.peerDependencies) json.peerDependencies = spec.peerDependencies
  return { ...json, ...spec.extra }
}

function binTargets(bin: PackageSpec['bin']): string[] {
  if (bin === undefined) return []
  const targets = typeof bin === 'string' ? [bin] : Object.values(bin)
  return targets.map((target) => path.posix.normalize(target))
}

/** Every file of the package (path relative to the package root → bytes), package.json first. */
function packageFiles(spec: PackageSpec): Map<string, Buffer> {
  const files = new Map<string, Buffer>()
  const json = packageJsonOf(spec)
  files.set('package.json', Buffer.from(`${JSON.stringify(json, null, 2)}\n`))
  const given = new Map(Object.entries(spec.files ?? {}).map(([file, data]) => [path.posix.normalize(file), data]))
  if (!given.has('index.js')) {
    given.set('index.js', `module.exports = ${JSON.stringify({ name: spec.name, version: spec.version })}\n`)
  }
  for (const target of binTargets(spec.bin)) {
    if (!given.has(target)) given.set(target, `#!/usr/bin/env node\nconsole.log(${JSON.stringify(`${spec.name}@${spec.version}`)})\n`)
  }
  if (spec.padding !== undefined && spec.padding > 0) {
    given.set('padding.bin', pseudoRandomBytes(`${spec.name}@${spec.version}`, spec.padding))
  }
  for (const file of [...given.keys()].sort()) {
    const data = given.get(file) as string | Buffer
    files.set(file, Buffer.isBuffer(data) ? data : Buffer.from(data))
  }
  return files
}

export async function buildPackage(spec: PackageSpec): Promise<BuiltPackage> {
  const files = packageFiles(spec)
  const executables = new Set(binTargets(spec.bin))
  const tmp = await mkdtemp(path.join(tmpdir(), 'sinopia-pkg-'))
  try {
    const entries: string[] = []
    for (const [file, data] of files) {
      const target = path.join(tmp, 'package', file)
      await mkdir(path.dirname(target), { recursive: true })
      await writeFile(target, data)
      await chmod(target, executables.has(file) ? 0o755 : 0o644)
      entries.push(`package/${file}`)
    }
    const out = path.join(tmp, 'out.tgz')
    await tar.create({ file: out, cwd: tmp, gzip: true, portable: true, mtime: FIXED_MTIME, noDirRecurse: true }, entries)
    const tarball = await readFile(out)
    const manifest: PackageManifest = {
      ...(packageJsonOf(spec) as { name: string; version: string }),
      dist: {
        tarball: '',
        integrity: integrityOf(tarball),
        shasum: shasumOf(tarball),
        fileCount: files.size,
        unpackedSize: [...files.values()].reduce((sum, data) => sum + data.length, 0),
      },
    }
    return { name: spec.name, version: spec.version, manifest, tarball, filename: tarballFilename(spec.name, spec.version) }
  } finally {
    await rm(tmp, { recursive: true, force: true })
  }
}

import path from 'node:path'
import hostedGitInfo from 'hosted-git-info'

/**
 * Manifest confusion: a publish document may declare one thing while the tarball's own
 * package.json (what npm runs install scripts from and links bins from) says another. These
 * are the fields that decide what an install runs and pulls in. Both sides go through the
 * normalisation npm applies when it builds the manifest it sends (so an honest publish always
 * matches), then must be equal.
 */
const DEPENDENCY_KINDS = ['dependencies', 'devDependencies', 'optionalDependencies', 'peerDependencies'] as const

type Json = Record<string, unknown>

/** The first field in which `declared` (the publish document) and `packed` (the tarball's package.json) differ, or null. */
export function manifestMismatch(declared: Json, packed: Json, files: Set<string>): string | null {
  const a = normalise(declared, files)
  const b = normalise(packed, files)
  for (const field of Object.keys(a) as Array<keyof typeof a>) {
    if (JSON.stringify(a[field]) !== JSON.stringify(b[field])) return field
  }
  return null
}

function normalise(pkg: Json, files: Set<string>) {
  const deps = Object.fromEntries(DEPENDENCY_KINDS.map((kind) => [kind, stringMap(pkg[kind])])) as Record<(typeof DEPENDENCY_KINDS)[number], Record<string, string>>
  // npm's optionalDedupe: a name in optionalDependencies is dropped from dependencies.
  for (const name of Object.keys(deps.optionalDependencies)) delete deps.dependencies[name]
  // npm rewrites git references of these two kinds into one canonical form.
  for (const kind of ['dependencies', 'devDependencies'] as const) {
    for (const [name, spec] of Object.entries(deps[kind])) deps[kind][name] = hostedGitInfo.fromUrl(spec)?.toString() ?? spec
  }
  return {
    ...sorted(deps),
    bundleDependencies: bundled(pkg, deps.dependencies),
    scripts: scripts(pkg, files),
    bin: bins(pkg, files),
  }
}

function stringMap(value: unknown): Record<string, string> {
  if (!value || typeof value !== 'object' || Array.isArray(value)) return {}
  return Object.fromEntries(Object.entries(value).filter((e): e is [string, string] => typeof e[1] === 'string'))
}

function sorted<T extends Record<string, Record<string, string>>>(maps: T): T {
  return Object.fromEntries(Object.entries(maps).map(([k, m]) => [k, Object.fromEntries(Object.entries(m).sort(([x], [y]) => (x < y ? -1 : 1)))])) as T
}

/** `bundleDependencies` (or `bundledDependencies`): a list, or `true` for every dependency. */
function bundled(pkg: Json, dependencies: Record<string, string>): string[] {
  const value = pkg.bundleDependencies ?? pkg.bundledDependencies
  if (value === true) return Object.keys(dependencies).sort()
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string').sort() : []
}

const BIN_PREFIX = /^(\.[/\\])?node_modules[/\\].bin[\\/]/

/** Scripts as npm publishes them: strings only, `node_modules/.bin/` dropped, and the scripts npm adds by itself. */
function scripts(pkg: Json, files: Set<string>): Record<string, string> {
  const out = stringMap(pkg.scripts)
  for (const [name, script] of Object.entries(out)) out[name] = script.replace(BIN_PREFIX, '')
  // A *.gyp at the root gets `node-gyp rebuild` as install script; a server.js a start script.
  const gyp = [...files].some((f) => !f.includes('/') && f.endsWith('.gyp'))
  if (!out.install && !out.preinstall && pkg.gypfile !== false && gyp) out.install = 'node-gyp rebuild'
  if (!out.start && files.has('server.js')) out.start = 'node server.js'
  return Object.fromEntries(Object.entries(out).sort(([x], [y]) => (x < y ? -1 : 1)))
}

/** A bin path as npm links it: inside the package, forward slashes. */
const binTarget = (p: string) => path.posix.join('/', p.replace(/\\/g, '/')).slice(1)

/** Bins as npm links them: a string is named after the package; `directories.bin` lists a folder. */
function bins(pkg: Json, files: Set<string>): Record<string, string> {
  const out: Record<string, string> = {}
  const name = typeof pkg.name === 'string' ? pkg.name : ''
  const dir = (pkg.directories as Json | undefined)?.bin
  if (typeof pkg.bin === 'string') out[name.slice(name.lastIndexOf('/') + 1)] = binTarget(pkg.bin)
  else if (pkg.bin && typeof pkg.bin === 'object') {
    for (const [key, target] of Object.entries(pkg.bin as Json)) {
      if (typeof target === 'string') out[path.posix.basename(binTarget(key))] = binTarget(target)
    }
  } else if (typeof dir === 'string') {
    const folder = binTarget(dir)
    for (const file of files) {
      const rel = file.startsWith(`${folder}/`) ? file.slice(folder.length + 1) : null
      if (rel && !rel.startsWith('.')) out[path.posix.basename(rel)] = `${folder}/${rel}`
    }
  }
  return Object.fromEntries(Object.entries(out).sort(([x], [y]) => (x < y ? -1 : 1)))
}

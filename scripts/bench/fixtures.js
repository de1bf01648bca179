import { createCipheriv, createHash } from 'node:crypto'
import { gzipSync } from 'node:zlib'

/** The package with the large document: the packument routes are measured on it. */
export const BIG_PACKAGE = 'big-package'
/** The packages with one large tarball each: the tarball routes are measured on them. */
export const MID_TARBALL = 'mid-tarball'
export const BIG_TARBALL = 'big-tarball'

/**
 * Sizes per mode. Full: a packument of >= 10 MB with >= 3,000 versions (the target
 * row); quick (the CI smoke run): the same shapes, small enough to take seconds.
 */
const SIZES = {
  full: { versions: 3200, minPackumentBytes: 10 * 1024 * 1024, tarballs: { [MID_TARBALL]: 300 * 1024, [BIG_TARBALL]: 1024 * 1024 } },
  quick: { versions: 300, minPackumentBytes: 900 * 1000, tarballs: { [MID_TARBALL]: 300 * 1024, [BIG_TARBALL]: 1024 * 1024 } },
}

/**
 * xorshift32 with a fixed seed: the documents come out byte-identical on every run, so two
 * runs measure the same work. (Not for anything that needs real randomness.)
 */
export function prng(seed) {
  let state = seed >>> 0 || 1
  const next = () => {
    state ^= state << 13
    state >>>= 0
    state ^= state >>> 17
    state ^= state << 5
    state >>>= 0
    return state / 0x100000000
  }
  return {
    int: (max) => Math.floor(next() * max),
    pick: (list) => list[Math.floor(next() * list.length)],
    chance: (p) => next() < p,
    hex: (chars) => Array.from({ length: chars }, () => Math.floor(next() * 16).toString(16)).join(''),
  }
}

/** What a registry publishes about a tarball's bytes: `dist.integrity` (SRI sha512) and `dist.shasum` (hex sha1). */
export function digests(bytes) {
  return {
    integrity: `sha512-${createHash('sha512').update(bytes).digest('base64')}`,
    shasum: createHash('sha1').update(bytes).digest('hex'),
  }
}

/** The words of every generated description and keyword list (the scale bench searches for them). */
export const WORDS = (
  'fast small reliable parser stream buffer cache registry module plugin config loader ' +
  'async typed resolver graph tree walker semantic version range lockfile mirror proxy'
).split(' ')

const DEP_POOL = [
  'left-pad', 'chalk', 'debug', 'ms', 'semver', 'minimatch', 'glob', 'rimraf', 'mkdirp', 'yargs',
  'commander', 'lodash', 'tslib', 'picomatch', 'micromatch', 'fast-glob', 'graceful-fs', 'once',
  'inherits', 'readable-stream', 'safe-buffer', 'string-width', 'strip-ansi', 'ansi-styles',
  '@scope/util', '@scope/core', '@types/node', 'typescript', 'eslint', 'vitest', 'prettier',
]

const MAINTAINERS = [
  { name: 'alice', email: 'alice@example.org' },
  { name: 'bob', email: 'bob@example.org' },
  { name: 'carol', email: 'carol@example.org' },
]

export function sentence(rand, words) {
  const text = Array.from({ length: words }, () => rand.pick(WORDS)).join(' ')
  return `${text[0].toUpperCase()}${text.slice(1)}.`
}

function dependencies(rand, count) {
  const out = {}
  for (let i = 0; i < count; i++) {
    out[rand.pick(DEP_POOL)] = `${rand.pick(['^', '~', '>='])}${rand.int(12)}.${rand.int(30)}.${rand.int(20)}`
  }
  return out
}

function readme(rand, name = BIG_PACKAGE) {
  const sections = ['Install', 'Usage', 'Options', 'API', 'Recipes', 'Migrating', 'FAQ', 'License']
  const parts = [`# ${name}\n\n${sentence(rand, 30)}\n`]
  for (const title of sections) {
    parts.push(`## ${title}\n`)
    for (let p = 0; p < 12; p++) parts.push(`${sentence(rand, 40 + rand.int(40))}\n`)
    parts.push('```js\nimport { parse } from \'big-package\'\nconst tree = await parse(input, { strict: true })\n```\n')
  }
  return parts.join('\n')
}

/** 0.0.0, 0.0.1, ... with a prerelease before every tenth minor; ascending, `count` long. */
function versionList(count) {
  const out = []
  for (let major = 0; out.length < count; major++) {
    for (let minor = 0; minor < 40 && out.length < count; minor++) {
      if (minor % 10 === 9) out.push(`${major}.${minor}.0-beta.1`)
      for (let patch = 0; patch < 8 && out.length < count; patch++) out.push(`${major}.${minor}.${patch}`)
    }
  }
  return out
}

/**
 * What some packuments still carry per version (older publishes kept each version's README):
 * here a short changelog entry of ~1.3 kB, which takes the full document past 10 MB while the
 * abbreviated one (no readme, no description) stays as it was.
 */
function versionNotes(rand, version) {
  const lines = [`## ${version}`, '', sentence(rand, 24 + rand.int(12)), '']
  for (let i = 0; i < 8; i++) lines.push(`- ${sentence(rand, 14 + rand.int(10))}`)
  lines.push('', 'See the migration guide for the options that changed.', '')
  return lines.join('\n')
}

export function manifest(rand, name, version, dist, { notes = false } = {}) {
  const doc = {
    name,
    version,
    description: sentence(rand, 20 + rand.int(20)),
    keywords: [rand.pick(WORDS), rand.pick(WORDS), rand.pick(WORDS)],
    homepage: `https://example.org/${name}#readme`,
    bugs: { url: `https://example.org/${name}/issues` },
    repository: { type: 'git', url: `git+https://example.org/${name}.git` },
    license: 'MIT',
    author: MAINTAINERS[0],
    type: 'module',
    main: './dist/index.js',
    types: './dist/index.d.ts',
    exports: { '.': { types: './dist/index.d.ts', import: './dist/index.js' }, './package.json': './package.json' },
    files: ['dist', 'README.md'],
    engines: { node: `>=${14 + rand.int(8)}` },
    scripts: {
      build: 'tsc -p tsconfig.build.json',
      test: 'vitest run',
      lint: 'eslint .',
      prepublishOnly: 'npm run build && npm test',
    },
    dependencies: dependencies(rand, 4 + rand.int(10)),
    devDependencies: dependencies(rand, 5 + rand.int(8)),
    gitHead: rand.hex(40),
    _id: `${name}@${version}`,
    _nodeVersion: `${16 + rand.int(6)}.${rand.int(20)}.${rand.int(10)}`,
    _npmVersion: `${8 + rand.int(3)}.${rand.int(19)}.${rand.int(4)}`,
    _npmUser: rand.pick(MAINTAINERS),
    maintainers: MAINTAINERS,
    directories: {},
    dist: { ...dist, fileCount: 10 + rand.int(90), unpackedSize: 20_000 + rand.int(400_000) },
    _hasShrinkwrap: false,
  }
  if (rand.chance(0.1)) doc.peerDependencies = dependencies(rand, 1 + rand.int(2))
  if (rand.chance(0.05)) doc.optionalDependencies = dependencies(rand, 1)
  if (version.startsWith('0.')) doc.deprecated = 'versions before 1.0 are no longer supported'
  if (notes) {
    doc.readme = versionNotes(rand, version)
    doc.readmeFilename = 'README.md'
  }
  return doc
}

export function packument(rand, name, manifests, times) {
  const versions = Object.keys(manifests)
  const stable = versions.filter((v) => !v.includes('-'))
  const pre = versions.filter((v) => v.includes('-'))
  return {
    _id: name,
    _rev: `${versions.length}-${rand.hex(32)}`,
    name,
    description: manifests[versions.at(-1)].description,
    'dist-tags': { latest: stable.at(-1), ...(pre.length ? { next: pre.at(-1) } : {}) },
    versions: manifests,
    time: { created: times[0], modified: times.at(-1), ...Object.fromEntries(versions.map((v, i) => [v, times[i]])) },
    maintainers: MAINTAINERS,
    author: MAINTAINERS[0],
    repository: { type: 'git', url: `git+https://example.org/${name}.git` },
    homepage: `https://example.org/${name}#readme`,
    bugs: { url: `https://example.org/${name}/issues` },
    keywords: ['bench', 'fixture'],
    license: 'MIT',
    readmeFilename: 'README.md',
    users: {},
  }
}

export function timeline(count) {
  const start = Date.UTC(2015, 0, 1)
  return Array.from({ length: count }, (_, i) => new Date(start + i * 19 * 3600_000).toISOString())
}

function tarballPath(name, version) {
  return `/${name}/-/${name}-${version}.tgz`
}

/** Pseudo-random bytes from a seed (AES-CTR keystream): incompressible like a real tarball, and the same on every run. */
function seededBytes(seed, length) {
  const key = createHash('sha256').update(seed).digest()
  const cipher = createCipheriv('aes-256-ctr', key, Buffer.alloc(16))
  return Buffer.concat([cipher.update(Buffer.alloc(length)), cipher.final()])
}

/**
 * Builds everything the fake uplink serves, with tarball URLs under `upstreamUrl` (ending '/'):
 * - `big-package`: many realistic manifests (3,200 versions, >= 10 MB of JSON in full mode);
 *   each version has its own small tarball so every `dist` digest is a real one;
 * - `mid-tarball` and `big-tarball`: one version each, whose tarball is 300 KiB / 1 MiB of
 *   incompressible bytes.
 * Returns `{ routes, info }`: routes maps a URL path to `{ body, type }`.
 */
export function buildFixtures(upstreamUrl, { quick = false } = {}) {
  const size = quick ? SIZES.quick : SIZES.full
  const rand = prng(0x5eed)
  const routes = new Map()
  const big = documentFixture(upstreamUrl, BIG_PACKAGE, { versions: size.versions, rand, routes })
  if (big.bytes < size.minPackumentBytes) {
    throw new Error(`fixture too small: ${big.bytes} bytes of JSON for ${BIG_PACKAGE}, want >= ${size.minPackumentBytes}`)
  }
  const tarballs = Object.entries(size.tarballs).map(([name, bytes]) => tarballFixture(upstreamUrl, name, bytes, { rand, routes }))
  return { routes, info: { packument: big, tarballs } }
}

/**
 * A package of `versions` realistic manifests (each with a per-version changelog when `notes`,
 * as older packuments carry) and a README, each version with its own small tarball so every
 * `dist` digest is a real one; its routes go into `routes`. Returns `{ name, versions, bytes, readmeBytes }`.
 */
export function documentFixture(upstreamUrl, name, { versions: count, notes = true, rand, routes }) {
  const base = upstreamUrl.replace(/\/$/, '')
  const versions = versionList(count)
  const manifests = {}
  for (const version of versions) {
    const path = tarballPath(name, version)
    const bytes = gzipSync(`${name}@${version} ${rand.hex(64)}`)
    routes.set(path, { body: bytes, type: 'application/octet-stream' })
    manifests[version] = manifest(rand, name, version, { ...digests(bytes), tarball: base + path }, { notes })
  }
  const doc = packument(rand, name, manifests, timeline(versions.length))
  doc.readme = readme(rand, name)
  const json = Buffer.from(JSON.stringify(doc))
  routes.set(`/${name}`, { body: json, type: 'application/json' })
  return { name, versions: versions.length, bytes: json.length, readmeBytes: doc.readme.length }
}

/**
 * A package with one version whose tarball is `size` incompressible bytes; its routes go into
 * `routes`. Returns `{ name, version, file, bytes, integrity, shasum }`.
 */
export function tarballFixture(upstreamUrl, name, size, { rand, routes }) {
  const base = upstreamUrl.replace(/\/$/, '')
  const tarball = seededBytes(name, size)
  const tarballUrlPath = tarballPath(name, '1.0.0')
  const tarballDigests = digests(tarball)
  routes.set(tarballUrlPath, { body: tarball, type: 'application/octet-stream' })
  const doc = packument(rand, name, { '1.0.0': manifest(rand, name, '1.0.0', { ...tarballDigests, tarball: base + tarballUrlPath }) }, timeline(1))
  doc.readme = `# ${name}\n\n${sentence(rand, 20)}\n`
  routes.set(`/${name}`, { body: Buffer.from(JSON.stringify(doc)), type: 'application/json' })
  return { name, version: '1.0.0', file: tarballUrlPath.split('/').pop(), bytes: tarball.length, ...tarballDigests }
}

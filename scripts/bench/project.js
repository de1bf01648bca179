import { digests, prng, sentence } from './fixtures.js'
import { packTarball } from './tar.js'
import { startUpstream } from './upstream.js'

/**
 * A generated project, by default of ~650 installed packages for the `npm ci` comparison: small
 * packages (package.json, index.js, lib/, README, LICENSE; a few kB each), a dependency
 * graph with shared dependencies, scoped names, and two majors of some packages where
 * npm must nest one copy. Deterministic: the same tarballs and documents on every run.
 */
const PACKAGE_COUNT = 615
const SCOPE = '@bench'
const WORDS = (
  'ansi array async cache color config debug deep diff emit event fast file flat glob hash ' +
  'http json kind lazy list map merge mime minify path pick queue range read retry safe ' +
  'slug sort split stream string tiny trim type util walk wrap yaml'
).split(' ')
const LICENSE = `MIT License\n\nPermission is hereby granted, free of charge, to any person obtaining a copy of this\nsoftware, to deal in the Software without restriction. THE SOFTWARE IS PROVIDED "AS IS".\n`

function bareName(name) {
  return name.startsWith('@') ? name.slice(name.indexOf('/') + 1) : name
}

function names(rand, count) {
  const out = []
  for (let i = 0; i < count; i++) {
    const stem = `${rand.pick(WORDS)}-${rand.pick(WORDS)}-${i}`
    out.push(i % 20 === 7 ? `${SCOPE}/${stem}` : stem)
  }
  return out
}

function files(rand, name, version, deps) {
  const requires = Object.keys(deps).map((dep) => `  ${JSON.stringify(dep)}: () => require(${JSON.stringify(dep)}),`)
  const helpers = Array.from(
    { length: 4 + rand.int(20) },
    (_, i) => `exports.helper${i} = function helper${i} (value) {\n  // ${sentence(rand, 10)}\n  return value === undefined ? ${i} : String(value) + ${JSON.stringify(rand.pick(WORDS))}\n}\n`,
  )
  const pkg = {
    name,
    version,
    description: sentence(rand, 8 + rand.int(8)),
    main: 'index.js',
    license: 'MIT',
    ...(Object.keys(deps).length ? { dependencies: deps } : {}),
  }
  return {
    'package.json': `${JSON.stringify(pkg, null, 2)}\n`,
    'index.js': `'use strict'\nconst util = require('./lib/util.js')\nmodule.exports = {\n  name: ${JSON.stringify(name)},\n  version: ${JSON.stringify(version)},\n  util,\n  dependencies: {\n${requires.join('\n')}\n  },\n}\n`,
    'lib/util.js': `'use strict'\n${helpers.join('\n')}`,
    'README.md': `# ${name}\n\n${Array.from({ length: 3 + rand.int(8) }, () => sentence(rand, 20 + rand.int(30))).join('\n\n')}\n`,
    LICENSE,
  }
}

/**
 * Builds the packages' documents and tarballs, served by the fake uplink under `upstreamUrl`:
 * `count` packages; with `twoMajors: false` none has a 2.0.0, so every dependency resolves to
 * the one 1.1.0 of its package and the installed tree is flat.
 * Returns `{ routes, rootDependencies, latest, info }` (routes: URL path -> `{ body, type }`;
 * latest: name -> the 1.1.0 manifest, whose `dist` a lockfile entry takes).
 */
export function buildProject(upstreamUrl, { count = PACKAGE_COUNT, twoMajors = true } = {}) {
  const rand = prng(0x0c1)
  const base = upstreamUrl.replace(/\/$/, '')
  const all = names(rand, count)
  // Every 12th package also has a 2.0.0; its dependents ask for ^1 or ^2, so both get installed.
  const hasTwo = new Set(twoMajors ? all.filter((_, i) => i % 12 === 5) : [])
  const range = (dep) => (hasTwo.has(dep) && rand.chance(0.5) ? '^2.0.0' : '^1.0.0')
  const dependents = new Map(all.map((name) => [name, 0]))
  const depsOf = new Map()
  for (let i = 0; i < all.length; i++) {
    const deps = {}
    // Dependencies only on later packages: a DAG, with some packages shared by many.
    const depCount = i < all.length - 10 ? rand.int(5) : 0
    for (let k = 0; k < depCount; k++) {
      const j = i + 1 + rand.int(Math.min(150, all.length - i - 1))
      const dep = all[j]
      deps[dep] = range(dep)
      dependents.set(dep, dependents.get(dep) + 1)
    }
    depsOf.set(all[i], deps)
  }

  const routes = new Map()
  const latest = new Map()
  let tarballBytes = 0
  let versionCount = 0
  for (const name of all) {
    const versions = hasTwo.has(name) ? ['1.0.0', '1.1.0', '2.0.0'] : ['1.0.0', '1.1.0']
    const manifests = {}
    const time = {}
    for (const [n, version] of versions.entries()) {
      const deps = depsOf.get(name)
      const content = files(rand, name, version, deps)
      const tarball = packTarball(content)
      tarballBytes += tarball.length
      versionCount++
      const urlPath = `/${name}/-/${bareName(name)}-${version}.tgz`
      routes.set(urlPath, { body: tarball, type: 'application/octet-stream' })
      manifests[version] = {
        ...JSON.parse(content['package.json']),
        _id: `${name}@${version}`,
        dist: { ...digests(tarball), tarball: base + urlPath, fileCount: Object.keys(content).length },
      }
      time[version] = new Date(Date.UTC(2020, 0, 1 + n * 30)).toISOString()
    }
    latest.set(name, manifests['1.1.0'])
    const doc = {
      _id: name,
      name,
      description: manifests[versions.at(-1)].description,
      'dist-tags': { latest: versions.at(-1) },
      versions: manifests,
      time: { created: time[versions[0]], modified: time[versions.at(-1)], ...time },
      license: 'MIT',
      readme: `# ${name}\n`,
    }
    routes.set(`/${name}`, { body: Buffer.from(JSON.stringify(doc)), type: 'application/json' })
  }

  // The root asks for every package nothing else depends on (so all get installed), plus a few more.
  const rootDependencies = {}
  for (const [name, n] of dependents) if (n === 0 || rand.chance(0.03)) rootDependencies[name] = range(name)
  return {
    routes,
    rootDependencies,
    latest,
    info: { packages: all.length, versions: versionCount, tarballBytes, rootDependencies: Object.keys(rootDependencies).length },
  }
}

/**
 * The package-lock.json (lockfileVersion 3) of a flat project (`buildProject` with
 * `twoMajors: false`): every package at the top of node_modules in its 1.1.0, each `resolved`
 * URL under `registryUrl` (the server under test, not the uplink the documents name).
 */
export function flatLockfile(project, { name, version }, registryUrl) {
  const registry = registryUrl.replace(/\/$/, '')
  const packages = { '': { name, version, dependencies: project.rootDependencies } }
  for (const [pkg, manifest] of project.latest) {
    packages[`node_modules/${pkg}`] = {
      version: manifest.version,
      resolved: registry + new URL(manifest.dist.tarball).pathname,
      integrity: manifest.dist.integrity,
      license: manifest.license,
      ...(manifest.dependencies ? { dependencies: manifest.dependencies } : {}),
    }
  }
  return { name, version, lockfileVersion: 3, requires: true, packages }
}

/**
 * The bench's fake uplink serving a flat project (`buildProject` with `twoMajors: false`) of
 * `count` packages; closed through `cleanups`. Returns `{ upstream, project }`.
 */
export async function startFlatProject(count, cleanups) {
  const upstream = await startUpstream()
  cleanups.push(() => upstream.close())
  const project = buildProject(upstream.url, { count, twoMajors: false })
  upstream.serve(project.routes)
  return { upstream, project }
}

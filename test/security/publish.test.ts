import { request } from 'node:http'
import path from 'node:path'
import zlib from 'node:zlib'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { stringify } from 'yaml'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { Users } from '../../src/core/auth/index.js'
import { parseConfig } from '../../src/core/config/index.js'
import { PackageRules, Registry, parsePublish } from '../../src/core/registry/index.js'
import { KeyedLock } from '../../src/core/fs/lock.js'
import { openStore } from '../../src/core/store/index.js'
import { UpstreamClient } from '../../src/core/upstream/client.js'
import { onPostgres, startHarness, type Harness } from '../core/server/harness.js'
import { buildPackage, integrityOf, shasumOf, type BuiltPackage } from '../helpers/packages.js'
import { publishBody } from '../helpers/publish.js'
import { freshDatabase } from '../helpers/postgres.js'
import { storedNow } from '../helpers/stored.js'
import { cleanupRegistries, startRegistry, type RunningRegistry } from '../helpers/server.js'
import { describeStall, excessStallMs, watchStall, type StallReport } from '../helpers/watchdog.js'
import { docOf, errorOf, versionIn } from '../helpers/answers.js'

/**
 * Publish bodies built to stall or fill a real `serve`: each attack runs in a stall window
 * (pings, the server's own event-loop monitor, and a canary for the machine's load), and fails
 * the test when the server blocked its loop STALL_MS beyond what the load explains (the stalls
 * these attacks caused were seconds long).
 */

const STALL_MS = 200

/**
 * PUT with node's http client. A server that refuses a request before reading its body answers
 * and closes: the client may then see its own write fail (EPIPE, ECONNRESET) before it reads
 * the answer, which comes back as status 0 with the error code.
 */
function put(url: string, body: Buffer | string, token?: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method: 'PUT',
        agent: false,
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), ...(token ? { authorization: `Bearer ${token}` } : {}) },
      },
      (res) => {
        let text = ''
        res.setEncoding('utf8')
        res.on('data', (chunk: string) => (text += chunk))
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }))
        res.on('error', () => resolve({ status: res.statusCode ?? 0, body: text }))
      },
    )
    req.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'EPIPE' || error.code === 'ECONNRESET') resolve({ status: 0, body: error.code })
      else reject(error)
    })
    req.end(body)
  })
}

async function createUser(registry: RunningRegistry, name: string): Promise<string> {
  const res = await fetch(`${registry.url}-/user/org.couchdb.user:${name}`, {
    method: 'PUT',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ _id: `org.couchdb.user:${name}`, name, password: 'attack-Horse-1', type: 'user', roles: [] }),
  })
  const json = (await res.json()) as { token?: string }
  if (res.status !== 201 || !json.token) throw new Error(`adduser ${name}: ${res.status}`)
  return json.token
}

/**
 * Runs `attack` in a stall window. A stall past STALL_MS must show twice in a row (the attacks
 * here repeat without side effects): a garbage collection at the wrong moment is not the
 * attack's doing, a stall the attack causes comes back every time.
 */
async function underWatch<T>(registry: RunningRegistry, attack: () => Promise<T>): Promise<{ result: T; watch: StallReport }> {
  let { result, report } = await watchStall(registry.url, attack, { intervalMs: 10, maxMs: 60_000 })
  if (excessStallMs(report) >= STALL_MS) ({ result, report } = await watchStall(registry.url, attack, { intervalMs: 10, maxMs: 60_000 }))
  return { result, watch: report }
}

/** The contents the registry's store holds, read through the store (folder or database). */
const blobFiles = async (registry: RunningRegistry) => (await storedNow(registry.storage)).contents

/** `depth` nested arrays: `[[[...]]]`. */
const nestedArray = (depth: number) => `${'['.repeat(depth)}${']'.repeat(depth)}`

/** Bodies go out as Buffers made once: encoding a 9 MB string per request would cost this process seconds each time. */
const DEEP_BODY = Buffer.from(nestedArray(4_500_000))

/** A 512-byte ustar header for a regular file. */
function tarHeader(name: string, size: number): Buffer {
  const header = Buffer.alloc(512)
  header.write(name, 0, 100, 'utf8')
  header.write('0000644\0', 100)
  header.write('0000000\0', 108)
  header.write('0000000\0', 116)
  header.write(`${size.toString(8).padStart(11, '0')}\0`, 124)
  header.write('00000000000\0', 136)
  header.write('        ', 148)
  header.write('0', 156)
  header.write('ustar\0', 257)
  header.write('00', 263)
  let sum = 0
  for (const byte of header) sum += byte
  header.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148)
  return header
}

/** A gzip tarball: package/package.json, then `zeros` bytes of zeros in one file (a gzip bomb). */
async function bombTarball(name: string, version: string, zeros: number): Promise<Buffer> {
  const json = Buffer.from(JSON.stringify({ name, version }))
  const gzip = zlib.createGzip({ level: 1 })
  const out: Buffer[] = []
  gzip.on('data', (chunk: Buffer) => out.push(chunk))
  const ended = new Promise((resolve) => gzip.on('end', resolve))
  const write = (chunk: Buffer) => (gzip.write(chunk) ? Promise.resolve() : new Promise((resolve) => gzip.once('drain', resolve)))
  await write(tarHeader('package/package.json', json.length))
  await write(Buffer.concat([json, Buffer.alloc(512 - (json.length % 512))]))
  await write(tarHeader('package/zeros.bin', zeros))
  const block = Buffer.alloc(16 * 1024 * 1024)
  for (let left = zeros; left > 0; left -= block.length) await write(left >= block.length ? block : block.subarray(0, left))
  await write(Buffer.alloc(1024))
  gzip.end()
  await ended
  return Buffer.concat(out)
}

describe('publish abuse against a running serve', () => {
  let registry: RunningRegistry
  let token: string
  beforeAll(async () => {
    registry = await startRegistry()
    token = await createUser(registry, 'mallory')
  })
  afterAll(() => cleanupRegistries())

  it('(2) anonymous PUTs of a 9 MB nested array get 401 without the body being parsed: no stall', async () => {
    const { result, watch } = await underWatch(registry, async () => {
      const statuses: number[] = []
      for (let i = 0; i < 20; i++) statuses.push((await put(`${registry.url}victim-pkg`, DEEP_BODY)).status)
      return statuses
    })
    // The server answered 401 to each, before their bodies (its log says so; the client may not get to read it).
    for (const status of result) expect([0, 401]).toContain(status)
    await registry.waitForOutput(/(PUT \/victim-pkg 401[^]*){20}/)
    expect(watch.failures).toBe(0)
    expect(excessStallMs(watch), describeStall(watch)).toBeLessThan(STALL_MS)
  })

  it('(2) a logged-in user sending a deeply nested body gets 400 (max_json_depth), on every JSON route: no stall', async () => {
    const { result, watch } = await underWatch(registry, async () => [
      await put(`${registry.url}victim-pkg`, DEEP_BODY, token),
      await put(`${registry.url}-/package/victim-pkg/dist-tags/beta`, DEEP_BODY, token),
      await put(`${registry.url}-/user/org.couchdb.user:mallory`, nestedArray(30_000)),
    ])
    for (const answer of result) {
      expect(answer.status).toBe(400)
      expect(answer.body).toMatch(/max_json_depth/)
    }
    expect(excessStallMs(watch), describeStall(watch)).toBeLessThan(STALL_MS)
  })

  it('(4) a gzip bomb (1 GiB of zeros) is refused with 400 (max_unpacked_size) while the server keeps answering', async () => {
    const tarball = await bombTarball('bomb-pkg', '1.0.0', 1024 * 1024 * 1024)
    const body = Buffer.from(JSON.stringify({
      _id: 'bomb-pkg',
      name: 'bomb-pkg',
      'dist-tags': { latest: '1.0.0' },
      versions: { '1.0.0': { name: 'bomb-pkg', version: '1.0.0', dist: { integrity: integrityOf(tarball), shasum: shasumOf(tarball) } } },
      _attachments: { 'bomb-pkg-1.0.0.tgz': { content_type: 'application/octet-stream', data: tarball.toString('base64'), length: tarball.length } },
    }))
    const { result, watch } = await underWatch(registry, () => put(`${registry.url}bomb-pkg`, body, token))
    expect(result.status).toBe(400)
    expect(result.body).toMatch(/max_unpacked_size/)
    expect(excessStallMs(watch), describeStall(watch)).toBeLessThan(STALL_MS)
    expect(await blobFiles(registry)).toEqual([])
  })

  it('(18) a manifest nested 6000 deep is refused with 400 before its tarball is stored', async () => {
    const pkg = await buildPackage({ name: 'deep-pkg', version: '1.0.0' })
    const body = publishBody(pkg) as { versions: Record<string, Record<string, unknown>> }
    const text = JSON.stringify(body).replace('"name":"deep-pkg","version":"1.0.0"', `"name":"deep-pkg","version":"1.0.0","config":${nestedArray(6000)}`)
    expect(text).toContain(nestedArray(10))
    const { result, watch } = await underWatch(registry, () => put(`${registry.url}deep-pkg`, text, token))
    expect(result.status).toBe(400)
    expect(excessStallMs(watch), describeStall(watch)).toBeLessThan(STALL_MS)
    expect(await blobFiles(registry)).toEqual([])
    expect((await fetch(`${registry.url}deep-pkg`)).status).toBe(404)
  })
})

/** A gzip tarball of the given files, in the given order (paths as they go into the archive). */
function tarball(files: Array<[string, unknown]>): Buffer {
  const blocks: Buffer[] = []
  for (const [name, content] of files) {
    const data = Buffer.from(typeof content === 'string' ? content : JSON.stringify(content))
    blocks.push(tarHeader(name, data.length), data, Buffer.alloc((512 - (data.length % 512)) % 512))
  }
  blocks.push(Buffer.alloc(1024))
  return zlib.gzipSync(Buffer.concat(blocks))
}

/** The publish body for `manifest` (name, version, and what the client declares) carrying `tgz`. */
function bodyFor(manifest: Record<string, unknown> & { name: string; version: string }, tgz: Buffer, tags: Record<string, string> = { latest: manifest.version }): Record<string, unknown> {
  const bare = manifest.name.slice(manifest.name.lastIndexOf('/') + 1)
  return {
    _id: manifest.name,
    name: manifest.name,
    'dist-tags': tags,
    versions: { [manifest.version]: { ...manifest, dist: { integrity: integrityOf(tgz), shasum: shasumOf(tgz) } } },
    _attachments: { [`${bare}-${manifest.version}.tgz`]: { content_type: 'application/octet-stream', data: tgz.toString('base64'), length: tgz.length } },
  }
}

describe('what a publish may claim', () => {
  let h: Harness
  const auth: Record<string, string> = {}
  const put = (path: string, body: unknown, user: string | null = 'alice') =>
    fetch(`${h.url}${path}`, {
      method: 'PUT',
      body: JSON.stringify(body),
      headers: { 'content-type': 'application/json', ...(user ? { authorization: auth[user] } : {}) },
    })
  const del = (path: string, user = 'alice') => fetch(`${h.url}${path}`, { method: 'DELETE', headers: { authorization: auth[user] ?? '' } })
  const get = async (path: string) => docOf(await fetch(`${h.url}${path}`))
  const publish = async (pkg: BuiltPackage, user = 'alice', tag = 'latest') => put(pkg.name.replace('/', '%2f'), publishBody(pkg, tag), user)

  beforeAll(async () => {
    h = await startHarness({
      extra: {
        packages: {
          'team-*': { access: '$all', publish: 'bob carol', proxy: 'npmjs' },
          'fork-*': { access: '$all', publish: '$authenticated', override: '$authenticated', proxy: 'npmjs' },
          '@*/*': { access: '$all', publish: '$authenticated', proxy: 'npmjs' },
          '**': { access: '$all', publish: '$authenticated', proxy: 'npmjs' },
        },
      },
    })
    const users = new Users(path.join(h.dir, 'htpasswd'), Infinity, new KeyedLock())
    for (const name of ['alice', 'bob', 'carol']) {
      await users.add(name, `${name}-pw`)
      auth[name] = `Basic ${Buffer.from(`${name}:${name}-pw`).toString('base64')}`
    }
    h.upstream.addPackage(await buildPackage({ name: 'fork-lib', version: '1.0.0' }))
    h.upstream.addPackage(await buildPackage({ name: 'Old-Capitals', version: '1.0.0' }))
  })
  afterAll(() => h.close())

  it('(9) refuses a version published again under an alias (v, spaces, tab, build metadata)', async () => {
    expect((await publish(await buildPackage({ name: 'alias-pkg', version: '1.0.0' }))).status).toBe(201)
    for (const alias of ['v1.0.0', ' 1.0.0', '1.0.0 ', '\t1.0.0', '1.0.0+build', '=1.0.0']) {
      const pkg = await buildPackage({ name: 'alias-pkg', version: alias })
      const res = await put('alias-pkg', bodyFor({ name: 'alias-pkg', version: alias }, pkg.tarball))
      expect([400, 409], JSON.stringify(alias)).toContain(res.status)
    }
    expect(Object.keys((await get('alias-pkg')).versions)).toEqual(['1.0.0'])
    const build = await buildPackage({ name: 'alias-other', version: '2.0.0+meta' })
    const res = await put('alias-other', bodyFor({ name: 'alias-other', version: '2.0.0+meta' }, build.tarball))
    expect(res.status).toBe(400)
    expect((await errorOf(res))).toMatch(/clean semver/)
  })

  it('(10) refuses a tarball whose package.json declares scripts, dependencies or bins the manifest leaves out', async () => {
    const declared = { name: 'confused-pkg', version: '1.0.0' }
    const cases: Array<[string, Record<string, unknown>]> = [
      ['scripts', { scripts: { postinstall: 'node steal.js' } }],
      ['dependencies', { dependencies: { 'hidden-dep': '^1.0.0' } }],
      ['optionalDependencies', { optionalDependencies: { 'hidden-dep': '^1.0.0' } }],
      ['peerDependencies', { peerDependencies: { 'hidden-dep': '^1.0.0' } }],
      ['bin', { bin: { ls: 'steal.js' } }],
    ]
    for (const [field, extra] of cases) {
      const tgz = tarball([['package/package.json', { ...declared, ...extra }], ['package/steal.js', '']])
      const res = await put('confused-pkg', bodyFor(declared, tgz))
      expect(res.status, field).toBe(400)
      expect((await errorOf(res))).toMatch(new RegExp(`\\b${field}\\b`))
    }
    expect((await fetch(`${h.url}confused-pkg`)).status).toBe(404)
  })

  it('(10) checks the package.json npm would install when a tarball holds two top-level folders', async () => {
    const declared = { name: 'two-roots', version: '1.0.0' }
    // npm extracts with the first path component stripped: both files land on package.json.
    for (const order of [
      [['package/package.json', declared], ['evil/package.json', { ...declared, scripts: { install: 'node x.js' } }]],
      [['evil/package.json', { ...declared, scripts: { install: 'node x.js' } }], ['package/package.json', declared]],
    ] as Array<Array<[string, unknown]>>) {
      const res = await put('two-roots', bodyFor(declared, tarball(order)))
      expect(res.status).toBe(400)
      expect((await errorOf(res))).toMatch(/package\.json/)
    }
    expect((await fetch(`${h.url}two-roots`)).status).toBe(404)
  })

  it('(10) takes what npm itself normalises: a bin string, optional dependencies also listed as dependencies', async () => {
    const raw = { name: 'normal-pkg', version: '1.0.0', bin: './cli.js', dependencies: { a: '1', b: '2' }, optionalDependencies: { b: '2' }, scripts: { test: 'node_modules/.bin/vitest' } }
    const manifest = { name: 'normal-pkg', version: '1.0.0', bin: { 'normal-pkg': 'cli.js' }, dependencies: { a: '1' }, optionalDependencies: { b: '2' }, scripts: { test: 'vitest' } }
    const tgz = tarball([['package/package.json', raw], ['package/cli.js', '']])
    const res = await put('normal-pkg', bodyFor(manifest, tgz))
    expect(res.status, await res.clone().text()).toBe(201)
  })

  it('(12) an existing package takes new versions, unpublishes and deprecations from its maintainers only', async () => {
    expect((await publish(await buildPackage({ name: 'alice-lib', version: '1.0.0' }))).status).toBe(201)
    const bobsVersion = await publish(await buildPackage({ name: 'alice-lib', version: '1.0.1' }), 'bob')
    expect(bobsVersion.status).toBe(403)
    expect((await errorOf(bobsVersion))).toMatch(/maintainer/)
    const read = await get('alice-lib?write=true')
    expect((await del(`alice-lib/-rev/${read._rev}`, 'bob')).status).toBe(403)
    versionIn(read, '1.0.0').deprecated = 'taken over'
    expect((await put('alice-lib', read, 'bob')).status).toBe(403)
    expect((await put('-/package/alice-lib/dist-tags/latest', '1.0.0', 'bob')).status).toBe(403)
    expect((await get('alice-lib')).versions['1.0.0']?.deprecated).toBeUndefined()
    // alice makes bob a maintainer: now he may.
    const fresh = await get('alice-lib?write=true')
    expect((await put(`alice-lib/-rev/${fresh._rev}`, { _id: 'alice-lib', _rev: fresh._rev, maintainers: [...fresh.maintainers, { name: 'bob' }] })).status).toBe(201)
    expect((await publish(await buildPackage({ name: 'alice-lib', version: '1.0.1' }), 'bob')).status).toBe(201)
    // A user the rule names by name may publish to an existing package without being a maintainer.
    expect((await publish(await buildPackage({ name: 'team-lib', version: '1.0.0' }), 'bob')).status).toBe(201)
    expect((await publish(await buildPackage({ name: 'team-lib', version: '1.1.0' }), 'carol')).status).toBe(201)
  })

  it('(12) a cached uplink package is not overridden, nor its latest moved, unless the rule says override', async () => {
    await get('alpha')
    const res = await publish(await buildPackage({ name: 'alpha', version: '2.1.0' }))
    expect(res.status).toBe(403)
    expect((await errorOf(res))).toMatch(/override/)
    expect((await put('-/package/alpha/dist-tags/latest', '1.0.0')).status).toBe(403)
    expect((await get('alpha'))['dist-tags'].latest).toBe('2.0.0')
    // Other tags stay an overlay anyone allowed to publish may set.
    expect((await put('-/package/alpha/dist-tags/old', '1.0.0')).status).toBe(201)
    // With `override` in the rule it works as before.
    await get('fork-lib')
    expect((await publish(await buildPackage({ name: 'fork-lib', version: '1.0.1-fix' }), 'alice', 'fix')).status).toBe(201)
    expect((await put('-/package/fork-lib/dist-tags/latest', '1.0.1-fix')).status).toBe(201)
  })

  it('(16) versions and tags named constructor, toString or __proto__ are refused, never stored', async () => {
    expect((await publish(await buildPackage({ name: 'proto-pkg', version: '1.0.0' }))).status).toBe(201)
    const read = await get('proto-pkg?write=true')
    const versions = JSON.parse(`{"constructor":{"deprecated":"x"},"toString":{"deprecated":"x"},"__proto__":{"deprecated":"x"},"1.0.0":${JSON.stringify(read.versions['1.0.0'])}}`) as Record<string, unknown>
    expect((await put('proto-pkg', { ...read, versions })).status).toBe(400)
    const next = await buildPackage({ name: 'proto-pkg', version: '1.1.0' })
    const body = publishBody(next)
    body['dist-tags'] = JSON.parse('{"latest":"constructor","__proto__":"1.1.0"}')
    expect((await put('proto-pkg', body)).status).toBe(400)
    const doc = await get('proto-pkg')
    expect(Object.keys(doc.versions)).toEqual(['1.0.0'])
    expect(doc['dist-tags']).toEqual({ latest: '1.0.0' })
    expect((await put('-/package/proto-pkg/dist-tags/__proto__', '1.0.0')).status).toBe(400)
  })

  it('(17) dist-tags in a publish body are checked like the dist-tag route checks them', async () => {
    for (const tag of ['1.x', '^1.0.0', 'a b', '']) {
      const res = await publish(await buildPackage({ name: 'tag-check', version: '1.0.0' }), 'alice', tag)
      expect(res.status, tag).toBe(400)
      expect((await errorOf(res))).toMatch(/dist-tag/)
    }
    expect((await fetch(`${h.url}tag-check`)).status).toBe(404)
  })

  it('(24) a new name with capitals is refused; a cached uplink name with capitals still reads', async () => {
    expect((await publish(await buildPackage({ name: 'pub-pkg', version: '1.0.0' }))).status).toBe(201)
    const res = await publish(await buildPackage({ name: 'Pub-Pkg', version: '1.0.0' }))
    expect(res.status).toBe(400)
    expect((await errorOf(res))).toMatch(/capital/)
    expect((await fetch(`${h.url}Pub-Pkg`)).status).toBe(404)
    expect(Object.keys((await get('Old-Capitals')).versions)).toEqual(['1.0.0'])
  })
})

describe('a publish that fails after its tarball is stored', () => {
  it('passes the write error on as it is, and leaves no blob behind', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'sinopia-orphan-'))
    const storage = onPostgres ? await freshDatabase() : path.join(dir, 'storage')
    const { config } = parseConfig(stringify({ storage }), path.join(dir, 'config.yaml'))
    const store = await openStore(config.storage, { blobCache: path.join(dir, 'blob-cache') })
    const upstream = new UpstreamClient(config.uplinks)
    try {
      const registry = new Registry(config, store, upstream)
      const full = Object.assign(new Error('no space left on device'), { code: 'ENOSPC' })
      vi.spyOn(store.packages, 'writeLocal').mockRejectedValueOnce(full)
      const pkg = await buildPackage({ name: 'orphan-pkg', version: '1.0.0' })
      const actor = { user: { name: 'alice', groups: [] }, rule: new PackageRules(config.packages).match('orphan-pkg')! }
      const limits = { maxUnpackedSize: config.maxUnpackedSize, maxManifestSize: config.maxBodySize, maxJsonDepth: config.maxJsonDepth }
      await expect(registry.publisher.publish('orphan-pkg', await parsePublish('orphan-pkg', publishBody(pkg), limits), actor)).rejects.toBe(full)
      expect((await storedNow(config.storage)).contents).toEqual([])
      // The next publish of the same version works: nothing half-written is in its way.
      await registry.publisher.publish('orphan-pkg', await parsePublish('orphan-pkg', publishBody(pkg), limits), actor)
      expect(Object.keys((await registry.packuments.document('orphan-pkg'))?.versions ?? {})).toEqual(['1.0.0'])
    } finally {
      await upstream.close()
      await store.close()
      await rm(dir, { recursive: true, force: true })
    }
  })
})

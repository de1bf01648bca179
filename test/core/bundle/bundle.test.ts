import { createHash, generateKeyPairSync } from 'node:crypto'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import * as tar from 'tar'
import { stringify } from 'yaml'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { blobEntry, collectPackages, importBundle, loadPrivateKey, loadPublicKey, mergeVersions, readManifest, verifyBundle, writeBundle, includedIds } from '../../../src/core/bundle/index.js'
import { parseConfig } from '../../../src/core/config/index.js'
import type { Config } from '../../../src/core/config/types.js'
import { parsePublish } from '../../../src/core/registry/index.js'
import { silentLogger } from '../../../src/core/log.js'
import { startServer } from '../../../src/core/server/index.js'
import { tarballKey, type Packument } from '../../../src/core/store/index.js'
import { openRegistry, type OpenRegistry } from '../../../src/core/sync/index.js'
import { startFakeUpstream, type FakeUpstream } from '../../helpers/fake-upstream.js'
import { buildPackage, type BuiltPackage } from '../../helpers/packages.js'
import { publishBody } from '../../helpers/publish.js'
import { tempConfig } from '../sync/harness.js'
import { sortedEntries } from '../../helpers/blobs.js'

const TOOL = { name: 'sinopia-cli', version: '0.0.0-test' }
const sha256 = async (file: string) => createHash('sha256').update(await readFile(file)).digest('hex')

/** A config with no uplink at all: the air-gapped side. */
function airGapped(dir: string): Config {
  const yaml = stringify({ storage: path.join(dir, 'gapped'), packages: { '@*/*': { access: '$all' }, '**': { access: '$all' } } })
  return parseConfig(yaml, path.join(dir, 'gapped.yaml')).config
}

describe('bundles: create, verify, import', () => {
  let upstream: FakeUpstream
  let packages: BuiltPackage[]
  let env: Awaited<ReturnType<typeof tempConfig>>
  let source: OpenRegistry
  let work: string
  const opened: OpenRegistry[] = []

  const locked = (list: BuiltPackage[]) => list.map((p) => ({ name: p.name, version: p.version, integrity: p.manifest.dist.integrity }))

  /** Fills the source store from `list` (as lock-sync would) and writes a bundle of it. */
  async function bundle(list: BuiltPackage[], out: string, extra: Partial<Parameters<typeof writeBundle>[2]> = {}) {
    const collected = await collectPackages(source.registry, { kind: 'lockfiles', packages: locked(list), skipped: [] }, { concurrency: 4, retries: 0 })
    expect(collected.failed).toEqual([])
    return writeBundle(source.registry, collected.packages, { out: path.join(work, out), tool: TOOL, ...extra })
  }

  async function target(): Promise<OpenRegistry> {
    const registry = await openRegistry(airGapped(work))
    opened.push(registry)
    return registry
  }

  beforeEach(async () => {
    packages = await Promise.all([
      buildPackage({ name: 'alpha', version: '1.0.0' }),
      buildPackage({ name: 'alpha', version: '1.1.0' }),
      buildPackage({ name: '@scope/beta', version: '1.0.0', padding: 4096 }),
      buildPackage({ name: 'gamma', version: '2.0.0-rc.1' }),
    ])
    upstream = await startFakeUpstream({ packages })
    env = await tempConfig(upstream)
    source = await openRegistry(env.config)
    work = await mkdtemp(path.join(tmpdir(), 'sinopia-bundle-'))
  })
  afterEach(async () => {
    await Promise.all([source.close(), ...opened.splice(0).map((o) => o.close())])
    await upstream.stop()
    await env.cleanup()
    await rm(work, { recursive: true, force: true })
  })

  it('writes a plain tar that standard readers list: manifest first, tarballs by digest; the same inputs give the same bytes', async () => {
    const first = await bundle(packages, 'a.tar')
    expect(first).toMatchObject({ packages: 3, versions: 4, blobs: 4, failed: [] })
    // From the store now: not one more upstream request, and the same bytes.
    upstream.reset()
    const second = await bundle(packages, 'b.tar')
    expect(upstream.count()).toBe(0)
    expect(await sha256(path.join(work, 'b.tar'))).toBe(await sha256(path.join(work, 'a.tar')))
    expect(second.sha256).toBe(first.sha256)

    const names: string[] = []
    await tar.t({ file: path.join(work, 'a.tar'), onReadEntry: (entry) => void names.push(entry.path) })
    expect(names[0]).toBe('manifest.json')
    expect(names.slice(1)).toEqual([...names.slice(1)].sort())
    expect(names.slice(1).every((n) => /^blobs\/sha512\/[0-9a-f]{128}\.tgz$/.test(n))).toBe(true)

    const manifest = await readManifest(path.join(work, 'a.tar'))
    // The newest publish time among the included versions, to the second.
    const times = packages.map((p) => Date.parse(upstream.packument(p.name)?.time[p.version] ?? ''))
    expect(manifest.created).toBe(new Date(Math.max(...times)).toISOString())
    const alpha = manifest.packages.find((p) => p.name === 'alpha')
    expect(alpha?.versions.map((v) => v.version)).toEqual(['1.0.0', '1.1.0'])
    expect(Object.keys(alpha?.packument.versions ?? {})).toEqual(['1.0.0', '1.1.0'])
    expect((await verifyBundle(path.join(work, 'a.tar'))).ok).toBe(true)
  })

  it('imports into a store with no uplink, which then serves the packages; a second import adds nothing', async () => {
    await bundle(packages, 'deps.tar')
    const gapped = await target()
    const result = await importBundle(gapped.store, path.join(work, 'deps.tar'), { now: () => 1_000 })
    expect(result.ok).toBe(true)
    expect(result.added.sort()).toEqual(['@scope/beta@1.0.0', 'alpha@1.0.0', 'alpha@1.1.0', 'gamma@2.0.0-rc.1'])
    expect(await gapped.store.packages.readFetched('alpha')).toEqual({ uplink: 'bundle', fetchedAt: 1_000 })

    const answer = await gapped.registry.packuments.get('alpha')
    expect([...answer.view.versions.keys()].sort()).toEqual(['1.0.0', '1.1.0'])
    const doc = await gapped.registry.packuments.document('alpha')
    expect(doc?.['dist-tags']?.latest).toBe('1.1.0')
    // A prerelease-only package still gets a latest.
    expect((await gapped.registry.packuments.document('gamma'))?.['dist-tags']?.latest).toBe('2.0.0-rc.1')
    const tarball = await gapped.registry.tarballs.open('@scope/beta', 'beta-1.0.0.tgz')
    expect(tarball.kind).not.toBe('download')
    const blob = await gapped.store.blobs.open(undefined, tarballKey('@scope/beta', '1.0.0'))
    await blob?.handle.close()
    expect(await gapped.store.blobs.verify(blob?.integrity ?? '', packages[2]?.manifest.dist.integrity ?? '')).toBe('ok')

    const again = await importBundle(gapped.store, path.join(work, 'deps.tar'))
    expect(again).toMatchObject({ ok: true, added: [] })
    expect(again.present).toHaveLength(4)
  })

  it('under a rule without proxy, an imported copy is served but one fetched from a real uplink stays hidden', async () => {
    await bundle(packages, 'deps.tar')
    // The source's own storage, opened with a config that proxies nothing: its npmjs copies are not served.
    const yaml = stringify({ storage: env.config.storage, packages: { '**': { access: '$all' }, '@*/*': { access: '$all' } } })
    const noProxy = await openRegistry(parseConfig(yaml, path.join(work, 'noproxy.yaml')).config)
    opened.push(noProxy)
    await expect(noProxy.registry.packuments.get('alpha')).rejects.toMatchObject({ code: 'ENOTFOUND' })
    // The same packages imported from a bundle into a store with no uplink are served.
    const gapped = await target()
    expect((await importBundle(gapped.store, path.join(work, 'deps.tar'))).ok).toBe(true)
    expect([...(await gapped.registry.packuments.get('alpha')).view.versions.keys()].sort()).toEqual(['1.0.0', '1.1.0'])
  })

  it('a publish here of an imported name is an override: both the imported and the published versions are served', async () => {
    await bundle(packages, 'deps.tar')
    const gapped = await target()
    expect((await importBundle(gapped.store, path.join(work, 'deps.tar'))).ok).toBe(true)
    const mine = await buildPackage({ name: 'alpha', version: '9.0.0' })
    // Publishing over an uplink's package (an imported one counts as such) takes the override right.
    const rule = { ...gapped.registry.rules.match('alpha')!, override: ['$authenticated'] }
    const limits = { maxUnpackedSize: 256 * 1024 * 1024, maxManifestSize: 10 * 1024 * 1024, maxJsonDepth: 100 }
    await gapped.registry.publisher.publish('alpha', await parsePublish('alpha', publishBody(mine), limits), { user: { name: 'someone', groups: [] }, rule })
    expect((await gapped.store.packages.readLocal('alpha'))?.doc.origin).toBe('override')
    expect([...(await gapped.registry.packuments.get('alpha')).view.versions.keys()].sort()).toEqual(['1.0.0', '1.1.0', '9.0.0'])
  })

  it('a bundle with one flipped byte is refused, naming the package, and nothing of it is imported', async () => {
    await bundle(packages, 'deps.tar')
    const file = path.join(work, 'deps.tar')
    const bytes = await readFile(file)
    const manifest = await readManifest(file)
    const beta = manifest.packages.find((p) => p.name === '@scope/beta')?.versions[0]
    // The padding of @scope/beta is incompressible: its gzip bytes are found in the tar as they are.
    const stored = await source.store.blobs.open(beta?.integrity, tarballKey('@scope/beta', '1.0.0'))
    const blob = Buffer.alloc(32)
    await stored?.handle.read(blob, 0, 32, 1000)
    await stored?.handle.close()
    const at = bytes.indexOf(blob)
    expect(at).toBeGreaterThan(0)
    bytes[at + 5] = (bytes[at + 5] ?? 0) ^ 0xff
    await writeFile(file, bytes)

    const report = await verifyBundle(file)
    expect(report.ok).toBe(false)
    expect(report.problems).toEqual([expect.objectContaining({ package: '@scope/beta@1.0.0', message: expect.stringMatching(/does not hash/) })])
    const gapped = await target()
    const result = await importBundle(gapped.store, file)
    expect(result).toMatchObject({ ok: false, added: [] })
    expect(await gapped.store.packages.list()).toEqual([])
    for (const p of packages) expect(await gapped.store.blobs.has(p.manifest.dist.integrity, tarballKey(p.name, p.version))).toBe(false)
  })

  it('imports in one pass: a flipped byte in the last tarball of the file leaves every document as it was and takes back the blobs written before it', async () => {
    await bundle(packages, 'deps.tar')
    const file = path.join(work, 'deps.tar')
    const manifest = await readManifest(file)
    const versions = manifest.packages.flatMap((p) => p.versions.map((v) => ({ id: `${p.name}@${v.version}`, name: p.name, ...v })))
    const last = [...versions].sort((a, b) => (blobEntry(a.integrity) < blobEntry(b.integrity) ? -1 : 1)).at(-1) as (typeof versions)[number]
    const stored = await source.store.blobs.open(last.integrity, tarballKey(last.name, last.version))
    const tgz = await stored!.handle.readFile()
    await stored?.handle.close()
    const bytes = await readFile(file)
    const at = bytes.indexOf(tgz)
    // The tarball's bytes lie contiguous in the tar, and nothing but zero padding follows them.
    expect(at).toBeGreaterThan(0)
    expect(bytes.subarray(at + tgz.length).every((b) => b === 0)).toBe(true)
    bytes[at + Math.floor(tgz.length / 2)] = (bytes[at + Math.floor(tgz.length / 2)] ?? 0) ^ 0xff
    await writeFile(file, bytes)

    const gapped = await target()
    // The air-gapped store already holds one version (another package than the damaged one): it must stay as it is.
    const kept = packages.find((p) => p.name !== last.name) as BuiltPackage
    expect((await importBundle(gapped.store, await bundleOf(kept, work))).ok).toBe(true)
    const before = await gapped.store.packages.readUpstream(kept.name)
    // Counts the blob writes the import starts (the writes themselves are the store's own).
    const started: string[] = []
    const write = gapped.store.blobs.write.bind(gapped.store.blobs)
    gapped.store.blobs.write = (key, expected, size) => {
      started.push(key)
      return write(key, expected, size)
    }
    const result = await importBundle(gapped.store, file)
    expect(result).toMatchObject({ ok: false, added: [], present: [], refused: [] })
    expect(result.verify.problems).toEqual([expect.objectContaining({ package: last.id, message: expect.stringMatching(/does not hash/) })])
    // Every tarball the store lacked streamed towards it (one pass, not verify then import), the damaged one's write abandoned...
    expect(started.sort()).toEqual(versions.filter((v) => v.id !== `${kept.name}@${kept.version}`).map((v) => tarballKey(v.name, v.version)).sort())
    // ...and were taken back: only what the store held before is left, its document untouched.
    expect(await gapped.store.packages.list()).toEqual([kept.name])
    expect((await gapped.store.packages.readUpstream(kept.name))?.rev).toBe(before?.rev)
    expect((await sortedEntries(gapped.store.blobs)).map((e) => e.key)).toEqual([tarballKey(kept.name, kept.version)])
    const content: string[] = []
    for await (const c of gapped.store.blobs.content()) content.push(c.integrity)
    expect(content).toEqual([kept.manifest.dist.integrity])
  })

  it('a bundle cut short in its middle imports nothing and leaves no blob behind', async () => {
    await bundle(packages, 'deps.tar')
    const bytes = await readFile(path.join(work, 'deps.tar'))
    await writeFile(path.join(work, 'cut.tar'), bytes.subarray(0, Math.floor(bytes.length * 0.7)))
    const gapped = await target()
    const result = await importBundle(gapped.store, path.join(work, 'cut.tar'))
    expect(result).toMatchObject({ ok: false, added: [] })
    expect(result.verify.problems.map((p) => p.message)).toContainEqual(expect.stringMatching(/truncated/))
    expect(await gapped.store.packages.list()).toEqual([])
    expect(await sortedEntries(gapped.store.blobs)).toEqual([])
    expect(await gapped.store.blobs.totals()).toEqual({ blobs: 0, bytes: 0 })
  })

  it('carries what the uplink gave for provenance: dist.signatures and dist.attestations in the packument, the attestations answer as an entry served back offline', async () => {
    const [a1, a11] = packages as [BuiltPackage, BuiltPackage]
    const signed = { ...a11, manifest: { ...a11.manifest, dist: { ...a11.manifest.dist, signatures: [{ keyid: 'SHA256:test-key', sig: 'MEUCIQDtest' }], attestations: { url: `${upstream.url}-/npm/v1/attestations/alpha@1.1.0`, provenance: { predicateType: 'https://slsa.dev/provenance/v1' } } } } }
    upstream.addPackage(signed)
    const proof = { attestations: [{ predicateType: 'https://slsa.dev/provenance/v1', bundle: { mediaType: 'application/vnd.dev.sigstore.bundle+json;version=0.2', content: 'x'.repeat(64) } }] }
    upstream.setAttestations('alpha', '1.1.0', proof)
    const first = await bundle([a1, signed], 'attested.tar')
    expect(first).toMatchObject({ versions: 2, attestations: 1, failed: [] })
    expect(upstream.count('/-/npm/v1/attestations/alpha@1.1.0')).toBe(1)
    // From the store the second time: no new request, the same bytes.
    const second = await bundle([a1, signed], 'attested2.tar')
    expect(upstream.count('/-/npm/v1/attestations/alpha@1.1.0')).toBe(1)
    expect(second.sha256).toBe(first.sha256)
    const names: string[] = []
    await tar.t({ file: path.join(work, 'attested.tar'), onReadEntry: (entry) => void names.push(entry.path) })
    expect(names.slice(0, 2)).toEqual(['manifest.json', 'attestations/alpha@1.1.0.json'])
    const manifest = await readManifest(path.join(work, 'attested.tar'))
    const alpha = manifest.packages.find((p) => p.name === 'alpha')
    expect(alpha?.versions.map((v) => Boolean(v.attestations))).toEqual([false, true])
    expect(alpha?.packument.versions['1.1.0']?.dist).toMatchObject({ signatures: signed.manifest.dist.signatures, attestations: signed.manifest.dist.attestations })
    expect((await verifyBundle(path.join(work, 'attested.tar'))).ok).toBe(true)

    const gapped = await target()
    expect((await importBundle(gapped.store, path.join(work, 'attested.tar'))).ok).toBe(true)
    expect((await gapped.registry.packuments.document('alpha'))?.versions['1.1.0']?.dist).toMatchObject({ signatures: signed.manifest.dist.signatures, attestations: signed.manifest.dist.attestations })
    const server = await startServer(airGapped(work), { host: '127.0.0.1', port: 0 }, silentLogger)
    try {
      const served = await fetch(`${server.url}-/npm/v1/attestations/alpha@1.1.0`)
      expect(served.status).toBe(200)
      expect(await served.json()).toEqual(proof)
      expect((await fetch(`${server.url}-/npm/v1/attestations/alpha@1.0.0`)).status).toBe(404)
    } finally {
      await server.close(1000)
    }

    // Changed attestation bytes are named, like a tarball's.
    const bytes = await readFile(path.join(work, 'attested.tar'))
    const at = bytes.indexOf(Buffer.from('x'.repeat(64)))
    bytes[at] = 'y'.charCodeAt(0)
    await writeFile(path.join(work, 'attested.tar'), bytes)
    expect((await verifyBundle(path.join(work, 'attested.tar'))).problems).toEqual([expect.objectContaining({ package: 'alpha@1.1.0', message: expect.stringMatching(/attestations .* do not hash/) })])
  })

  it('an uplink that fails to answer for attestations its packument points at leaves the bundle unwritten, naming the version', async () => {
    const a11 = packages[1] as BuiltPackage
    const attested = { ...a11, manifest: { ...a11.manifest, dist: { ...a11.manifest.dist, attestations: { url: `${upstream.url}-/npm/v1/attestations/alpha@1.1.0`, provenance: { predicateType: 'https://slsa.dev/provenance/v1' } } } } }
    upstream.addPackage(attested)
    upstream.fault({ status: 503 }, (r) => r.url.startsWith('/-/npm/v1/attestations/'))
    const result = await bundle([a11], 'failing.tar')
    expect(result.failed).toEqual([expect.objectContaining({ package: 'alpha@1.1.0', message: expect.stringMatching(/^its attestations: .*503/) })])
    await expect(readFile(path.join(work, 'failing.tar'))).rejects.toMatchObject({ code: 'ENOENT' })
  })

  it('--since leaves out what the older bundle holds; importing the delta adds the new version and moves latest', async () => {
    const [a1, a11, beta, gamma] = packages as [BuiltPackage, BuiltPackage, BuiltPackage, BuiltPackage]
    await bundle([a1, beta, gamma], 'old.tar')
    const a2 = await buildPackage({ name: 'alpha', version: '2.0.0' })
    upstream.addPackage(a2)
    const delta = await bundle([a1, a11, a2, beta], 'delta.tar', { exclude: includedIds(await readManifest(path.join(work, 'old.tar'))) })
    expect(delta).toMatchObject({ packages: 1, versions: 2, excluded: 2 })

    const gapped = await target()
    expect((await importBundle(gapped.store, path.join(work, 'old.tar'))).ok).toBe(true)
    expect((await gapped.registry.packuments.document('alpha'))?.['dist-tags']?.latest).toBe('1.0.0')
    const result = await importBundle(gapped.store, path.join(work, 'delta.tar'))
    expect(result.added.sort()).toEqual(['alpha@1.1.0', 'alpha@2.0.0'])
    const doc = await gapped.registry.packuments.document('alpha')
    expect(Object.keys(doc?.versions ?? {}).sort()).toEqual(['1.0.0', '1.1.0', '2.0.0'])
    expect(doc?.['dist-tags']?.latest).toBe('2.0.0')
  })

  it('a version the store holds with another integrity is refused and kept, the rest imported', async () => {
    await bundle(packages, 'deps.tar')
    const gapped = await target()
    // The air-gapped store already has alpha@1.0.0, with other bytes (a republished version elsewhere).
    const other = await buildPackage({ name: 'alpha', version: '1.0.0', description: 'other bytes' })
    const before = await bundleOf(other, work)
    expect((await importBundle(gapped.store, before)).ok).toBe(true)

    const result = await importBundle(gapped.store, path.join(work, 'deps.tar'))
    expect(result.ok).toBe(false)
    expect(result.refused).toEqual([expect.objectContaining({ package: 'alpha@1.0.0', message: expect.stringMatching(/integrity .* kept/) })])
    expect(result.added.sort()).toEqual(['@scope/beta@1.0.0', 'alpha@1.1.0', 'gamma@2.0.0-rc.1'])
    const doc = await gapped.registry.packuments.document('alpha')
    expect(doc?.versions['1.0.0']?.dist?.integrity).toBe(other.manifest.dist.integrity)
  })

  it('signs with Ed25519 (deterministic) or ECDSA; the wrong key, or no signature when one is required, is refused', async () => {
    const keys = async (type: 'ed25519' | 'ec') => {
      const pair = type === 'ed25519' ? generateKeyPairSync('ed25519') : generateKeyPairSync('ec', { namedCurve: 'P-256' })
      const priv = path.join(work, `${type}-${Math.random()}.key`)
      const pub = `${priv}.pub`
      await writeFile(priv, pair.privateKey.export({ type: 'pkcs8', format: 'pem' }))
      await writeFile(pub, pair.publicKey.export({ type: 'spki', format: 'pem' }))
      return { priv: await loadPrivateKey(priv), pub: await loadPublicKey(pub) }
    }
    const ed = await keys('ed25519')
    const ec = await keys('ec')
    const stranger = await keys('ed25519')
    await bundle(packages, 'ed.tar', { sign: ed.priv })
    await bundle(packages, 'ed2.tar', { sign: ed.priv })
    await bundle(packages, 'ec.tar', { sign: ec.priv })
    await bundle(packages, 'plain.tar')
    expect(await sha256(path.join(work, 'ed2.tar'))).toBe(await sha256(path.join(work, 'ed.tar')))

    expect((await verifyBundle(path.join(work, 'ed.tar'), { trusted: ed.pub })).signature).toMatchObject({ status: 'valid', trusted: true })
    expect((await verifyBundle(path.join(work, 'ec.tar'), { trusted: ec.pub })).ok).toBe(true)
    expect((await verifyBundle(path.join(work, 'ed.tar'))).signature).toMatchObject({ status: 'valid', trusted: false })

    const wrong = await verifyBundle(path.join(work, 'ed.tar'), { trusted: stranger.pub })
    expect(wrong.ok).toBe(false)
    expect(wrong.problems[0]?.message).toMatch(/not by the required key/)
    expect((await verifyBundle(path.join(work, 'plain.tar'), { trusted: ed.pub })).problems[0]?.message).toMatch(/not signed/)
    const gapped = await target()
    expect(await importBundle(gapped.store, path.join(work, 'ed.tar'), { trusted: stranger.pub })).toMatchObject({ ok: false, added: [] })
    expect(await gapped.store.packages.list()).toEqual([])
    expect((await importBundle(gapped.store, path.join(work, 'ed.tar'), { trusted: ed.pub })).ok).toBe(true)
  })

  it('exits with the packages that could not be included, and writes nothing', async () => {
    const missing = await buildPackage({ name: 'nowhere', version: '1.0.0' })
    const collected = await collectPackages(source.registry, { kind: 'lockfiles', packages: locked([packages[0] as BuiltPackage, missing]), skipped: [] }, { concurrency: 2, retries: 0 })
    expect(collected.failed.map((f) => f.package)).toEqual(['nowhere@1.0.0'])
  })

  it('an output folder that does not exist is an EWRITE error, and leaves nothing behind', async () => {
    await expect(bundle(packages, path.join('missing', 'deps.tar'))).rejects.toMatchObject({ code: 'EWRITE' })
  })

  it('--all bundles every version the store holds, fetching nothing', async () => {
    await bundle(packages, 'deps.tar')
    upstream.reset()
    const collected = await collectPackages(source.registry, { kind: 'all' }, { concurrency: 2, retries: 0 })
    expect(upstream.count()).toBe(0)
    expect(collected.packages.map((p) => `${p.name}@${p.version}`).sort()).toEqual(['@scope/beta@1.0.0', 'alpha@1.0.0', 'alpha@1.1.0', 'gamma@2.0.0-rc.1'])
  })

  /** A one-package bundle written from its own store and upstream. */
  async function bundleOf(pkg: BuiltPackage, dir: string): Promise<string> {
    const up = await startFakeUpstream({ packages: [pkg] })
    const cfg = await tempConfig(up)
    const reg = await openRegistry(cfg.config)
    try {
      const collected = await collectPackages(reg.registry, { kind: 'lockfiles', packages: locked([pkg]), skipped: [] }, { concurrency: 1, retries: 0 })
      const out = path.join(dir, `one-${Math.random()}.tar`)
      await writeBundle(reg.registry, collected.packages, { out, tool: TOOL })
      return out
    } finally {
      await reg.close()
      await up.stop()
      await cfg.cleanup()
    }
  }
})

describe('mergeVersions', () => {
  const manifest = (version: string) => ({ name: 'p', version, dist: { integrity: `sha512-${version}` } })
  const doc = (versions: string[], tags: Record<string, string>): Packument => ({
    name: 'p',
    versions: Object.fromEntries(versions.map((v) => [v, manifest(v)])),
    'dist-tags': tags,
    time: Object.fromEntries(versions.map((v) => [v, '2020-01-01T00:00:00.000Z'])),
  })

  it('never moves a stored tag back, and names latest the highest stable version when the bundle tags none held', () => {
    const stored = doc(['1.0.0', '3.0.0'], { latest: '3.0.0', next: '3.0.0' })
    const merged = mergeVersions(stored, doc(['2.0.0', '4.0.0-beta.1'], { latest: '2.0.0', next: '4.0.0-beta.1' }), ['2.0.0', '4.0.0-beta.1'])
    expect(merged['dist-tags']).toEqual({ latest: '3.0.0', next: '4.0.0-beta.1' })
    expect(Object.keys(merged.versions).sort()).toEqual(['1.0.0', '2.0.0', '3.0.0', '4.0.0-beta.1'])
    expect(mergeVersions(null, doc(['1.0.0', '1.2.0', '2.0.0-rc.1'], {}), ['1.0.0', '1.2.0', '2.0.0-rc.1'])['dist-tags']).toEqual({ latest: '1.2.0' })
  })
})

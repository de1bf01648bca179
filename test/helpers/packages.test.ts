import { createHash } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import * as tar from 'tar'
import { buildPackage, tarballFilename } from './packages.js'

async function listEntries(tarball: Buffer): Promise<Map<string, { mode: number; mtime: Date | undefined; body: string }>> {
  const entries = new Map<string, { mode: number; mtime: Date | undefined; body: string }>()
  const parser = new tar.Parser({
    onReadEntry: (entry) => {
      const parts: Buffer[] = []
      entry.on('data', (part: Buffer) => parts.push(part))
      entry.on('end', () => entries.set(entry.path, { mode: entry.mode ?? 0, mtime: entry.mtime, body: Buffer.concat(parts).toString('utf8') }))
    },
  })
  await new Promise<void>((resolve, reject) => {
    parser.on('end', resolve)
    parser.on('error', reject)
    parser.end(tarball)
  })
  return entries
}

describe('buildPackage', () => {
  it('builds a gzip tarball rooted at package/ with package.json and index.js', async () => {
    const pkg = await buildPackage({ name: 'plain', version: '1.2.3', dependencies: { other: '^1.0.0' }, extra: { keywords: ['x'] } })
    expect(pkg.filename).toBe('plain-1.2.3.tgz')
    expect(pkg.tarball.subarray(0, 2)).toEqual(Buffer.from([0x1f, 0x8b]))
    const entries = await listEntries(pkg.tarball)
    expect([...entries.keys()]).toEqual(['package/package.json', 'package/index.js'])
    const json = JSON.parse(entries.get('package/package.json')?.body ?? '{}') as Record<string, unknown>
    expect(json).toMatchObject({ name: 'plain', version: '1.2.3', dependencies: { other: '^1.0.0' }, keywords: ['x'] })
    expect(json.dist).toBeUndefined()
    expect(pkg.manifest).toMatchObject({ name: 'plain', version: '1.2.3', dependencies: { other: '^1.0.0' }, keywords: ['x'] })
    expect(entries.get('package/index.js')?.mtime?.toISOString()).toBe('1985-10-26T08:15:00.000Z')
  })

  it('computes sha512 integrity, sha1 shasum and file stats', async () => {
    const pkg = await buildPackage({ name: 'plain', version: '1.0.0', files: { 'lib/a.js': 'a', 'README.md': Buffer.from('# hi\n') } })
    expect(pkg.manifest.dist.integrity).toBe(`sha512-${createHash('sha512').update(pkg.tarball).digest('base64')}`)
    expect(pkg.manifest.dist.shasum).toBe(createHash('sha1').update(pkg.tarball).digest('hex'))
    expect(pkg.manifest.dist.tarball).toBe('')
    expect(pkg.manifest.dist.fileCount).toBe(4)
    const entries = await listEntries(pkg.tarball)
    expect(entries.get('package/lib/a.js')?.body).toBe('a')
    const unpacked = [...entries.values()].reduce((sum, entry) => sum + Buffer.byteLength(entry.body), 0)
    expect(pkg.manifest.dist.unpackedSize).toBe(unpacked)
  })

  it('is deterministic: the same spec gives the same bytes', async () => {
    const spec = { name: '@acme/thing', version: '2.0.0', bin: { thing: 'bin/thing.js' }, padding: 4096 }
    const [a, b] = await Promise.all([buildPackage(spec), buildPackage(spec)])
    expect(a.tarball.equals(b.tarball)).toBe(true)
    expect(a.manifest.dist.integrity).toBe(b.manifest.dist.integrity)
    const other = await buildPackage({ ...spec, version: '2.0.1' })
    expect(other.manifest.dist.integrity).not.toBe(a.manifest.dist.integrity)
  })

  it('names scoped tarballs without the scope and makes bins executable', async () => {
    const pkg = await buildPackage({ name: '@acme/thing', version: '2.0.0', bin: { thing: 'bin/thing.js' } })
    expect(pkg.filename).toBe('thing-2.0.0.tgz')
    expect(tarballFilename('@a/b', '1.0.0-rc.1')).toBe('b-1.0.0-rc.1.tgz')
    const entries = await listEntries(pkg.tarball)
    expect(entries.get('package/bin/thing.js')?.body).toMatch(/^#!\/usr\/bin\/env node/)
    expect((entries.get('package/bin/thing.js')?.mode ?? 0) & 0o111).not.toBe(0)
    expect((entries.get('package/index.js')?.mode ?? 0) & 0o111).toBe(0)
  })

  it('adds incompressible padding for big tarballs', async () => {
    const pkg = await buildPackage({ name: 'big', version: '1.0.0', padding: 1024 * 1024 })
    expect(pkg.tarball.length).toBeGreaterThan(1024 * 1024)
    expect(pkg.manifest.dist.unpackedSize).toBeGreaterThan(1024 * 1024)
  })
})

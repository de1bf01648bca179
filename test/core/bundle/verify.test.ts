import { createHash } from 'node:crypto'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { blobEntry, verifyBundle, type BundleManifest } from '../../../src/core/bundle/index.js'
import { TarWriter } from '../../../src/core/bundle/tar-writer.js'

/** Bundles written entry by entry, to make the damaged ones `create` never would. */
async function writeTar(file: string, entries: Array<[string, Buffer]>): Promise<void> {
  const chunks: Buffer[] = []
  const tar = new TarWriter((chunk) => {
    chunks.push(Buffer.from(chunk))
    return Promise.resolve()
  }, new Date('2020-01-01T00:00:00Z'))
  for (const [name, bytes] of entries) await tar.file(name, bytes)
  await tar.end()
  await writeFile(file, Buffer.concat(chunks))
}

const tgz = Buffer.from('not really gzip, but bytes with a digest')
const integrity = `sha512-${createHash('sha512').update(tgz).digest('base64')}`

function manifest(over: (m: BundleManifest) => void = () => undefined): Buffer {
  const m: BundleManifest = {
    format: 1,
    created: '2020-01-01T00:00:00.000Z',
    tool: { name: 'sinopia-cli', version: 'test' },
    packages: [
      {
        name: 'p',
        versions: [{ version: '1.0.0', integrity, size: tgz.length }],
        packument: { name: 'p', 'dist-tags': { latest: '1.0.0' }, versions: { '1.0.0': { name: 'p', version: '1.0.0', dist: { integrity } } } },
      },
    ],
  }
  over(m)
  return Buffer.from(JSON.stringify(m))
}

describe('verifyBundle on damaged bundles', () => {
  let dir: string
  const at = (name: string) => path.join(dir, name)
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'sinopia-bundle-verify-'))
  })
  afterAll(() => rm(dir, { recursive: true, force: true }))

  it('accepts a well-formed one', async () => {
    await writeTar(at('good.tar'), [['manifest.json', manifest()], [blobEntry(integrity), tgz]])
    expect(await verifyBundle(at('good.tar'))).toMatchObject({ ok: true, packages: 1, versions: 1, blobs: 1, problems: [] })
  })

  it('reports a truncated file, a file that is no tar, and a tar without a manifest first', async () => {
    const good = await readFile(at('good.tar'))
    await writeFile(at('short.tar'), good.subarray(0, good.length - 1536))
    expect((await verifyBundle(at('short.tar'))).problems.map((p) => p.message)).toContainEqual(expect.stringMatching(/truncated/))
    await writeFile(at('text.tar'), Buffer.alloc(4096, 'x'))
    expect((await verifyBundle(at('text.tar'))).problems).toEqual([{ message: expect.stringMatching(/damaged tar header/) }])
    await writeTar(at('nomanifest.tar'), [[blobEntry(integrity), tgz]])
    expect((await verifyBundle(at('nomanifest.tar'))).problems).toEqual([{ message: expect.stringMatching(/not a sinopia-cli bundle/) }])
  })

  it('a missing file is an ENOBUNDLE error naming it', async () => {
    await expect(verifyBundle(at('nowhere.tar'))).rejects.toMatchObject({ code: 'ENOBUNDLE', message: expect.stringContaining('nowhere.tar') })
  })

  it('refuses a manifest whose version integrity is not one sha512', async () => {
    const sha1 = `sha1-${createHash('sha1').update(tgz).digest('base64')}`
    await writeTar(at('sha1.tar'), [['manifest.json', manifest((m) => m.packages[0]?.versions[0] && (m.packages[0].versions[0].integrity = sha1))], [blobEntry(integrity), tgz]])
    expect((await verifyBundle(at('sha1.tar'))).problems).toEqual([{ message: expect.stringMatching(/single sha512 integrity/) }])
  })

  it('refuses another format version', async () => {
    await writeTar(at('v2.tar'), [['manifest.json', manifest((m) => (m.format = 2))], [blobEntry(integrity), tgz]])
    expect((await verifyBundle(at('v2.tar'))).problems).toEqual([{ message: 'the bundle has format 2; this version reads format 1' }])
  })

  it('names the package whose tarball is missing, or whose packument disagrees with the manifest', async () => {
    await writeTar(at('missing.tar'), [['manifest.json', manifest()]])
    expect((await verifyBundle(at('missing.tar'))).problems).toEqual([{ package: 'p@1.0.0', message: expect.stringMatching(/not in the bundle/) }])
    const other = `sha512-${createHash('sha512').update('other').digest('base64')}`
    const lying = manifest((m) => {
      const version = m.packages[0]?.packument.versions['1.0.0']
      if (version) version.dist = { integrity: other }
    })
    await writeTar(at('lying.tar'), [['manifest.json', lying], [blobEntry(integrity), tgz]])
    expect((await verifyBundle(at('lying.tar'))).problems).toEqual([{ package: 'p@1.0.0', message: `its packument says ${other}, the manifest ${integrity}` }])
  })

  it('checks a shasum the packument gives besides its integrity', async () => {
    const wrong = manifest((m) => {
      const version = m.packages[0]?.packument.versions['1.0.0']
      if (version) version.dist = { integrity, shasum: '0'.repeat(40) }
    })
    await writeTar(at('shasum.tar'), [['manifest.json', wrong], [blobEntry(integrity), tgz]])
    expect((await verifyBundle(at('shasum.tar'))).problems).toEqual([{ package: 'p@1.0.0', message: expect.stringMatching(/shasum 0+ does not match/) }])
    const right = manifest((m) => {
      const version = m.packages[0]?.packument.versions['1.0.0']
      if (version) version.dist = { integrity, shasum: createHash('sha1').update(tgz).digest('hex') }
    })
    await writeTar(at('shasum-ok.tar'), [['manifest.json', right], [blobEntry(integrity), tgz]])
    expect((await verifyBundle(at('shasum-ok.tar'))).ok).toBe(true)
  })

  it('reports entries that do not belong', async () => {
    await writeTar(at('extra.tar'), [['manifest.json', manifest()], [blobEntry(integrity), tgz], ['notes.txt', Buffer.from('hi')]])
    expect((await verifyBundle(at('extra.tar'))).problems).toEqual([{ message: 'unexpected entry notes.txt' }])
  })

  it('checks attestation entries the manifest lists: present, with the digest it gives', async () => {
    const proof = Buffer.from('{"attestations":[]}')
    const proofIntegrity = `sha512-${createHash('sha512').update(proof).digest('base64')}`
    const attested = manifest((m) => {
      const version = m.packages[0]?.versions[0]
      if (version) version.attestations = { integrity: proofIntegrity, size: proof.length }
    })
    await writeTar(at('attested.tar'), [['manifest.json', attested], ['attestations/p@1.0.0.json', proof], [blobEntry(integrity), tgz]])
    expect(await verifyBundle(at('attested.tar'))).toMatchObject({ ok: true, problems: [] })
    await writeTar(at('attested-missing.tar'), [['manifest.json', attested], [blobEntry(integrity), tgz]])
    expect((await verifyBundle(at('attested-missing.tar'))).problems).toEqual([{ package: 'p@1.0.0', message: expect.stringMatching(/attestations .* are not in the bundle/) }])
    await writeTar(at('attested-other.tar'), [['manifest.json', attested], ['attestations/p@1.0.0.json', Buffer.from('{"attestations":[1]}')], [blobEntry(integrity), tgz]])
    expect((await verifyBundle(at('attested-other.tar'))).problems).toEqual([{ package: 'p@1.0.0', message: expect.stringMatching(/do not hash/) }])
    // An attestations entry the manifest does not list is not part of a bundle.
    await writeTar(at('attested-unlisted.tar'), [['manifest.json', manifest()], ['attestations/p@1.0.0.json', proof], [blobEntry(integrity), tgz]])
    expect((await verifyBundle(at('attested-unlisted.tar'))).problems).toEqual([{ message: 'unexpected entry attestations/p@1.0.0.json' }])
  })
})

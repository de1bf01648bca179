import { describe, expect, it } from 'vitest'
import { isPublishBody, parseEdit, parsePublish, parseTagVersion, tarballVersion } from '../../../src/core/registry/publish-body.js'
import { buildPackage } from '../../helpers/packages.js'
import { publishBody } from '../../helpers/publish.js'
import { rejection, thrownBy } from '../../helpers/errors.js'

const limits = { maxUnpackedSize: 1024 * 1024, maxManifestSize: 1024 * 1024, maxJsonDepth: 100 }

describe('parsePublish', () => {
  it('turns an npm publish body into versions ready to store, tags, readme and description', async () => {
    const pkg = await buildPackage({ name: 'parsed', version: '1.2.3' })
    const body = publishBody(pkg, 'next')
    const versions = body.versions as Record<string, { dist: Record<string, unknown> }>
    delete versions['1.2.3']!.dist.shasum
    const command = await parsePublish('parsed', body, limits)
    expect(command.tags).toEqual(new Map([['next', '1.2.3']]))
    expect(command.description).toBe('parsed published in a test')
    expect(command.readme).toBeUndefined()
    expect(command.versions).toHaveLength(1)
    const [version] = command.versions
    expect(version?.bytes.equals(pkg.tarball)).toBe(true)
    expect(version?.manifest).toMatchObject({ _id: 'parsed@1.2.3', dist: { integrity: pkg.manifest.dist.integrity, shasum: pkg.manifest.dist.shasum } })
  })

  it('refuses a body for another name, and one whose tarball does not match', async () => {
    const pkg = await buildPackage({ name: 'parsed', version: '1.0.0' })
    expect(await rejection(parsePublish('other', publishBody(pkg), limits))).toMatchObject({ code: 'EBADPUBLISH', status: 400 })
    const body = publishBody(pkg)
    ;(body._attachments as Record<string, { data: string }>)['parsed-1.0.0.tgz']!.data = Buffer.from('not the tarball').toString('base64')
    expect(await rejection(parsePublish('parsed', body, limits))).toMatchObject({ status: 400 })
  })
})

describe('parseEdit', () => {
  it('keeps what the body says: deprecations ("" undeprecates, absent leaves alone), revision, stars, maintainers', () => {
    const command = parseEdit(
      {
        _rev: '3-local',
        versions: { '1.0.0': { deprecated: 'old' }, '1.1.0': { deprecated: '' }, '1.2.0': {}, '1.3.0': { deprecated: 7 } },
        users: { alice: true, bob: false },
        maintainers: [{ name: 'alice', email: 'a@example.org', extra: 1 }, { email: 'nameless@example.org' }, null, { name: 'bob' }],
      },
      undefined,
    )
    expect(command).toEqual({
      versions: { '1.0.0': { deprecated: 'old' }, '1.1.0': { deprecated: '' }, '1.2.0': {}, '1.3.0': { deprecated: '' } },
      rev: '3-local',
      stars: new Set(['alice']),
      maintainers: [{ name: 'alice', email: 'a@example.org' }, { name: 'bob' }],
    })
  })

  it('takes the revision of the URL over the body’s; a body of only maintainers lists no versions', () => {
    expect(parseEdit({ _rev: '1-a', maintainers: [] }, '2-b')).toEqual({ rev: '2-b', maintainers: [] })
  })

  it('refuses versions that are not objects', () => {
    expect(() => parseEdit({ versions: [] })).toThrow(expect.objectContaining({ code: 'EBADPUBLISH' }))
    expect(() => parseEdit({ versions: { '1.0.0': 'x' } })).toThrow(expect.objectContaining({ code: 'EBADPUBLISH' }))
  })
})

describe('the other write bodies', () => {
  it('a body publishes when it has attachments', () => {
    expect(isPublishBody({ _attachments: { 'a-1.0.0.tgz': {} } })).toBe(true)
    expect(isPublishBody({ _attachments: {} })).toBe(false)
    expect(isPublishBody({ _attachments: null })).toBe(false)
    expect(isPublishBody({ versions: {} })).toBe(false)
  })

  it('dist-tag add takes a JSON string', () => {
    expect(parseTagVersion('1.0.0')).toBe('1.0.0')
    expect(thrownBy(() => parseTagVersion({ version: '1.0.0' }))).toMatchObject({ code: 'EBADTAG', status: 400 })
  })

  it('the version of a tarball file, scoped or not', () => {
    expect(tarballVersion('@acme/widget', 'widget-1.0.0-rc.1.tgz')).toBe('1.0.0-rc.1')
    expect(tarballVersion('plain', 'plain-2.0.0.tgz')).toBe('2.0.0')
    expect(() => tarballVersion('plain', 'other-2.0.0.tgz')).toThrow(expect.objectContaining({ code: 'EBADPATH' }))
  })
})

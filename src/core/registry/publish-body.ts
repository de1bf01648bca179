import semver from 'semver'
import { SinopiaError, badRequest } from '../errors.js'
import type { LocalDoc, Manifest } from '../store/index.js'
import { digest, matchesIntegrity } from './digests.js'
import { manifestMismatch } from './manifest-match.js'
import { printable, tarballFile } from './names.js'
import { readTarballContents, type TarballLimits } from './tarball-manifest.js'
import { assertCleanVersion, assertTag } from './tags.js'

/**
 * The bodies of package writes, parsed into typed commands before anything is read from or
 * written to the store. Nothing here does I/O: digests and the tarball's own package.json are
 * computed from the bytes of the request. The domain (publish.ts) applies the commands.
 */

/** The body of `npm publish` (PUT /:name): a packument with new versions and their tarballs. */
export interface PublishBody {
  name?: unknown
  _id?: unknown
  _rev?: unknown
  'dist-tags'?: unknown
  versions?: unknown
  _attachments?: unknown
  readme?: unknown
  description?: unknown
  maintainers?: unknown
  users?: unknown
}

export type PublishLimits = TarballLimits

/** One version of a publish, checked against its tarball. */
export interface NewVersion {
  version: string
  /** As it is stored: the body's manifest with `_id`, and `dist` completed from the bytes. */
  manifest: Manifest
  bytes: Buffer
  /** sha512 of `bytes`: what the tarball is stored under. */
  integrity: string
}

/** npm publish: new versions with their tarballs, the tags that name them, readme and description. */
export interface PublishCommand {
  versions: NewVersion[]
  tags: Map<string, string>
  readme?: string
  description?: string
}

/**
 * A PUT without attachments, as the client sent it (Publisher.plan compares it with what is
 * served): npm deprecate, the first step of unpublishing one version, npm star, npm owner.
 */
export interface EditCommand {
  /** Every version the body lists, with the deprecation message it sets ('' undeprecates; absent: unchanged). Absent: the body lists none. */
  versions?: Record<string, { deprecated?: string }>
  /** The revision the client read (`/-rev/:rev` or the body's `_rev`). */
  rev?: string
  /** Who the body says starred the package; absent when the body has no `users`. */
  stars?: ReadonlySet<string>
  maintainers?: LocalDoc['maintainers']
}

/** A body with attachments publishes; any other PUT edits. Cheap, so the route can authorize before the costly checks. */
export function isPublishBody(body: PublishBody): boolean {
  return body._attachments !== null && typeof body._attachments === 'object' && Object.keys(body._attachments).length > 0
}

export function asPublishBody(body: unknown): PublishBody {
  if (!body || typeof body !== 'object') throw badRequest('expected a package document', 'EBADPUBLISH')
  return body
}

/**
 * npm publish: every version, tag and tarball in the body checked (see parseVersions), before
 * the domain looks at what is stored.
 */
export async function parsePublish(name: string, body: PublishBody, limits: PublishLimits): Promise<PublishCommand> {
  if (body.name !== undefined && body.name !== name) throw badRequest(`document is for ${printable(typeof body.name === 'string' ? body.name : JSON.stringify(body.name))}, not ${name}`, 'EBADPUBLISH')
  const tags = parseTags(body['dist-tags'])
  const versions = await parseVersions(name, body, limits)
  return {
    versions,
    tags,
    ...(typeof body.readme === 'string' ? { readme: body.readme } : {}),
    ...(typeof body.description === 'string' ? { description: body.description } : {}),
  }
}

/** A PUT without attachments; `urlRev` is the revision in `/-rev/:rev`, if any. */
export function parseEdit(body: PublishBody, urlRev?: string): EditCommand {
  const command: EditCommand = {}
  if (body.versions !== undefined) {
    const versions: NonNullable<EditCommand['versions']> = {}
    for (const [version, raw] of Object.entries(asObject(body.versions, 'versions'))) {
      const manifest = asObject(raw, `versions["${version}"]`)
      // npm sends "" to undeprecate; a manifest without the field changes nothing.
      versions[version] = 'deprecated' in manifest ? { deprecated: typeof manifest.deprecated === 'string' ? manifest.deprecated : '' } : {}
    }
    command.versions = versions
  }
  const rev = urlRev ?? (typeof body._rev === 'string' ? body._rev : undefined)
  if (rev !== undefined) command.rev = rev
  if (body.users && typeof body.users === 'object') {
    command.stars = new Set(Object.entries(body.users).filter(([, starred]) => starred === true).map(([user]) => user))
  }
  if (Array.isArray(body.maintainers)) {
    command.maintainers = (body.maintainers as Array<{ name?: unknown; email?: unknown } | null>)
      .filter((m) => typeof m?.name === 'string')
      .map((m) => ({ name: String(m?.name), ...(typeof m?.email === 'string' ? { email: m.email } : {}) }))
  }
  return command
}

/** The body of `npm dist-tag add`: the version, as a JSON string. */
export function parseTagVersion(body: unknown): string {
  if (typeof body !== 'string') throw badRequest('the body must be a JSON string: the version to tag', 'EBADTAG')
  return body
}

/** The version in a tarball file name of `name` (the last step of npm's unpublish of one version). */
export function tarballVersion(name: string, file: string): string {
  const prefix = `${name.slice(name.lastIndexOf('/') + 1)}-`
  const version = file.startsWith(prefix) ? file.slice(prefix.length, -'.tgz'.length) : ''
  if (!semver.valid(version)) throw badRequest(`cannot tell the version of ${file}`, 'EBADPATH')
  return version
}

function asObject(value: unknown, what: string): Record<string, unknown> {
  if (!value || typeof value !== 'object' || Array.isArray(value)) throw badRequest(`${what} must be an object`, 'EBADPUBLISH')
  return value as Record<string, unknown>
}

/** The dist-tags of a publish body, each checked as the dist-tag route checks one. */
function parseTags(value: unknown): Map<string, string> {
  const tags = new Map<string, string>()
  if (value === undefined) return tags
  for (const [tag, version] of Object.entries(asObject(value, 'dist-tags'))) {
    assertTag(tag)
    if (typeof version !== 'string') throw badRequest(`dist-tag "${printable(tag)}" must name a version`, 'EBADTAG')
    tags.set(tag, version)
  }
  return tags
}

/**
 * Checks every attachment of a publish against its manifest: a clean version, base64 that
 * decodes, the declared length, sha512 integrity and sha1 shasum, and the tarball's own
 * package.json (the one npm installs): same name and version, and the same dependencies,
 * scripts and bins as the manifest declares.
 */
async function parseVersions(name: string, body: PublishBody, limits: PublishLimits): Promise<NewVersion[]> {
  const versions = asObject(body.versions, 'versions')
  const attachments = asObject(body._attachments, '_attachments')
  const byFile = new Map<string, string>()
  for (const version of Object.keys(versions)) {
    byFile.set(tarballFile(name, version), version)
    byFile.set(`${name}-${version}.tgz`, version)
  }
  const out: NewVersion[] = []
  for (const [file, raw] of Object.entries(attachments)) {
    // `npm publish --provenance` adds a sigstore bundle (JSON, not a tarball); it is not kept.
    if (file.endsWith('.sigstore')) continue
    const version = byFile.get(file)
    if (!version) throw badRequest(`attachment ${printable(file)} matches no version in the document`, 'EBADPUBLISH')
    assertCleanVersion(version)
    const manifest = asObject(versions[version], `versions["${version}"]`) as Manifest
    if (manifest.version !== version || manifest.name !== name) {
      throw badRequest(`manifest of ${printable(file)} must have name "${name}" and version "${version}"`, 'EBADPUBLISH')
    }
    const bytes = attachmentBytes(file, asObject(raw, `_attachments["${file}"]`))
    const dist = manifest.dist ?? {}
    if (typeof dist.integrity !== 'string' && typeof dist.shasum !== 'string') {
      throw badRequest(`${name}@${version} has neither dist.integrity nor dist.shasum`, 'EBADPUBLISH')
    }
    const sha512 = `sha512-${(await digest(bytes, 'sha512')).toString('base64')}`
    const sha1 = (await digest(bytes, 'sha1')).toString('hex')
    if (typeof dist.integrity === 'string' && !(await matchesIntegrity(bytes, dist.integrity))) {
      throw badRequest(`attachment ${printable(file)} does not match dist.integrity`, 'EPUBLISHINTEGRITY')
    }
    if (typeof dist.shasum === 'string' && sha1 !== dist.shasum.toLowerCase()) {
      throw badRequest(`attachment ${printable(file)} does not match dist.shasum`, 'EPUBLISHINTEGRITY')
    }
    const { manifest: inside, files } = await readTarballContents(bytes, limits)
    if (inside.name !== name || inside.version !== version) {
      throw badRequest(
        `the tarball holds ${printable(String(inside.name))}@${printable(String(inside.version))}, not ${name}@${version}`,
        'EBADPUBLISH',
      )
    }
    const field = manifestMismatch(manifest, inside, files)
    if (field) {
      throw new SinopiaError('EMANIFESTMISMATCH', `the tarball's package.json and the published manifest of ${name}@${version} differ in ${field}`, {
        hint: 'publish with npm, pnpm or yarn, which send the manifest of the package.json they pack',
      })
    }
    const stored = { ...manifest, _id: `${name}@${version}`, dist: { ...dist, integrity: dist.integrity ?? sha512, shasum: dist.shasum ?? sha1 } }
    out.push({ version, manifest: stored, bytes, integrity: sha512 })
  }
  if (out.length === 0) throw badRequest('a publish needs at least one attachment', 'EBADPUBLISH')
  return out
}

function attachmentBytes(file: string, attachment: Record<string, unknown>): Buffer {
  if (typeof attachment.data !== 'string' || !/^[A-Za-z0-9+/]*={0,2}$/.test(attachment.data)) {
    throw badRequest(`attachment ${printable(file)} is not base64 data`, 'EBADPUBLISH')
  }
  const bytes = Buffer.from(attachment.data, 'base64')
  if (typeof attachment.length === 'number' && attachment.length !== bytes.length) {
    throw badRequest(`attachment ${printable(file)} is ${bytes.length} bytes, not the ${attachment.length} declared`, 'EBADPUBLISH')
  }
  return bytes
}

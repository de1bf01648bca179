import { createHash } from 'node:crypto'
import semver from 'semver'
import ssri from 'ssri'
import { SinopiaError, badRequest } from '../errors.js'
import { tarballKey, type LocalDoc, type Manifest, type Packument, type Store } from '../store/index.js'
import { emptyLocal } from './merge.js'
import { printable, tarballFile } from './names.js'
import type { Packuments } from './packuments.js'
import { readTarballManifest } from './tarball-manifest.js'

/** The body of `npm publish` (PUT /:name): a packument with new versions and their tarballs. */
export interface PublishBody {
  name?: unknown
  _id?: unknown
  'dist-tags'?: unknown
  versions?: unknown
  _attachments?: unknown
  readme?: unknown
  description?: unknown
  maintainers?: unknown
  users?: unknown
}

interface Attachment {
  version: string
  manifest: Manifest
  bytes: Buffer
  integrity: string
}

const conflict = (message: string) => new SinopiaError('EPUBLISHCONFLICT', message, { status: 409 })

function asObject(value: unknown, what: string): Record<string, unknown> {
  if (!value || typeof value !== 'object' || Array.isArray(value)) throw badRequest(`${what} must be an object`, 'EBADPUBLISH')
  return value as Record<string, unknown>
}

/**
 * Checks every attachment of a publish against its manifest before anything is written:
 * base64 that decodes, the declared length, sha512 integrity and sha1 shasum, and the
 * name and version in the tarball's own package.json.
 */
export async function checkAttachments(name: string, body: PublishBody): Promise<Attachment[]> {
  const versions = asObject(body.versions, 'versions')
  const attachments = asObject(body._attachments, '_attachments')
  const byFile = new Map<string, string>()
  for (const version of Object.keys(versions)) {
    byFile.set(tarballFile(name, version), version)
    byFile.set(`${name}-${version}.tgz`, version)
  }
  const out: Attachment[] = []
  for (const [file, raw] of Object.entries(attachments)) {
    const version = byFile.get(file)
    if (!version) throw badRequest(`attachment ${printable(file)} matches no version in the document`, 'EBADPUBLISH')
    const manifest = asObject(versions[version], `versions["${version}"]`) as Manifest
    if (!semver.valid(version) || manifest.version !== version || manifest.name !== name) {
      throw badRequest(`manifest of ${printable(file)} must have name "${name}" and version "${version}"`, 'EBADPUBLISH')
    }
    const attachment = asObject(raw, `_attachments["${file}"]`)
    if (typeof attachment.data !== 'string' || !/^[A-Za-z0-9+/]*={0,2}$/.test(attachment.data)) {
      throw badRequest(`attachment ${printable(file)} is not base64 data`, 'EBADPUBLISH')
    }
    const bytes = Buffer.from(attachment.data, 'base64')
    if (typeof attachment.length === 'number' && attachment.length !== bytes.length) {
      throw badRequest(`attachment ${printable(file)} is ${bytes.length} bytes, not the ${attachment.length} declared`, 'EBADPUBLISH')
    }
    const dist = manifest.dist ?? {}
    if (typeof dist.integrity !== 'string' && typeof dist.shasum !== 'string') {
      throw badRequest(`${name}@${version} has neither dist.integrity nor dist.shasum`, 'EBADPUBLISH')
    }
    const sha512 = ssri.fromData(bytes, { algorithms: ['sha512'] }).toString()
    if (typeof dist.integrity === 'string' && !ssri.checkData(bytes, dist.integrity)) {
      throw badRequest(`attachment ${printable(file)} does not match dist.integrity`, 'EINTEGRITY')
    }
    if (typeof dist.shasum === 'string' && createHash('sha1').update(bytes).digest('hex') !== dist.shasum.toLowerCase()) {
      throw badRequest(`attachment ${printable(file)} does not match dist.shasum`, 'EINTEGRITY')
    }
    const inside = await readTarballManifest(bytes)
    if (inside.name !== name || inside.version !== version) {
      throw badRequest(
        `the tarball holds ${printable(String(inside.name))}@${printable(String(inside.version))}, not ${name}@${version}`,
        'EBADPUBLISH',
      )
    }
    out.push({ version, manifest, bytes, integrity: sha512 })
  }
  if (out.length === 0) throw badRequest('a publish needs at least one attachment', 'EBADPUBLISH')
  return out
}

/** Writes to what was published here. Every change holds the package's lock from read to write. */
export class Publisher {
  constructor(
    private readonly store: Store,
    private readonly packuments: Packuments,
    private readonly now: () => Date = () => new Date(),
  ) {}

  /** npm publish: stores the tarballs (verified), then adds the versions; 409 for an existing version. */
  async publish(name: string, body: PublishBody, publisher: string): Promise<string[]> {
    if (body.name !== undefined && body.name !== name) throw badRequest(`document is for ${printable(String(body.name))}, not ${name}`, 'EBADPUBLISH')
    const attachments = await checkAttachments(name, body)
    const existing = (await this.packuments.local(name, true))?.doc
    for (const a of attachments) {
      if (existing?.versions[a.version]) throw conflict(`cannot publish over the previously published version ${name}@${a.version}`)
    }
    // Blobs first: a version is never visible before its bytes are.
    for (const a of attachments) {
      const write = this.store.blobs.write(tarballKey(name, a.version), a.integrity, a.bytes.length)
      write.stream.end(a.bytes)
      await write.done
    }
    const tags = body['dist-tags'] && typeof body['dist-tags'] === 'object' ? (body['dist-tags'] as Record<string, unknown>) : {}
    await this.change(name, async (current) => {
      const doc = current ?? emptyLocal((await this.knownUpstream(name)) ? 'override' : 'local-only')
      const at = this.now().toISOString()
      for (const a of attachments) {
        // The lock makes this the real check: of N concurrent publishes of one version, one gets here first.
        if (doc.versions[a.version]) throw conflict(`cannot publish over the previously published version ${name}@${a.version}`)
        doc.versions[a.version] = storedManifest(name, a)
        doc.time[a.version] = at
      }
      for (const [tag, version] of Object.entries(tags)) {
        if (typeof version === 'string' && doc.versions[version]) {
          doc['dist-tags'][tag] = version
          doc.removedTags = doc.removedTags.filter((t) => t !== tag)
        }
      }
      doc.time.created ??= at
      doc.time.modified = at
      if (typeof body.readme === 'string') doc.readme = body.readme
      if (typeof body.description === 'string') doc.description = body.description
      const maintainers = doc.maintainers ?? []
      if (!maintainers.some((m) => m.name === publisher)) doc.maintainers = [...maintainers, { name: publisher }]
      return doc
    })
    return attachments.map((a) => a.version)
  }

  /**
   * A PUT without attachments: npm deprecate (versions' `deprecated` changed), the first step
   * of unpublishing one version (versions missing), npm star (`users`), npm owner (`maintainers`).
   * Returns what changed so the route can check the matching permission first via `plan`.
   */
  async plan(name: string, body: PublishBody): Promise<{ removed: string[]; deprecations: Record<string, string>; users?: Record<string, boolean>; maintainers?: LocalDoc['maintainers'] }> {
    const current = await this.served(name)
    if (!current) throw new SinopiaError('ENOTFOUND', `package ${printable(name)} not found`, { status: 404 })
    // npm owner sends only {_id, _rev, maintainers}: a body without `versions` changes no
    // version. Only a document that lists versions can remove some by leaving them out.
    const versions = body.versions === undefined ? current.versions : asObject(body.versions, 'versions')
    const added = Object.keys(versions).filter((v) => !current.versions[v])
    if (added.length > 0) throw badRequest(`new versions (${added.map(printable).join(', ')}) need their tarballs attached`, 'EBADPUBLISH')
    const removed = Object.keys(current.versions).filter((v) => !(v in versions))
    const deprecations: Record<string, string> = {}
    for (const [version, raw] of Object.entries(versions)) {
      const manifest = asObject(raw, `versions["${version}"]`)
      const before = current.versions[version]?.deprecated ?? ''
      const after = typeof manifest.deprecated === 'string' ? manifest.deprecated : ''
      if (before !== after) deprecations[version] = after
    }
    const plan: Awaited<ReturnType<Publisher['plan']>> = { removed, deprecations }
    if (body.users && typeof body.users === 'object' && JSON.stringify(body.users) !== JSON.stringify(current.users ?? {})) {
      plan.users = body.users as Record<string, boolean>
    }
    if (Array.isArray(body.maintainers) && JSON.stringify(body.maintainers) !== JSON.stringify(current.maintainers ?? [])) {
      plan.maintainers = (body.maintainers as Array<{ name?: unknown; email?: unknown }>)
        .filter((m) => typeof m?.name === 'string')
        .map((m) => ({ name: String(m.name), ...(typeof m.email === 'string' ? { email: m.email } : {}) }))
    }
    return plan
  }

  async apply(name: string, plan: Awaited<ReturnType<Publisher['plan']>>): Promise<void> {
    await this.change(name, async (current) => {
      const doc = current ?? emptyLocal('override')
      for (const version of plan.removed) {
        if (!doc.versions[version]) {
          throw new SinopiaError('EFORBIDDEN', `${name}@${version} comes from the uplink and cannot be unpublished here`, { status: 403 })
        }
        delete doc.versions[version]
        delete doc.time[version]
      }
      for (const [version, message] of Object.entries(plan.deprecations)) {
        const own = doc.versions[version]
        if (own) {
          const copy = { ...own }
          if (message) copy.deprecated = message
          else delete copy.deprecated
          doc.versions[version] = copy
        } else doc.deprecated[version] = message
      }
      if (plan.users) doc.users = plan.users
      if (plan.maintainers) doc.maintainers = plan.maintainers
      doc.time.modified = this.now().toISOString()
      return doc
    })
  }

  /** npm unpublish of a whole package: what was published here goes; a cached uplink copy stays. */
  async removePackage(name: string): Promise<void> {
    let removed: LocalDoc | null = null
    await this.change(name, async (current) => {
      if (!current) throw new SinopiaError('ENOTFOUND', `nothing was published here as ${printable(name)}`, { status: 404 })
      removed = current
      return null
    })
    for (const version of Object.keys((removed as LocalDoc | null)?.versions ?? {})) await this.removeBlobIfUnused(name, version)
  }

  /** The last step of unpublishing one version: its tarball, once nothing refers to it. */
  async removeBlobIfUnused(name: string, version: string): Promise<void> {
    const doc = await this.packuments.document(name)
    if (doc?.versions[version]) return
    await this.store.blobs.remove(tarballKey(name, version), async (integrity) => {
      // Content-addressed: another version (here or from the uplink) may hold the same bytes.
      return Object.values(doc?.versions ?? {}).some((m) => m.dist?.integrity === integrity)
    })
  }

  async setTag(name: string, tag: string, version: string): Promise<void> {
    assertTag(tag)
    const doc = await this.served(name)
    if (!doc?.versions[version]) throw new SinopiaError('ENOTFOUND', `${printable(name)}@${printable(version)} not found`, { status: 404 })
    await this.change(name, async (current) => {
      const local = current ?? emptyLocal('override')
      local['dist-tags'][tag] = version
      local.removedTags = local.removedTags.filter((t) => t !== tag)
      local.time.modified = this.now().toISOString()
      return local
    })
  }

  async removeTag(name: string, tag: string): Promise<void> {
    assertTag(tag)
    if (tag === 'latest') throw badRequest('the latest tag cannot be removed', 'EBADTAG')
    const doc = await this.served(name)
    if (!doc?.['dist-tags']?.[tag]) throw new SinopiaError('ENOTFOUND', `${printable(name)} has no tag ${printable(tag)}`, { status: 404 })
    await this.change(name, async (current) => {
      const local = current ?? emptyLocal('override')
      delete local['dist-tags'][tag]
      if (!local.removedTags.includes(tag)) local.removedTags.push(tag)
      local.time.modified = this.now().toISOString()
      return local
    })
  }

  private async change(name: string, fn: (current: LocalDoc | null) => Promise<LocalDoc | null>): Promise<void> {
    await this.store.packages.withLock(name, async () => {
      const current = (await this.store.packages.readLocal(name))?.doc ?? null
      const next = await fn(current ? structuredClone(current) : null)
      if (next) next.revision = (current?.revision ?? 0) + 1
      await this.store.packages.writeLocal(name, next)
    })
    this.packuments.forget(name)
  }

  /** The document as served now, fetching the uplink's copy first if it was never fetched. */
  private async served(name: string): Promise<Packument | null> {
    await this.packuments.get(name).catch(() => undefined)
    return this.packuments.document(name)
  }

  /** Whether the uplink's copy of this name is already in the store (then a publish overrides it). */
  private async knownUpstream(name: string): Promise<boolean> {
    const loaded = await this.store.packages.readUpstream(name)
    return loaded !== null && Object.keys(loaded.record.doc.versions).length > 0
  }
}

function storedManifest(name: string, a: Attachment): Manifest {
  const dist = { ...a.manifest.dist, integrity: a.manifest.dist?.integrity ?? a.integrity }
  dist.shasum ??= createHash('sha1').update(a.bytes).digest('hex')
  return { ...a.manifest, _id: `${name}@${a.version}`, dist }
}

function assertTag(tag: string): void {
  if (!/^[A-Za-z][\w.-]{0,99}$/.test(tag) || semver.validRange(tag)) {
    throw badRequest(`invalid dist-tag "${printable(tag)}": tags start with a letter and must not be a version range`, 'EBADTAG')
  }
}

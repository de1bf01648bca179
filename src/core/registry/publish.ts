import semver from 'semver'
import { SinopiaError, badRequest } from '../errors.js'
import { sha512Of, tarballKey, type LocalDoc, type Packument, type StagedBlob, type Store } from '../store/index.js'
import { changesPackage, planEdit, type WritePlan } from './edit-plan.js'
import { emptyLocal } from './merge.js'
import { assertNewPackageName, printable } from './names.js'
import { assertMayChange, assertMayOverride, type Actor } from './ownership.js'
import type { Packuments } from './packuments.js'
import type { EditCommand, NewVersion, PublishCommand } from './publish-body.js'
import { assertTag } from './tags.js'

/** A tarball a publish stored before taking the lock (see Publisher.publish). */
interface Staged {
  version: string
  existed: boolean
  blob: StagedBlob
}

const conflict = (message: string) => new SinopiaError('EPUBLISHCONFLICT', message)

/** 409 unless `rev` is the revision of what is published here now (see Publisher.apply). */
function assertRevision(name: string, rev: string, current: LocalDoc | null): void {
  // Without a local document nothing was published here since the read (the client saw the
  // uplink's revision, which may look like ours when the uplink is another sinopia-cli).
  if (current === null) return
  const now = `${current.revision}-${current.origin}`
  if (rev !== now) throw conflict(`${printable(name)} changed since it was read (revision ${printable(rev)}, now ${now}): run the command again`)
}

/** A version with its build metadata left out: `1.0.0+abc` and `1.0.0` are one version to clients. */
const withoutBuild = (version: string) => semver.parse(version)?.version ?? version

/** Writes to what was published here. Every change holds the package's lock from read to write. */
export class Publisher {
  constructor(
    private readonly store: Store,
    private readonly packuments: Packuments,
    private readonly now: () => Date = () => new Date(),
  ) {}

  /**
   * npm publish of a parsed body (see parsePublish, which checked versions, tags and tarballs
   * against their manifests). The tarballs are stored first, verified and durable but served
   * under no key (Blobs.stage), so the package's lock covers only the document: under it, the
   * name of a new package, who may publish it (see ownership.ts) and whether a version exists
   * (409); only then are the tarballs' keys pointed at them, then the versions added. A publish
   * that fails drops the tarballs it stored (kept when something else refers to the same bytes):
   * no orphan blobs.
   */
  async publish(name: string, command: PublishCommand, actor: Actor): Promise<string[]> {
    const { versions: attachments, tags } = command
    const publisher = actor.user?.name ?? 'anonymous'
    const staged = await this.stageBlobs(name, attachments)
    const committed: string[] = []
    try {
      await this.change(name, async (current) => {
        // Asked only for a first publish here: once a local document exists its origin says it,
        // so a publish of the next version reads no uplink copy.
        const fromUplink = current ? current.origin === 'override' : await this.knownUpstream(name)
        if (current === null && !fromUplink) assertNewPackageName(name)
        assertMayChange(name, actor, current, 'publish')
        if (fromUplink && Object.keys(current?.versions ?? {}).length === 0) assertMayOverride(name, actor, 'publishing it here')
        if (fromUplink && tags.has('latest')) assertMayOverride(name, actor, 'moving its latest tag')
        const doc = current ?? emptyLocal(fromUplink ? 'override' : 'local-only')
        // The lock makes this the real check: of N concurrent publishes of one version, one gets here first.
        const published = new Set(Object.keys(doc.versions).map(withoutBuild))
        for (const a of attachments) {
          if (published.has(a.version)) throw conflict(`cannot publish over the previously published version ${name}@${a.version}`)
        }
        const at = this.now().toISOString()
        for (const a of attachments) {
          doc.versions[a.version] = a.manifest
          doc.time[a.version] = at
        }
        for (const [tag, version] of tags) {
          if (!Object.hasOwn(doc.versions, version)) throw badRequest(`dist-tag "${printable(tag)}" names ${printable(version)}, which is not published here`, 'EBADTAG')
          doc['dist-tags'][tag] = version
          doc.removedTags = doc.removedTags.filter((t) => t !== tag)
        }
        doc.time.created ??= at
        doc.time.modified = at
        if (command.readme !== undefined) doc.readme = command.readme
        if (command.description !== undefined) doc.description = command.description
        const maintainers = doc.maintainers ?? []
        if (!maintainers.some((m) => m.name === publisher)) doc.maintainers = [...maintainers, { name: publisher }]
        // Keys last, just before the document: a version is never visible before its bytes are.
        for (const s of staged) {
          await s.blob.commit()
          committed.push(s.version)
        }
        return doc
      })
    } catch (error) {
      // Every check came before the keys; what can fail after them is the document's write.
      await this.discardStaged(name, staged.filter((s) => !committed.includes(s.version)))
      for (const s of staged) if (committed.includes(s.version) && !s.existed) await this.removeBlobIfUnused(name, s.version)
      throw error
    }
    return attachments.map((a) => a.version)
  }

  /**
   * The one place a publish writes a tarball: verified against its integrity as it is
   * stored, served under no key until commit. `existed`: the key served these very bytes
   * already (the uplink's copy of the same version may hold the same content), so a failed
   * publish removes only what it added. One that fails here drops what the others stored.
   */
  private async stageBlobs(name: string, attachments: NewVersion[]): Promise<Staged[]> {
    const staged: Staged[] = []
    try {
      for (const a of attachments) {
        const key = tarballKey(name, a.version)
        const existed = await this.store.blobs.has(a.integrity, key)
        const write = this.store.blobs.stage(key, a.integrity, a.bytes.length)
        write.stream.end(a.bytes)
        staged.push({ version: a.version, existed, blob: await write.done })
      }
    } catch (error) {
      await this.discardStaged(name, staged)
      throw error
    }
    return staged
  }

  /**
   * Drops staged tarballs no version served now refers to, under the lock (see
   * removeBlobIfUnused). It runs while a publish fails, whose error is the one to report: bytes
   * a failed drop leaves (a disk gone read-only meanwhile) are an orphan, which prune removes.
   */
  private async discardStaged(name: string, staged: Staged[]): Promise<void> {
    if (staged.length === 0) return
    await this.store.packages
      .withLock(name, async () => {
        await this.packuments.local(name, true)
        const doc = await this.packuments.document(name)
        const inUse = (integrity: string) => Object.values(doc?.versions ?? {}).some((m) => sha512Of(m.dist?.integrity) === integrity)
        for (const s of staged) await s.blob.discard(inUse)
      })
      .catch(() => undefined)
  }

  /**
   * What a PUT without attachments changes, against the document served now (see planEdit).
   * Returns it so the route can check the matching permission before `apply`.
   */
  async plan(name: string, command: EditCommand, caller: string | null): Promise<WritePlan> {
    const current = await this.served(name)
    if (!current) throw new SinopiaError('ENOTFOUND', `package ${printable(name)} not found`)
    const local = (await this.packuments.local(name, true))?.doc ?? null
    return planEdit(name, command, current, local, caller)
  }

  /**
   * Applies a plan under the package's lock. Removals, deprecations and owner changes are
   * refused (409) when the package changed since the client read it: a version published in
   * between would otherwise look like one the client left out on purpose. A star changes only
   * the caller's own entry, so it needs no such check, nor a maintainer.
   */
  async apply(name: string, plan: WritePlan, actor: Actor): Promise<void> {
    const caller = actor.user?.name ?? null
    await this.change(name, (current) => {
      if (changesPackage(plan)) {
        assertMayChange(name, actor, current, 'publish')
        if (plan.removed.length > 0) assertMayChange(name, actor, current, 'unpublish')
        if (plan.rev !== undefined) assertRevision(name, plan.rev, current)
      }
      const doc = current ?? emptyLocal('override')
      for (const version of plan.removed) {
        if (!Object.hasOwn(doc.versions, version)) throw conflict(`${name}@${version} was unpublished meanwhile; run the command again`)
        delete doc.versions[version]
        delete doc.time[version]
        // A tag set here on a removed version would otherwise hide the uplink's tag of that name.
        for (const [tag, target] of Object.entries(doc['dist-tags'])) if (target === version) delete doc['dist-tags'][tag]
      }
      for (const [version, message] of Object.entries(plan.deprecations)) {
        const own = Object.hasOwn(doc.versions, version) ? doc.versions[version] : undefined
        if (own) {
          const copy = { ...own }
          if (message) copy.deprecated = message
          else delete copy.deprecated
          doc.versions[version] = copy
        } else doc.deprecated[version] = message
      }
      if (plan.star !== undefined && caller) {
        const users: Record<string, boolean> = { ...doc.users }
        if (plan.star) users[caller] = true
        else delete users[caller]
        doc.users = users
      }
      if (plan.maintainers) doc.maintainers = plan.maintainers
      doc.time.modified = this.now().toISOString()
      return doc
    })
  }

  /**
   * npm unpublish of a whole package: what was published here goes; a cached uplink copy
   * stays. A local-only name keeps a tombstone (no versions): it answers 404 and its uplink
   * is still never asked, so nobody can take the name over upstream (dependency confusion).
   * Its maintainers may publish the name again.
   */
  async removePackage(name: string, actor: Actor, rev?: string): Promise<void> {
    let removed: LocalDoc | null = null
    await this.change(name, async (current) => {
      assertMayChange(name, actor, current, 'unpublish')
      const published = current !== null && Object.keys(current.versions).length > 0
      if (!published) {
        // No versions here: only the uplink's copy (maybe with tags or deprecations set here) is served.
        if (await this.packuments.document(name)) {
          throw new SinopiaError('EFORBIDDEN', `${printable(name)} comes from the uplink: only what was published here can be unpublished`)
        }
        throw new SinopiaError('ENOTFOUND', `nothing was published here as ${printable(name)}`)
      }
      // npm unpublishes a package whose only version it saw this way: not one published since.
      if (rev !== undefined) assertRevision(name, rev, current)
      removed = current
      const at = this.now().toISOString()
      if (current.origin === 'local-only') {
        // The maintainers stay with the tombstone: publishing the name again is theirs.
        const tombstone: LocalDoc = { ...emptyLocal('local-only'), time: { ...(current.time.created ? { created: current.time.created } : {}), modified: at } }
        if (current.maintainers) tombstone.maintainers = current.maintainers
        return tombstone
      }
      // An override: its versions go, with the tags set on them. Deprecations and tag changes
      // made here on the uplink's versions stay (npm sends this DELETE by itself when the
      // version it unpublishes is the only one it saw, as in an offline read).
      const versions = new Set(Object.keys(current.versions))
      const tags = Object.fromEntries(Object.entries(current['dist-tags']).filter(([, version]) => !versions.has(version)))
      const overlays = Object.keys(tags).length > 0 || current.removedTags.length > 0 || Object.keys(current.deprecated).length > 0
      if (!overlays) return null
      const time = Object.fromEntries(Object.entries(current.time).filter(([key]) => !versions.has(key)))
      const { maintainers: _publishers, readme: _readme, description: _description, ...rest } = current
      return { ...rest, versions: {}, 'dist-tags': tags, time: { ...time, modified: at } }
    })
    for (const version of Object.keys((removed as LocalDoc | null)?.versions ?? {})) await this.removeBlobIfUnused(name, version)
  }

  /**
   * The last step of unpublishing one version: its tarball, once nothing refers to it. Under
   * the package's lock, so a publish of the same version cannot record it in between (and
   * a publish re-checks its blobs under the lock, see `publish`).
   */
  async removeBlobIfUnused(name: string, version: string): Promise<void> {
    await this.store.packages.withLock(name, async () => {
      // What was published here is read again under the lock, not taken from the one-second memo.
      await this.packuments.local(name, true)
      const doc = await this.packuments.document(name)
      if (doc && Object.hasOwn(doc.versions, version)) return
      await this.store.blobs.remove([tarballKey(name, version)], {
        // Content-addressed: another version (here or from the uplink) may hold the same bytes.
        inUse: (integrity) => Object.values(doc?.versions ?? {}).some((m) => m.dist?.integrity === integrity),
      })
    })
  }

  /**
   * npm dist-tag add. On a package published here, a maintainer's change; on an uplink's
   * package a local overlay, except `latest`, which moves what everybody installs (override).
   */
  async setTag(name: string, tag: string, version: string, actor: Actor): Promise<void> {
    assertTag(tag)
    const doc = await this.served(name)
    if (!doc || !Object.hasOwn(doc.versions, version)) throw new SinopiaError('ENOTFOUND', `${printable(name)}@${printable(version)} not found`)
    await this.change(name, (current) => {
      assertMayChange(name, actor, current, 'publish')
      if (tag === 'latest' && current?.origin !== 'local-only') assertMayOverride(name, actor, 'moving its latest tag')
      const local = current ?? emptyLocal('override')
      local['dist-tags'][tag] = version
      local.removedTags = local.removedTags.filter((t) => t !== tag)
      local.time.modified = this.now().toISOString()
      return local
    })
  }

  async removeTag(name: string, tag: string, actor: Actor): Promise<void> {
    assertTag(tag)
    if (tag === 'latest') throw badRequest('the latest tag cannot be removed', 'EBADTAG')
    const doc = await this.served(name)
    if (!doc?.['dist-tags'] || !Object.hasOwn(doc['dist-tags'], tag)) throw new SinopiaError('ENOTFOUND', `${printable(name)} has no tag ${printable(tag)}`)
    await this.change(name, (current) => {
      assertMayChange(name, actor, current, 'publish')
      const local = current ?? emptyLocal('override')
      delete local['dist-tags'][tag]
      if (!local.removedTags.includes(tag)) local.removedTags.push(tag)
      local.time.modified = this.now().toISOString()
      return local
    })
  }

  /** Changes queued behind one package's lock are written together (Packages.changeLocal). */
  private async change(name: string, fn: (current: LocalDoc | null) => LocalDoc | null | Promise<LocalDoc | null>): Promise<void> {
    await this.store.packages.changeLocal(name, fn)
    this.packuments.forget(name)
  }

  /** The document as served now, fetching the uplink's copy first if it was never fetched. */
  private async served(name: string): Promise<Packument | null> {
    await this.packuments.get(name).catch(unlessNotFound)
    const doc = await this.packuments.document(name)
    if (doc) return doc
    // Served from memory while its stored copy is gone (pruned): asking the uplink stores it again.
    await this.packuments.get(name, { fresh: true }).catch(unlessNotFound)
    return this.packuments.document(name)
  }

  /**
   * Whether this name is known from the uplink (then a publish overrides it): its copy is in
   * the store, or was, before `prune` dropped it and left fetched.json as the record of it.
   */
  private async knownUpstream(name: string): Promise<boolean> {
    const loaded = await this.store.packages.readUpstream(name)
    if (loaded) return Object.keys(loaded.record.doc.versions).length > 0
    return (await this.store.packages.readFetched(name)) !== null
  }
}

/** "Not found" from Packuments.get (its only not-found code) is an answer (nothing to fetch); any other failure is passed on. */
function unlessNotFound(error: unknown): void {
  if (!(error instanceof SinopiaError && error.code === 'ENOTFOUND')) throw error
}

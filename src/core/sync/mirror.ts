import npa from 'npm-package-arg'
import semver from 'semver'
import { notFound } from '../errors.js'
import { classifySpec, SKIP_REASONS } from '../lockfiles/index.js'
import type { Registry } from '../registry/index.js'
import { assertPackageName } from '../registry/names.js'
import { pickVersion, versionIndex, type VersionIndex } from '../registry/pick.js'
import { expectedIntegrity, type Manifest, type Packument } from '../store/index.js'
import { codeOf, messageOf, type PackageJob, type Syncer } from './sync.js'

export interface MirrorOptions {
  /** Every version a spec allows (a bare name: every version), not only the one it resolves to. */
  allVersions: boolean
  /** The transitive closure an install pulls: dependencies and optional dependencies (all platforms). */
  deps: boolean
  /** With `deps`: peer dependencies too (those not marked optional in peerDependenciesMeta). */
  peers: boolean
}

/** Of one version: what the syncer and the closure need, without holding on to the packument. */
interface VersionFacts {
  integrity?: string
  dependencies: Record<string, string>
}

interface PackageFacts {
  index: VersionIndex
  versions: Map<string, VersionFacts>
}

export interface MirrorRoot {
  spec: string
  versions: string[]
}

/**
 * Resolves mirror specs (and, with `deps`, their dependency closure) into packages for the syncer.
 * Resolution runs as jobs in the syncer's own queue, so packument fetches and tarball downloads
 * share one concurrency bound, and downloads start as soon as a version is known.
 */
export class MirrorResolver {
  readonly roots: MirrorRoot[] = []
  private readonly facts = new Map<string, Promise<PackageFacts>>()
  private readonly queued = new Set<string>()
  private readonly expanded = new Set<string>()
  private readonly skipped = new Set<string>()

  constructor(
    private readonly registry: Registry,
    private readonly syncer: Syncer,
    private readonly options: MirrorOptions,
  ) {}

  /** Queues `name`, `name@range`, `name@tag`, `@scope/name@version` (and `alias@npm:real@range`). */
  add(specs: string[]): void {
    for (const spec of specs) {
      let parsed: npa.Result
      try {
        parsed = npa(spec)
      } catch (error) {
        this.syncer.fail({ package: spec, code: 'EINVALIDSPEC', message: `invalid spec ${spec}: ${messageOf(error)}` })
        continue
      }
      const target = parsed.type === 'alias' ? (parsed as npa.AliasResult).subSpec : parsed
      if (!target.registry || !target.name || (target.type !== 'tag' && target.type !== 'version' && target.type !== 'range')) {
        this.syncer.fail({ package: spec, code: 'EINVALIDSPEC', message: `${spec} is a ${target.type} spec; mirror takes registry specs (name, name@range, name@tag)` })
        continue
      }
      this.resolve(target.name, target.type, target.fetchSpec ?? '*', { root: spec })
    }
  }

  private resolve(name: string, type: 'tag' | 'version' | 'range', range: string, via: { root?: string; parent?: string }): void {
    const key = `${name}\0${type}\0${range}\0${via.root ?? ''}`
    if (this.queued.has(key)) return
    this.queued.add(key)
    const label = `${name}@${range}`
    const job: PackageJob = {
      name,
      label,
      run: async () => {
        assertPackageName(name)
        const facts = await this.packageFacts(name)
        const versions = via.root && this.options.allVersions ? allowedVersions(facts.index, type, range) : [pickVersion(facts.index, range)].filter((v) => v !== null)
        if (versions.length === 0) throw notFound(`no version of ${name} matches ${range}${via.parent ? ` (wanted by ${via.parent})` : ''}`, 'ETARGET')
        if (via.root) this.roots.push({ spec: via.root, versions })
        this.syncer.add(versions.map((version) => ({ name, version, ...optional(facts.versions.get(version)?.integrity) })))
        if (!this.options.deps) return
        for (const version of versions) this.expand(name, version, facts.versions.get(version))
      },
      failed: (error) => this.syncer.fail({ package: via.root ?? label, code: codeOf(error), message: messageOf(error) }),
    }
    this.syncer.queue.push(job)
  }

  private expand(name: string, version: string, facts: VersionFacts | undefined): void {
    const id = `${name}@${version}`
    if (!facts || this.expanded.has(id)) return
    this.expanded.add(id)
    for (const [dep, spec] of Object.entries(facts.dependencies)) {
      const kind = classifySpec(dep, spec)
      if (kind.kind === 'registry') {
        this.resolve(kind.name, kind.type, kind.range, { parent: id })
      } else if (!this.skipped.has(`${dep}\0${spec}`)) {
        this.skipped.add(`${dep}\0${spec}`)
        this.syncer.skip([{ name: dep, spec, kind: kind.kind, reason: `${SKIP_REASONS[kind.kind]} (a dependency of ${id})` }])
      }
    }
  }

  /** Fetched (or revalidated) once per run; a failure is forgotten, so a retry asks again. */
  private packageFacts(name: string): Promise<PackageFacts> {
    let known = this.facts.get(name)
    if (!known) {
      known = (async () => {
        await this.registry.packuments.get(name)
        const doc = await this.registry.packuments.document(name)
        if (!doc) throw notFound(`package ${name} not found`)
        return factsOf(doc, this.options.peers)
      })()
      known.catch(() => this.facts.delete(name))
      this.facts.set(name, known)
    }
    return known
  }
}

/** --all-versions: every version of a bare name (`*`), every version in a range, the one version of a tag or an exact spec. */
function allowedVersions(index: VersionIndex, type: 'tag' | 'version' | 'range', range: string): string[] {
  const versions = Object.keys(index.versions)
  if (type === 'range' && (range.trim() === '' || range.trim() === '*')) return versions
  if (type === 'range') return versions.filter((version) => semver.satisfies(version, range, { loose: true }))
  const picked = pickVersion(index, range)
  return picked ? [picked] : []
}

function factsOf(doc: Packument, peers: boolean): PackageFacts {
  const versions = new Map<string, VersionFacts>()
  for (const [version, manifest] of Object.entries(doc.versions)) {
    versions.set(version, { ...optional(expectedIntegrity(manifest.dist) ?? undefined), dependencies: installedDependencies(manifest, peers) })
  }
  return { index: versionIndex(doc), versions }
}

/**
 * What `npm install` of this version pulls from a registry: dependencies and optional
 * dependencies (of every platform), peers when asked for, less the bundled ones, which come
 * inside the tarball.
 */
export function installedDependencies(manifest: Manifest, peers: boolean): Record<string, string> {
  const meta = (manifest.peerDependenciesMeta ?? {}) as Record<string, { optional?: boolean } | undefined>
  const peerDeps = peers ? Object.fromEntries(Object.entries(strings(manifest.peerDependencies)).filter(([name]) => meta[name]?.optional !== true)) : {}
  const all = { ...peerDeps, ...strings(manifest.dependencies), ...strings(manifest.optionalDependencies) }
  const bundled = manifest.bundleDependencies ?? manifest.bundledDependencies
  if (bundled === true) return peerDeps
  if (Array.isArray(bundled)) for (const name of bundled) if (typeof name === 'string') delete all[name]
  return all
}

function strings(value: unknown): Record<string, string> {
  if (!value || typeof value !== 'object' || Array.isArray(value)) return {}
  return Object.fromEntries(Object.entries(value).filter((entry): entry is [string, string] => typeof entry[1] === 'string'))
}

function optional(integrity: string | undefined): { integrity?: string } {
  return integrity ? { integrity } : {}
}

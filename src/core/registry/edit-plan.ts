import { SinopiaError, badRequest } from '../errors.js'
import type { LocalDoc, Packument } from '../store/index.js'
import { printable } from './names.js'
import type { EditCommand } from './publish-body.js'

/** What a PUT without attachments changes (see planEdit). */
export interface WritePlan {
  /** Versions published here that the body leaves out: unpublished. */
  removed: string[]
  /** Version -> new message ('' undeprecates). */
  deprecations: Record<string, string>
  /** The caller's own star: true to add, false to take back; absent when unchanged. */
  star?: boolean
  maintainers?: LocalDoc['maintainers']
  /** The revision the client read (`/-rev/:rev` or the body's `_rev`). */
  rev?: string
}

/**
 * Whether a plan changes the package itself (versions, deprecations, owners): that takes the
 * publish right and a check of the revision read. What else a plan holds is the caller's star.
 */
export function changesPackage(plan: WritePlan): boolean {
  return plan.removed.length > 0 || Object.keys(plan.deprecations).length > 0 || plan.maintainers !== undefined
}

/** A plan with nothing to do (npm star of a package already starred, npm owner add of an owner). */
export function isEmptyPlan(plan: WritePlan): boolean {
  return !changesPackage(plan) && plan.star === undefined
}

/**
 * What an edit changes, against `current` (the document served now) and `local` (what was
 * published here): versions the body leaves out (the first step of npm's unpublish of one
 * version), deprecations, the caller's star, the maintainers. `caller` is whose star counts.
 */
export function planEdit(name: string, command: EditCommand, current: Packument, local: LocalDoc | null, caller: string | null): WritePlan {
  // npm owner and npm star send only {_id, _rev, maintainers | users}: a body without
  // `versions` changes no version. Only a document that lists versions can remove some.
  const versions = command.versions ?? current.versions
  const added = Object.keys(versions).filter((v) => !Object.hasOwn(current.versions, v))
  if (added.length > 0) throw badRequest(`new versions (${added.map(printable).join(', ')}) need their tarballs attached`, 'EBADPUBLISH')
  // Versions the body leaves out. Only those published here can go; the uplink's may be
  // missing just because the client read an offline document (stored tarballs only).
  const missing = Object.keys(current.versions).filter((v) => !Object.hasOwn(versions, v))
  const publishedHere = (v: string) => local !== null && Object.hasOwn(local.versions, v)
  const deprecations: Record<string, string> = {}
  for (const [version, edit] of Object.entries(command.versions ?? {})) {
    if (edit.deprecated === undefined) continue
    const before = Object.hasOwn(current.versions, version) ? (current.versions[version]?.deprecated ?? '') : ''
    if (before !== edit.deprecated) deprecations[version] = edit.deprecated
  }
  const plan: WritePlan = { removed: missing.filter(publishedHere), deprecations }
  if (command.rev !== undefined) plan.rev = command.rev
  if (caller && command.stars) {
    const wants = command.stars.has(caller)
    const users = (current.users ?? {}) as Record<string, unknown>
    if (wants !== (users[caller] === true)) plan.star = wants
  }
  if (command.maintainers && JSON.stringify(command.maintainers) !== JSON.stringify(current.maintainers ?? [])) plan.maintainers = command.maintainers
  const uplinkOnly = missing.find((v) => !publishedHere(v))
  if (isEmptyPlan(plan) && uplinkOnly !== undefined) {
    throw new SinopiaError('EFORBIDDEN', `${name}@${uplinkOnly} comes from the uplink and cannot be unpublished here`)
  }
  return plan
}

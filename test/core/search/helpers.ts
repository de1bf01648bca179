import path from 'node:path'
import { Users } from '../../../src/core/auth/index.js'
import { KeyedLock } from '../../../src/core/fs/lock.js'
import { type Packument } from '../../../src/core/store/index.js'
import { summarize, type Origin, type PackageSummary } from '../../../src/core/search/index.js'
import { buildPackage, type BuiltPackage, type PackageSpec } from '../../helpers/packages.js'
import type { Harness } from '../server/harness.js'

/** A packument with one version per entry of `versions` (the last one latest), fields set on each version. */
export function packument(name: string, fields: Record<string, unknown> = {}, versions = ['1.0.0']): Packument {
  const doc: Packument = { name, 'dist-tags': { latest: versions.at(-1) as string }, versions: {}, time: {} }
  versions.forEach((version, i) => {
    doc.versions[version] = { name, version, ...fields }
    ;(doc.time as Record<string, string>)[version] = new Date(Date.UTC(2024, 0, 1 + i)).toISOString()
  })
  return doc
}

export function summary(name: string, fields: Record<string, unknown> = {}, origin: Origin = 'cached', versions?: string[]): PackageSummary {
  const out = summarize(name, packument(name, fields, versions), origin)
  if (!out) throw new Error(`no summary for ${name}`)
  return out
}

/** The body `npm publish` sends for one built package (readme and extra top-level fields optional). */
export function publishBody(pkg: BuiltPackage, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    _id: pkg.name,
    name: pkg.name,
    description: typeof pkg.manifest.description === 'string' ? pkg.manifest.description : undefined,
    'dist-tags': { latest: pkg.version },
    versions: { [pkg.version]: { ...pkg.manifest, _id: `${pkg.name}@${pkg.version}`, dist: { ...pkg.manifest.dist, tarball: `http://ignored/${pkg.name}/-/${pkg.filename}` } } },
    _attachments: { [`${pkg.name}-${pkg.version}.tgz`]: { content_type: 'application/octet-stream', data: pkg.tarball.toString('base64'), length: pkg.tarball.length } },
    ...extra,
  }
}

export const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`

/** Users alice and bob (passwords `alice-pw`, `bob-pw`) in the harness's htpasswd file. */
export async function addUsers(h: Harness): Promise<void> {
  const users = new Users(path.join(h.dir, 'htpasswd'), Infinity, new KeyedLock())
  await users.add('alice', 'alice-pw')
  await users.add('bob', 'bob-pw')
}

/** Publishes `name@version` as alice; throws unless 201. */
export async function publish(h: Harness, spec: PackageSpec, extra: Record<string, unknown> = {}, auth = basic('alice', 'alice-pw')): Promise<BuiltPackage> {
  const pkg = await buildPackage(spec)
  const res = await fetch(`${h.url}${spec.name.replace('/', '%2f')}`, {
    method: 'PUT',
    headers: { 'content-type': 'application/json', authorization: auth },
    body: JSON.stringify(publishBody(pkg, extra)),
  })
  if (res.status !== 201) throw new Error(`publish ${spec.name}@${spec.version}: ${res.status} ${await res.text()}`)
  return pkg
}

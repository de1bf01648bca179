/**
 * Typed reads of the server's JSON answers. fetch types a body as `any`; these name the fields the
 * tests read. They check only that the answer is a JSON object: the tests' assertions check the rest.
 */

/** A version in a served packument, with the fields tests read or change. */
export interface ServedVersion {
  name: string
  version: string
  deprecated?: string
  dist: { tarball: string; integrity?: string; shasum?: string }
  [field: string]: unknown
}

/** A packument as served (full or abbreviated), with the fields tests read or change. */
export interface ServedDoc {
  _id: string
  _rev: string
  name: string
  'dist-tags': Record<string, string>
  versions: Record<string, ServedVersion>
  time: Record<string, string>
  maintainers: Array<{ name: string; email?: string }>
  users?: Record<string, boolean>
  readme?: string
  modified?: string
}

interface JsonBody {
  json(): Promise<unknown>
}

/** The body as a JSON object; throws (failing the test) on anything else. */
export async function jsonObject(res: JsonBody): Promise<Record<string, unknown>> {
  const body: unknown = await res.json()
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new Error(`expected a JSON object, got ${JSON.stringify(body)}`)
  return body as Record<string, unknown>
}

export async function docOf(res: JsonBody): Promise<ServedDoc> {
  return (await jsonObject(res)) as unknown as ServedDoc
}

export async function versionOf(res: JsonBody): Promise<ServedVersion> {
  return (await jsonObject(res)) as unknown as ServedVersion
}

/** The `error` of an error answer (`{"error": "..."}`); throws when there is none. */
export async function errorOf(res: JsonBody): Promise<string> {
  const { error } = await jsonObject(res)
  if (typeof error !== 'string') throw new Error(`expected {"error": "..."}, got error: ${JSON.stringify(error)}`)
  return error
}

/** A version that must be in the document (to change it before a PUT). */
export function versionIn(doc: ServedDoc, version: string): ServedVersion {
  const found = doc.versions[version]
  if (!found) throw new Error(`${doc.name} has no version ${version}`)
  return found
}

import { createHash } from 'node:crypto'
import { SinopiaError } from '../errors.js'
import type { Registry } from '../registry/index.js'
import { attestationsKey, type Manifest } from '../store/index.js'

/** What a bundle carries of a version's attestations: the bytes, and their sha512. */
export interface Attestations {
  bytes: Buffer
  integrity: string
}

/**
 * The uplink's attestations for a version whose packument points at some (`dist.attestations`):
 * from the store when it holds them, else fetched through the upstream client from the uplink the
 * package came from (`GET -/npm/v1/attestations/<name>@<version>`) and stored, so the next bundle
 * carries the same bytes. Null when the packument points at none, no configured uplink can be
 * asked, or the uplink has none (404); any other answer is an error naming the status.
 */
export async function attestationsOf(registry: Registry, name: string, version: string, manifest: Manifest, uplink: string | undefined): Promise<Attestations | null> {
  const pointer = (manifest.dist as { attestations?: unknown } | undefined)?.attestations
  if (!pointer || typeof pointer !== 'object') return null
  const key = attestationsKey(name, version)
  const stored = await registry.store.blobs.open(undefined, key)
  if (stored) {
    try {
      return { bytes: await stored.handle.readFile(), integrity: stored.integrity }
    } finally {
      await stored.handle.close()
    }
  }
  if (!uplink || !registry.upstream.configs().some((c) => c.name === uplink)) return null
  const path = `-/npm/v1/attestations/${name.replace('/', '%2f')}@${encodeURIComponent(version)}`
  const answer = await registry.upstream.forward(uplink, path, { method: 'GET', headers: { accept: 'application/json' } })
  if (answer.status === 404) return null
  if (answer.status !== 200) throw new SinopiaError('EUPLINK', `uplink ${uplink} answered ${answer.status} for the attestations of ${name}@${version}`)
  try {
    JSON.parse(answer.body.toString('utf8'))
  } catch {
    throw new SinopiaError('EUPLINK', `uplink ${uplink} answered the attestations of ${name}@${version} with something that is not JSON`)
  }
  const integrity = `sha512-${createHash('sha512').update(answer.body).digest('base64')}`
  const write = registry.store.blobs.write(key, integrity, answer.body.length)
  write.stream.end(answer.body)
  await write.done
  return { bytes: answer.body, integrity }
}

import type { Dispatcher } from 'undici'
import { SinopiaError } from '../errors.js'
import { printable } from '../registry/names.js'

/** Small helpers for reading uplink responses, shared by the client and the registry. */

/** The reason an uplink request is aborted at its `deadline`. */
export class DeadlineExceeded extends Error {
  readonly code = 'EDEADLINE'
  constructor(ms: number) {
    super(`no complete answer within the deadline of ${ms} ms`)
  }
}

/** `http://host:port` of a URL, or null when it is not one. */
export function originOf(url: string): string | null {
  try {
    return new URL(url).origin
  } catch {
    return null
  }
}

export function header(res: Dispatcher.ResponseData, name: string): string | undefined {
  const value = res.headers[name]
  return Array.isArray(value) ? value[0] : value
}

/** The error for a status the request did not expect (the body is discarded). */
export async function unexpected(uplinkName: string, url: string, res: Dispatcher.ResponseData): Promise<SinopiaError> {
  await res.body.dump().catch(() => undefined)
  return new SinopiaError('EUPLINK', `uplink ${uplinkName} answered ${res.statusCode} for ${printable(url)}`)
}

/** A short reason for a network error: its code when it has one. */
export function describe(error: unknown): string {
  const cause = (error as { cause?: { code?: string } })?.cause
  const code = (error as { code?: string })?.code ?? cause?.code
  return code ?? (error instanceof Error ? error.message : String(error))
}

import type { SinopiaError } from '../errors.js'

/**
 * A rule with several uplinks revalidates each of them on its own (its own maxage, breaker and
 * validators); this turns what each one answered into what happens to the stored record. Pure.
 */

/** One uplink's answer to a (conditional) packument request; `failed`: down, 5xx, bad body. */
export type UplinkAnswer =
  | { uplink: string; status: 'ok'; part: Uint8Array }
  | { uplink: string; status: 'not-modified' | 'not-found' }
  | { uplink: string; status: 'failed'; error: SinopiaError }

export interface Settled {
  /** New parts to merge into the record (checkUplink's bytes), by uplink. */
  parts: Record<string, Uint8Array>
  /** When each uplink last answered; an uplink that failed keeps its earlier time, so it is asked again. */
  times: Record<string, number>
  /** Uplinks that could not be asked or failed: their versions are served offline (stored tarballs only). */
  down: string[]
  /** Why the first failing uplink failed. */
  cause?: SinopiaError
  /** For the request log: 'miss'/'revalidated' when something answered, 'stale' when an uplink dropped a package we keep, 'offline' when none answered. */
  cache: 'miss' | 'revalidated' | 'stale' | 'offline'
}

/**
 * `answers`: those asked; `unavailable`: those due but not asked (breaker open); `held`: uplinks
 * with a part in the cached record; `times`: the record's answer times before; `hadRecord`: whether
 * there was a cached record at all.
 */
export function settle(
  answers: UplinkAnswer[],
  unavailable: string[],
  state: { held: ReadonlySet<string>; times: Readonly<Record<string, number>>; hadRecord: boolean },
  now: number,
): Settled {
  const parts: Record<string, Uint8Array> = {}
  const times = { ...state.times }
  const down = [...unavailable]
  let cause: SinopiaError | undefined
  let dropped = false
  for (const answer of answers) {
    if (answer.status === 'failed') {
      down.push(answer.uplink)
      cause ??= answer.error
      continue
    }
    // A 404 counts as an answer too: a package only one uplink has does not ask the other every time.
    times[answer.uplink] = now
    if (answer.status === 'ok') parts[answer.uplink] = answer.part
    if (answer.status === 'not-found' && state.held.has(answer.uplink)) dropped = true
  }
  const answered = answers.some((a) => a.status !== 'failed')
  const cache = !answered ? 'offline' : Object.keys(parts).length > 0 ? (state.hadRecord ? 'revalidated' : 'miss') : dropped ? 'stale' : 'revalidated'
  return { parts, times, down, ...(cause ? { cause } : {}), cache }
}

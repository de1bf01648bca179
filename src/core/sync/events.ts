import type { SkippedDependency } from '../lockfiles/index.js'

/**
 * What lock-sync and mirror report while they run. The core only emits these; the command turns
 * them into a spinner, plain lines or nothing (--json).
 */
export type SyncEvent =
  /** The number of packages to have grew (all at once for a lockfile; as resolution finds them for mirror). */
  | { type: 'total'; total: number }
  | { type: 'done'; name: string; version: string; status: 'present' | 'fetched' | 'ok'; size: number }
  | { type: 'failed'; failure: Failure }
  | { type: 'problem'; problem: CheckProblem }
  | { type: 'retry'; label: string; attempt: number; delayMs: number; message: string }
  | { type: 'skipped'; skipped: SkippedDependency }
  /** A stored tarball failed its re-hash (verify); it is removed and fetched again. */
  | { type: 'corrupt'; package: string }

export interface Failure {
  /** name@version, or the spec that could not be resolved. */
  package: string
  code: string
  message: string
}

export interface CheckProblem {
  package: string
  kind: 'missing' | 'corrupt'
  reason: string
}

export interface SyncSummary {
  /** Packages the store must hold. */
  total: number
  /** Already in the store. */
  present: number
  fetched: number
  /** With `verify`: stored tarballs that did not re-hash to their digest, removed and fetched again (counted in `fetched`). */
  refetched: string[]
  failed: Failure[]
  skipped: Array<SkippedDependency & { lockfile?: string }>
  /** Not done because the run was interrupted; the next run does them. */
  interrupted: number
  /** Tarball bytes downloaded, and held in the store for these packages in all. */
  bytes: { fetched: number; total: number }
  durationMs: number
}

export interface CheckSummary {
  total: number
  ok: number
  missing: CheckProblem[]
  corrupt: CheckProblem[]
  skipped: Array<SkippedDependency & { lockfile?: string }>
  interrupted: number
  /** Bytes re-hashed. */
  bytes: number
  durationMs: number
}

export type EventSink = (event: SyncEvent) => void

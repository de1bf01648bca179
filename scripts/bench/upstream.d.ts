/** The types of upstream.js, for tests that serve the bench's generated project from it. */
import type { Route } from './project.js'

export interface BenchUpstream {
  /** `http://127.0.0.1:<port>/` */
  url: string
  serve(routes: Map<string, Route>): void
  /** Requests so far by `packument:<name>`, `tarball:<name>` or `other`. */
  counts(): Record<string, number>
  finishedAt(key: string): number | undefined
  close(): Promise<void>
}

export function startUpstream(): Promise<BenchUpstream>

export function countsSince(before: Record<string, number>, after: Record<string, number>): Record<string, number>

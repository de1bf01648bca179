/** The types of project.js, for tests that reuse the bench's generated project rather than copying it. */
export interface Route {
  body: Buffer
  type: string
}

export interface ProjectManifest {
  name: string
  version: string
  license?: string
  dependencies?: Record<string, string>
  dist: { tarball: string; integrity: string; shasum: string; fileCount: number }
}

export interface Project {
  /** URL path -> what the fake uplink answers there. */
  routes: Map<string, Route>
  rootDependencies: Record<string, string>
  /** name -> its 1.1.0 manifest. */
  latest: Map<string, ProjectManifest>
  info: { packages: number; versions: number; tarballBytes: number; rootDependencies: number }
}

export function buildProject(upstreamUrl: string, options?: { count?: number; twoMajors?: boolean }): Project

export function flatLockfile(project: Project, root: { name: string; version: string }, registryUrl: string): Record<string, unknown>

export function startFlatProject(count: number, cleanups: { push(stop: () => Promise<void>): void }): Promise<{ upstream: import('./upstream.js').BenchUpstream; project: Project }>

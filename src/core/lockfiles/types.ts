/** What the lockfile readers produce: plain data, no I/O. */

export type LockfileFormat = 'npm-v1' | 'npm-v2' | 'npm-v3' | 'yarn-classic' | 'yarn-berry' | 'pnpm-v5' | 'pnpm-v6' | 'pnpm-v9'

/** A package the registry serves: the real name (an alias resolved), an exact version. */
export interface LockedPackage {
  name: string
  version: string
  /**
   * SRI string the tarball must match, as the lockfile records it (sha512, or sha1 in old
   * lockfiles); undefined when it records none the tarball can be checked against (yarn berry's
   * `checksum` hashes its own zip archive, not the tarball).
   */
  integrity?: string
}

/** Why a dependency is not fetched from the registry. */
export type SkipKind = 'git' | 'file' | 'link' | 'tarball-url' | 'bundled' | 'other'

export interface SkippedDependency {
  /** The name it is installed under. */
  name: string
  /** The spec or location as the lockfile writes it. */
  spec: string
  kind: SkipKind
  reason: string
}

export interface ParsedLockfile {
  format: LockfileFormat
  /** Each name@version once. */
  packages: LockedPackage[]
  skipped: SkippedDependency[]
}

export const SKIP_REASONS: Record<SkipKind, string> = {
  git: 'git dependency: fetched from its repository, not from a registry',
  file: 'file: dependency: a local path',
  link: 'link: dependency: a local folder',
  'tarball-url': 'tarball URL dependency: fetched from its own URL, not from a registry',
  bundled: "bundled: shipped inside its parent's tarball",
  other: 'not a registry package',
}

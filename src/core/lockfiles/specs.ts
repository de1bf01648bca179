import npa from 'npm-package-arg'
import semver from 'semver'
import type { SkipKind } from './types.js'

/** A spec as a lockfile writes it: a registry range or tag (alias resolved), or why it is skipped. */
export type SpecKind = { kind: 'registry'; name: string; type: 'tag' | 'version' | 'range'; range: string } | { kind: SkipKind }

/** `name@rest` with the scope's own `@` kept: ['@s/n', 'rest'] or ['n', 'rest']; null without a spec part. */
export function splitNameAt(value: string): [string, string] | null {
  const at = value.indexOf('@', 1)
  return at === -1 ? null : [value.slice(0, at), value.slice(at + 1)]
}

/** Classifies the spec a dependency was declared with (`^1.0.0`, `npm:real@^1`, `github:u/r`, `link:../x`). */
export function classifySpec(name: string, spec: string): SpecKind {
  if (/^(link|portal):/.test(spec)) return { kind: 'link' }
  if (/^(file|workspace):/.test(spec)) return { kind: 'file' }
  if (/^(patch|exec):/.test(spec)) return { kind: 'other' }
  try {
    // `where` only resolves file: paths, which are skipped anyway; a fixed root keeps this pure.
    const parsed = npa.resolve(name, spec, '/')
    switch (parsed.type) {
      case 'alias': {
        const sub = parsed.subSpec
        const type = sub.type === 'tag' || sub.type === 'version' ? sub.type : 'range'
        return { kind: 'registry', name: sub.name ?? name, type, range: sub.fetchSpec ?? sub.rawSpec }
      }
      case 'range':
      case 'version':
      case 'tag':
        return { kind: 'registry', name, type: parsed.type, range: parsed.fetchSpec ?? spec }
      case 'git':
        return { kind: 'git' }
      case 'remote':
        return { kind: 'tarball-url' }
      default:
        return { kind: 'file' }
    }
  } catch {
    return { kind: 'other' }
  }
}

/** How a resolved location (`resolved` of npm and yarn, a pnpm tarball) is fetched. */
export function classifyLocation(location: string, name: string, version: string): 'registry' | SkipKind {
  if (/^(git\+|git:|github:|gitlab:|bitbucket:|gist:)/.test(location)) return 'git'
  if (/^file:/.test(location)) return 'file'
  if (/^https?:\/\//.test(location)) {
    if (isRegistryTarball(location, name, version)) return 'registry'
    return /^https?:\/\/codeload\.|\/archive\/|\/tar\.gz\//.test(location) ? 'git' : 'tarball-url'
  }
  return 'other'
}

/**
 * True for the URL shape registries serve tarballs at, `…/<name>/-/<name without scope>-<version>.tgz`
 * (a `%2f` in the scope accepted, and registries that repeat the scope in the file name), so a
 * lockfile written against any registry, or through this one, maps back to name@version.
 */
export function isRegistryTarball(url: string, name: string, version: string): boolean {
  if (!semver.valid(version)) return false
  let pathname: string
  try {
    pathname = decodeURIComponent(new URL(url).pathname)
  } catch {
    return false
  }
  const bare = name.slice(name.lastIndexOf('/') + 1)
  return pathname.includes(`/${name}/-/`) && (pathname.endsWith(`/-/${bare}-${version}.tgz`) || pathname.endsWith(`/-/${name}-${version}.tgz`))
}

/** The sha1 a yarn classic `resolved` URL carries in its fragment, as an SRI string. */
export function sha1FromFragment(url: string): string | undefined {
  const match = /#([0-9a-f]{40})$/i.exec(url)
  return match ? `sha1-${Buffer.from(match[1] as string, 'hex').toString('base64')}` : undefined
}

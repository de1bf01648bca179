import type { BuiltPackage } from './packages.js'

/** The body `npm publish` sends (PUT /:name) for one built package. */
export function publishBody(pkg: BuiltPackage, tag = 'latest'): Record<string, unknown> {
  return {
    _id: pkg.name,
    name: pkg.name,
    description: `${pkg.name} published in a test`,
    'dist-tags': { [tag]: pkg.version },
    versions: {
      [pkg.version]: { ...pkg.manifest, _id: `${pkg.name}@${pkg.version}`, dist: { ...pkg.manifest.dist, tarball: `http://ignored/${pkg.name}/-/${pkg.filename}` } },
    },
    _attachments: { [`${pkg.name}-${pkg.version}.tgz`]: { content_type: 'application/octet-stream', data: pkg.tarball.toString('base64'), length: pkg.tarball.length } },
  }
}

import { digests } from './fixtures.js'
import { request } from './http.js'
import { packTarball } from './tar.js'

/**
 * What `npm publish` sends for `name@version` (a small real tarball, its digests in the
 * manifest): `{ body, file, shasum }`, `body` the PUT /:name body as bytes.
 */
export function publishBody(serverUrl, name, version, description = 'bench package') {
  const tarball = packTarball({ 'package.json': JSON.stringify({ name, version, description }), 'index.js': `module.exports = '${version}'\n` })
  const { integrity, shasum } = digests(tarball)
  const file = `${name}-${version}.tgz`
  const doc = {
    _id: name,
    name,
    description,
    'dist-tags': { latest: version },
    versions: { [version]: { name, version, description, dist: { integrity, shasum, tarball: `${serverUrl}${name}/-/${file}` } } },
    _attachments: { [file]: { content_type: 'application/octet-stream', data: tarball.toString('base64'), length: tarball.length } },
  }
  return { body: Buffer.from(JSON.stringify(doc)), file, shasum }
}

/** Registers `name` (npm adduser's request; the default config lets anyone sign up) and returns its token. */
export async function addUser(serverUrl, agent, name, password = `${name}-password-1`) {
  const body = Buffer.from(JSON.stringify({ name, password }))
  const r = await request(`${serverUrl}-/user/org.couchdb.user:${name}`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body, agent })
  if (r.status !== 201) throw new Error(`adduser answered ${r.status}: ${r.body.toString('utf8')}`)
  return JSON.parse(r.body.toString('utf8')).token
}

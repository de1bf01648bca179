import { stringify } from 'yaml'

/** Quoted only when YAML needs it, so the usual URL reads cleanly. */
function yamlString(value: string): string {
  return stringify(value, { lineWidth: 0 }).trimEnd()
}

/**
 * The config file written on first start. Every key is one Verdaccio also reads, so the file can be
 * moved between the two; `parseConfig` reads it without a warning.
 */
export function defaultConfigText(uplinkUrl: string): string {
  return `# sinopia-cli configuration.
# The keys are the ones Sinopia and Verdaccio read, so their config files work here as they are.
# Relative paths are relative to the folder this file is in.

# Folder for the packages published here and the copies fetched from uplinks.
storage: ./storage

# Address to serve on: host:port, or just a port for 127.0.0.1.
# 127.0.0.1 only accepts connections from this machine; 0.0.0.0:4873 accepts them from anywhere.
listen: 127.0.0.1:4873

# Registries to fetch packages from when they were not published here.
uplinks:
  npmjs:
    url: ${yamlString(uplinkUrl)}
    # timeout: 30s       # give up on one request after this long
    # maxage: 2m         # fetched package metadata counts as fresh this long
    # max_fails: 3       # after this many failures in a row, stop asking...
    # fail_timeout: 5m   # ...for this long, and answer from the cache
    # cache: true        # keep the tarballs fetched from here

# Who may install (access), publish and unpublish which packages, and which uplinks (proxy)
# to fetch them from. The first pattern that matches a package name applies.
# $all: everyone, $anonymous: not logged in, $authenticated: logged in; or user names,
# separated by spaces. unpublish is the same as publish when not set.
# A name published here takes new versions, unpublishes and deprecations only from its
# maintainers (npm owner add/rm) or from users the rule names by name; $authenticated lets
# any logged-in user create a new name. Publishing a name the uplink has (or moving its
# latest tag) needs \`override\`, which is nobody when not set, e.g. override: $authenticated
# proxy may list several uplinks (proxy: corp npmjs): their versions are merged, the first
# listed wins a version or dist-tag several have, and one that is down leaves the others serving.
packages:
  '@*/*':
    access: $all
    publish: $authenticated
    proxy: npmjs
  '**':
    access: $all
    publish: $authenticated
    proxy: npmjs

# Users and their password hashes, created by \`npm adduser\`.
auth:
  htpasswd:
    file: ./htpasswd
    # How many users \`npm adduser\` may create; -1 turns self-registration off.
    # max_users: 1000
  # Or, in place of htpasswd, keep the users in the storage (the database, when storage is
  # postgres://, so every instance shares them); max_users works there too:
  # store: {}

# Largest request accepted; a publish carries its tarball in the request, base64-encoded.
max_body_size: 10mb
# Deepest nesting of arrays and objects accepted in a JSON request body.
# max_json_depth: 100
# How large a published tarball may be once inflated (a gzip bomb is refused at this size).
# max_unpacked_size: 256mb

# Behind a reverse proxy: its address (or CIDR range), so that its X-Forwarded-Host and
# X-Forwarded-Proto are believed; from anyone else they are ignored. Or set url_prefix to
# the public URL (https://npm.example.org/).
# trust_proxy: 127.0.0.1

# How much to log: fatal, error, warn, info, http (one line per request), debug or trace.
log:
  level: http
`
}

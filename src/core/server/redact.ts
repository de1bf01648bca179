/**
 * Paths whose last segment is a secret: a token (npm logout, `npm token revoke` by value)
 * or a web-login session id (whoever knows the done id can collect the session's token).
 */
const SECRET_SEGMENT = /(\/-\/user\/token\/|\/-\/npm\/v1\/tokens\/token\/|\/-\/v1\/login\/|\/-\/v1\/done\/)[^/]+/gi

/** The path as the request log may print it: `/-/user/token/snp_abc` -> `/-/user/token/***`. */
export function redactPath(path: string): string {
  return path.replace(SECRET_SEGMENT, '$1***')
}

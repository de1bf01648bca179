import { isIP } from 'node:net'
import { SinopiaError } from '../errors.js'
import type { ListenAddress } from './types.js'

/**
 * A bare port binds 127.0.0.1 rather than every interface: a registry that takes publishes should
 * only be reachable from other machines when someone asks for it (`0.0.0.0:4873`).
 */
export const DEFAULT_LISTEN_HOST = '127.0.0.1'
export const DEFAULT_LISTEN: ListenAddress = { host: DEFAULT_LISTEN_HOST, port: 4873 }

const HOSTNAME = /^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*\.?$/i
// [scheme://] [host: | [ipv6]:] port [/]
const ADDRESS = /^(?:([a-z][a-z0-9+.-]*):\/\/)?(?:(?:\[([^\]]*)\]|([^:/[\]]*)):)?(\d+)\/?$/i

const HINT = 'write a port (4873), host:port (0.0.0.0:4873) or [ipv6]:port ([::1]:4873)'

function invalid(message: string, hint = HINT): SinopiaError {
  return new SinopiaError('ECONFIG', message, { hint })
}

/** `4873`, `localhost:4873`, `0.0.0.0:4873`, `[::1]:4873`, `http://localhost:4873/` or `https://0.0.0.0:4873`, as Verdaccio's `listen` accepts them. */
export function parseListen(value: string): ListenAddress {
  const text = value.trim()
  if (/^unix:/i.test(text) || text.startsWith('/') || text.startsWith('.')) {
    throw invalid(`listen address "${value}" is a unix socket, which sinopia-cli does not support`)
  }
  const match = ADDRESS.exec(text)
  if (!match) throw invalid(`invalid listen address "${value}"`)
  const [, scheme, ipv6, name, portText] = match
  const protocol = scheme?.toLowerCase()
  if (protocol !== undefined && protocol !== 'http' && protocol !== 'https') {
    throw invalid(`listen address "${value}" uses ${scheme}, but sinopia-cli serves http and https only`, 'write http://HOST:PORT or https://HOST:PORT')
  }
  if (ipv6 !== undefined && isIP(ipv6) !== 6) throw invalid(`invalid IPv6 address "${ipv6}" in listen address "${value}"`)
  if (name && isIP(name) === 0 && !HOSTNAME.test(name)) throw invalid(`invalid host "${name}" in listen address "${value}"`)
  const port = Number(portText)
  if (port > 65535) throw invalid(`invalid port ${port} in listen address "${value}": must be 0 to 65535`)
  return { host: ipv6 ?? (name || DEFAULT_LISTEN_HOST), port, ...(protocol === 'https' ? { tls: true } : {}) }
}

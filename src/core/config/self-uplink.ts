import { SinopiaError } from '../errors.js'
import type { Config, ListenAddress } from './types.js'

/** WHATWG URL's host form: lower case, IPv6 compressed and bracketed, `127.1` spelled out as `127.0.0.1`. */
function canonicalHost(host: string): string | undefined {
  const bare = host.replace(/^\[(.*)\]$/, '$1')
  try {
    return new URL(`http://${bare.includes(':') ? `[${bare}]` : bare}/`).hostname.replace(/\.$/, '')
  } catch {
    return undefined
  }
}

/** Names that reach this machine whatever interface the server is bound to among the local ones. */
function isLocal(host: string): boolean {
  return (
    host === 'localhost' ||
    host.endsWith('.localhost') ||
    /^127\.\d+\.\d+\.\d+$/.test(host) ||
    host === '0.0.0.0' ||
    host === '[::1]' ||
    host === '[::]' ||
    /^\[::ffff:(7f[0-9a-f]{2}:[0-9a-f]{1,4}|0:0)\]$/.test(host)
  )
}

/**
 * An uplink that is this very server makes every cache miss a request to itself, which misses
 * again: an endless loop instead of a 404. Refuse to start. The address is the one the server
 * binds (pass the bound port when the config says 0). Local names count as one host: with
 * `listen: 127.0.0.1:4873`, an uplink at http://localhost:4873/ is the same server.
 */
export function assertNoSelfUplink(config: Config, listen: ListenAddress): void {
  const listenHost = canonicalHost(listen.host)
  for (const uplink of Object.values(config.uplinks)) {
    let url: URL
    try {
      url = new URL(uplink.url)
    } catch {
      continue
    }
    const port = url.port === '' ? (url.protocol === 'https:' ? 443 : 80) : Number(url.port)
    if (port !== listen.port) continue
    const host = url.hostname.replace(/\.$/, '')
    const same = host === listenHost || (isLocal(host) && listenHost !== undefined && isLocal(listenHost))
    if (same) {
      throw new SinopiaError('ECONFIG', `uplink ${uplink.name} points at this server (${uplink.url})`, {
        hint: `set uplinks.${uplink.name}.url to the registry this one should fetch from, or listen on another address`,
      })
    }
  }
}

// Loaded into the server under test with `node --import` by the keep-alive mode (never by the
// server itself): counts the TCP connections its HTTP server accepts, the requests they carry
// (tarball requests apart: how far an install has got) and the connections that carried more
// than one (reused keep-alive sockets), so the report can tell whether npm reused its sockets. The counts are written as JSON next to the --config file every
// 200 ms and at exit, for the bench to read between phases.
import { writeFileSync } from 'node:fs'
import http from 'node:http'
import path from 'node:path'

const at = process.argv.indexOf('--config')
const file = at === -1 ? null : path.join(path.dirname(process.argv[at + 1]), 'connections.json')
const counts = { connections: 0, requests: 0, tarballs: 0, reused: 0 }
const perSocket = new WeakMap()
const emit = http.Server.prototype.emit
http.Server.prototype.emit = function (event, ...args) {
  if (event === 'connection') counts.connections++
  if (event === 'request') {
    counts.requests++
    if (args[0].url?.includes('/-/')) counts.tarballs++
    const socket = args[0].socket
    const n = (perSocket.get(socket) ?? 0) + 1
    perSocket.set(socket, n)
    if (n === 2) counts.reused++
  }
  return emit.call(this, event, ...args)
}
const write = () => {
  if (file) writeFileSync(file, JSON.stringify(counts))
}
if (file) {
  setInterval(write, 200).unref()
  process.on('exit', write)
}

import { spawn, spawnSync } from 'node:child_process'
import { accessSync, constants, readdirSync, readFileSync } from 'node:fs'
import { chmod, mkdir, writeFile } from 'node:fs/promises'
import net from 'node:net'
import path from 'node:path'

/**
 * nginx as the reference server: the same bytes sinopia served, as static files, with
 * `sendfile on` and `gzip_static on` (so the gzip rows are pre-compressed on both sides).
 * It runs as a child of the bench (`daemon off`), on 127.0.0.1 only, with every path it
 * writes (pid, error log, *_temp_path) under a temporary prefix. A system nginx the
 * package may have started is never used nor touched.
 */

const SEARCH_DIRS = ['/usr/sbin', '/usr/local/sbin', '/sbin', '/usr/local/nginx/sbin', '/usr/bin']
const READY_TIMEOUT_MS = 5000
const STOP_TIMEOUT_MS = 5000

function executable(file) {
  try {
    accessSync(file, constants.X_OK)
    return true
  } catch {
    return false
  }
}

/** The nginx binary on PATH or in the usual sbin directories (often not on a user's PATH), or null. */
export function findNginx() {
  const dirs = [...(process.env.PATH ?? '').split(path.delimiter).filter(Boolean), ...SEARCH_DIRS]
  for (const dir of dirs) {
    const file = path.join(dir, 'nginx')
    if (executable(file)) return file
  }
  return null
}

function nginxVersion(bin) {
  const out = spawnSync(bin, ['-v'], { encoding: 'utf8', timeout: 5000 })
  return /nginx\/(\S+)/.exec(`${out.stderr}${out.stdout}`)?.[1] ?? 'unknown'
}

/** PIDs of processes named nginx on this machine (from /proc), so a system nginx can be named in the report. */
export function runningNginxPids() {
  let entries
  try {
    entries = readdirSync('/proc')
  } catch {
    return []
  }
  const pids = []
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue
    try {
      if (readFileSync(`/proc/${entry}/comm`, 'utf8').trim() === 'nginx') pids.push(Number(entry))
    } catch {
      // gone meanwhile
    }
  }
  return pids
}

/**
 * Finds nginx, or installs Debian's package when it is missing (`apt-get install -y nginx-light`,
 * then `nginx`, after an `apt-get update` if the first tries fail), as root or through
 * `sudo -n`. Each apt-get call is bounded by what is left of `timeoutMs`. Resolves
 * `{ bin, version, notes }`, with `bin: null` (and the reason in `notes`) when there is no nginx.
 */
export function ensureNginx({ allowInstall = true, timeoutMs = 120_000, log = () => undefined } = {}) {
  const notes = []
  const found = findNginx()
  if (found) return { bin: found, version: nginxVersion(found), installed: false, notes }
  if (!allowInstall) return { bin: null, notes: ['nginx is not installed (installing was not allowed)'] }
  if (process.platform !== 'linux' || !executable('/usr/bin/apt-get')) {
    return { bin: null, notes: ['nginx is not installed and there is no apt-get to install it with'] }
  }
  const root = process.getuid?.() === 0
  const sudo = !root && executable('/usr/bin/sudo')
  if (!root && !sudo) return { bin: null, notes: ['nginx is not installed; installing needs root (no sudo)'] }
  const deadline = Date.now() + timeoutMs
  const apt = (args) => {
    const left = deadline - Date.now()
    if (left <= 1000) return { ok: false, why: 'out of time' }
    const cmd = root ? ['apt-get', ...args] : ['sudo', '-n', 'apt-get', ...args]
    log(`nginx is missing: running ${cmd.join(' ')}`)
    const run = spawnSync(cmd[0], cmd.slice(1), {
      encoding: 'utf8',
      timeout: left,
      killSignal: 'SIGTERM',
      env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
    })
    const tail = `${run.stderr ?? ''}`.trim().split('\n').slice(-2).join(' / ')
    return { ok: run.status === 0, why: run.error?.message ?? (run.signal ? `killed by ${run.signal}` : `exit ${run.status}: ${tail}`) }
  }
  const before = new Set(runningNginxPids())
  let installed = null
  const failures = []
  for (const attempt of [['nginx-light'], ['nginx'], ['update'], ['nginx-light'], ['nginx']]) {
    const result = attempt[0] === 'update' ? apt(['update']) : apt(['install', '-y', '--no-install-recommends', attempt[0]])
    if (attempt[0] !== 'update' && result.ok && findNginx()) {
      installed = attempt[0]
      break
    }
    if (!result.ok) failures.push(`apt-get ${attempt[0] === 'update' ? 'update' : `install ${attempt[0]}`}: ${result.why}`)
    if (result.why === 'out of time') break
  }
  const bin = findNginx()
  if (!bin) return { bin: null, notes: ['nginx is not installed and installing it failed', ...failures] }
  notes.push(`installed Debian's ${installed ?? 'nginx'} package (${bin}) for this bench`)
  const started = runningNginxPids().filter((pid) => !before.has(pid))
  if (started.length > 0) notes.push(`the package started a system nginx (pids ${started.join(', ')}): left alone, not used`)
  return { bin, version: nginxVersion(bin), installed: true, notes }
}

/** A port nobody listens on right now, on 127.0.0.1. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const probe = net.createServer()
    probe.once('error', reject)
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address()
      probe.close(() => resolve(port))
    })
  })
}

function canConnect(port) {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1')
    socket.once('connect', () => {
      socket.destroy()
      resolve(true)
    })
    socket.once('error', () => resolve(false))
  })
}

/** The config: only what this bench needs, nothing read from /etc/nginx. */
export function nginxConf({ prefix, port, workers, locations, balance }) {
  const p = (name) => JSON.stringify(path.join(prefix, name))
  return [
    `worker_processes ${workers};`,
    `pid ${p('nginx.pid')};`,
    `error_log ${p('error.log')} warn;`,
    'events { worker_connections 4096; }',
    'http {',
    '  access_log off;',
    '  sendfile on;',
    '  tcp_nopush on;',
    '  keepalive_timeout 75s;',
    // Node's server has no per-connection request limit; nginx's default (1000) would make
    // autocannon reconnect every 1000 responses on the small files.
    '  keepalive_requests 1000000;',
    `  client_body_temp_path ${p('temp/client_body')};`,
    `  proxy_temp_path ${p('temp/proxy')};`,
    `  fastcgi_temp_path ${p('temp/fastcgi')};`,
    `  uwsgi_temp_path ${p('temp/uwsgi')};`,
    `  scgi_temp_path ${p('temp/scgi')};`,
    '  types {}',
    '  default_type application/octet-stream;',
    '  gzip off;',
    '  gzip_static on;',
    '  gzip_vary on;',
    ...(balance ? balancerLines(balance, port) : staticServerLines(p, port, locations)),
    '}',
    '',
  ].join('\n')
}

function staticServerLines(p, port, locations) {
  return [
    '  server {',
    `    listen 127.0.0.1:${port};`,
    `    root ${p('root')};`,
    ...locations.filter(({ type }) => type).map(({ urlPath, type }) => `    location = ${urlPath} { default_type ${JSON.stringify(type)}; }`),
    '  }',
  ]
}

/**
 * A load balancer in front of `balance.servers` (`127.0.0.1:port` each), as the README's
 * "Scaling out" section shows: the client's Host goes through (the registry writes tarball
 * URLs with it), and a request that finds its instance dead or answering 502/503 is tried on
 * the next one. nginx never retries a non-idempotent request (a publish) on its own: its client
 * sees the failure and no acknowledged write depends on a retry.
 */
function balancerLines(balance, port) {
  return [
    '  upstream sinopia {',
    ...balance.servers.map((server) => `    server ${server} max_fails=1 fail_timeout=${balance.failTimeout ?? '2s'};`),
    '    keepalive 16;',
    '  }',
    '  server {',
    `    listen 127.0.0.1:${port};`,
    '    client_max_body_size 100m;',
    '    location / {',
    '      proxy_pass http://sinopia;',
    '      proxy_http_version 1.1;',
    '      proxy_set_header Connection "";',
    '      proxy_set_header Host $http_host;',
    '      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;',
    '      proxy_next_upstream error timeout http_502 http_503;',
    '      proxy_next_upstream_tries 3;',
    '    }',
    '  }',
  ]
}

/**
 * Writes `files` (`[{ urlPath, type?, body, gzip? }]`; `gzip` becomes `<file>.gz` for gzip_static;
 * without `type` a file goes out as application/octet-stream)
 * under `prefix/root`, or with `balance: { servers, failTimeout? }` proxies to those servers
 * instead (see balancerLines), then starts nginx on a free 127.0.0.1 port. Resolves
 * `{ url, pid, alive(), stop(), killNow(), output() }` once the port accepts connections.
 * nginx runs in its own process group, so `killNow()` (the last resort on exit) ends the
 * master and its workers together.
 */
export async function startNginx({ bin, prefix, files = [], workers = 1, balance }) {
  const rootDir = path.join(prefix, 'root')
  await mkdir(rootDir, { recursive: true })
  await mkdir(path.join(prefix, 'temp'), { recursive: true })
  const made = new Set()
  for (const file of files) {
    const target = path.join(rootDir, file.urlPath.slice(1))
    if (!target.startsWith(rootDir + path.sep)) throw new Error(`file path outside nginx's root: ${file.urlPath}`)
    const parent = path.dirname(target)
    if (!made.has(parent)) {
      await mkdir(parent, { recursive: true, mode: 0o755 })
      made.add(parent)
    }
    await writeFile(target, file.body)
    if (file.gzip) await writeFile(`${target}.gz`, file.gzip)
    await chmod(target, 0o644)
    if (file.gzip) await chmod(`${target}.gz`, 0o644)
  }
  // Run as root, nginx's workers drop to an unprivileged user: they must be able to read the root.
  await chmod(prefix, 0o755)
  await chmod(rootDir, 0o755)

  let lastError = null
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freePort()
    const conf = path.join(prefix, 'nginx.conf')
    await writeFile(conf, nginxConf({ prefix, port, workers, locations: files, balance }))
    const child = spawn(bin, ['-c', conf, '-p', prefix, '-e', path.join(prefix, 'error.log'), '-g', 'daemon off;'], {
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let output = ''
    for (const stream of [child.stdout, child.stderr]) stream.setEncoding('utf8').on('data', (chunk) => (output = (output + chunk).slice(-4000)))
    const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })))
    const spawnError = new Promise((resolve) => child.once('error', resolve))
    const handle = makeHandle(child, exited, port, () => output)
    const deadline = Date.now() + READY_TIMEOUT_MS
    while (Date.now() < deadline && handle.alive()) {
      if (await canConnect(port)) return handle
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
    await Promise.race([handle.stop(), spawnError])
    const errorLog = safeRead(path.join(prefix, 'error.log'))
    lastError = new Error(`nginx did not start on 127.0.0.1:${port}: ${(output + errorLog).trim().slice(-1500) || 'no output'}`)
    if (!/Address already in use/.test(output + errorLog)) break
  }
  throw lastError
}

function safeRead(file) {
  try {
    return readFileSync(file, 'utf8')
  } catch {
    return ''
  }
}

function makeHandle(child, exited, port, output) {
  const alive = () => child.exitCode === null && child.signalCode === null
  const groupAlive = () => {
    try {
      process.kill(-child.pid, 0)
      return true
    } catch {
      return false
    }
  }
  const killNow = () => {
    if (!groupAlive()) return
    try {
      process.kill(-child.pid, 'SIGKILL')
    } catch {
      // already gone
    }
  }
  return {
    url: `http://127.0.0.1:${port}/`,
    pid: child.pid,
    alive,
    output,
    killNow,
    /** SIGTERM (nginx's fast shutdown: master and workers), SIGKILL to the group after 5 s or if any worker outlives the master. */
    async stop() {
      if (alive()) {
        child.kill('SIGTERM')
        const timer = setTimeout(killNow, STOP_TIMEOUT_MS)
        await exited
        clearTimeout(timer)
      }
      for (let i = 0; i < 20 && groupAlive(); i++) await new Promise((resolve) => setTimeout(resolve, 50))
      killNow()
      return exited
    },
  }
}

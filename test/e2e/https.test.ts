import { execFileSync } from 'node:child_process'
import { mkdir } from 'node:fs/promises'
import { X509Certificate } from 'node:crypto'
import { readFile, writeFile } from 'node:fs/promises'
import path from 'node:path'
import tls from 'node:tls'
import { chromium } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { cleanupTempDirs, makeProject, makeTempDir, runNpm } from '../helpers/clients.js'
import { startFakeUpstream, type FakeUpstream } from '../helpers/fake-upstream.js'
import { buildPackage } from '../helpers/packages.js'
import { cleanupRegistries, startRegistry, type RunningRegistry } from '../helpers/server.js'

/**
 * `listen: https://...` with Verdaccio's `https: {key, cert}`: the real npm installs through it
 * when it trusts the test CA (`--cafile`, strict-ssl on) and refuses it when it does not; the
 * packument's tarball URLs are https too; SIGHUP reads a renewed certificate for new connections.
 */

/** A throw-away CA and a server certificate for 127.0.0.1 signed by it (openssl, ECDSA P-256). */
async function makeCertificates(dir: string): Promise<{ ca: string; issue: (name: string) => Promise<{ key: string; cert: string }> }> {
  const ssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] })
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes']
  ssl('req', '-x509', ...ec, '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '2', '-subj', '/CN=sinopia-test-ca')
  await writeFile(path.join(dir, 'ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n')
  return {
    ca: path.join(dir, 'ca.pem'),
    issue(name) {
      ssl('req', ...ec, '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', '/CN=127.0.0.1')
      ssl('x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', `${name}.pem`, '-days', '2', '-extfile', 'ext')
      return Promise.resolve({ key: path.join(dir, `${name}.key`), cert: path.join(dir, `${name}.pem`) })
    },
  }
}

/** The SHA-256 fingerprint of the certificate a new TLS connection is shown. */
function servedFingerprint(port: number, ca: Buffer): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ host: '127.0.0.1', port, ca, servername: 'localhost' }, () => {
      resolve(socket.getPeerCertificate().fingerprint256)
      socket.end()
    })
    socket.on('error', reject)
  })
}

describe('serving https', () => {
  let upstream: FakeUpstream
  let registry: RunningRegistry
  let ca: string
  let dir: string
  let issue: (name: string) => Promise<{ key: string; cert: string }>

  beforeAll(async () => {
    upstream = await startFakeUpstream({ packages: [await buildPackage({ name: 'over-tls', version: '1.0.0' })] })
    dir = await makeTempDir('sinopia-tls-')
    ;({ ca, issue } = await makeCertificates(dir))
    const first = await issue('first')
    const files = { key: path.join(dir, 'key.pem'), cert: path.join(dir, 'cert.pem') }
    await writeFile(files.key, await readFile(first.key))
    await writeFile(files.cert, await readFile(first.cert))
    registry = await startRegistry({ upstreamUrl: upstream.url, tls: true, config: { listen: 'https://127.0.0.1:0', https: files } })
  })
  afterAll(async () => {
    await cleanupRegistries()
    await upstream?.stop()
    await cleanupTempDirs()
  })

  it('npm installs through it with the test CA (--cafile, strict-ssl) and refuses it without', { timeout: 120_000 }, async () => {
    expect(registry.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+\/$/)
    const trusted = await makeProject({ 'over-tls': '^1.0.0' })
    const ok = await runNpm(['install', '--cafile', ca, '--strict-ssl=true'], { cwd: trusted, registry: registry.url })
    expect(ok.code, `${ok.stdout}\n${ok.stderr}\n${registry.output().slice(-2000)}`).toBe(0)
    const lock = JSON.parse(await readFile(path.join(trusted, 'package-lock.json'), 'utf8')) as { packages: Record<string, { resolved?: string }> }
    expect(lock.packages['node_modules/over-tls']?.resolved).toBe(`${registry.url}over-tls/-/over-tls-1.0.0.tgz`)

    const untrusted = await makeProject({ 'over-tls': '^1.0.0' })
    const refused = await runNpm(['install', '--strict-ssl=true', '--fetch-retries=0'], { cwd: untrusted, registry: registry.url })
    expect(refused.code).not.toBe(0)
    expect(`${refused.stdout}${refused.stderr}`).toMatch(/UNABLE_TO_VERIFY_LEAF_SIGNATURE|SELF_SIGNED|UNABLE_TO_GET_ISSUER/)
  })

  it('Chromium opens the web page when the test CA is in its NSS database, and refuses it otherwise', { timeout: 60_000 }, async () => {
    const open = async (trustCa: boolean): Promise<string> => {
      const home = await makeTempDir('sinopia-chromium-home-')
      if (trustCa) {
        const db = path.join(home, '.pki', 'nssdb')
        await mkdir(db, { recursive: true })
        execFileSync('certutil', ['-N', '-d', `sql:${db}`, '--empty-password'])
        execFileSync('certutil', ['-A', '-d', `sql:${db}`, '-n', 'sinopia-test-ca', '-t', 'C,,', '-i', ca])
      }
      const browser = await chromium.launch({
        executablePath: execFileSync('which', ['chromium'], { encoding: 'utf8' }).trim(),
        args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update'],
        env: { ...process.env, HOME: home },
      })
      try {
        const page = await browser.newPage()
        const response = await page.goto(registry.url).catch((error: Error) => error)
        if (response instanceof Error) return response.message
        return `${response?.status()} ${await page.title()}`
      } finally {
        await browser.close()
      }
    }
    expect(await open(true)).toMatch(/^200 /)
    expect(await open(false)).toMatch(/ERR_CERT_AUTHORITY_INVALID/)
  })

  it('SIGHUP reads a renewed certificate for new connections', { timeout: 60_000 }, async () => {
    const caPem = await readFile(ca)
    const before = await servedFingerprint(registry.port, caPem)
    expect(before).toBe(new X509Certificate(await readFile(path.join(dir, 'cert.pem'))).fingerprint256)
    const renewed = await issue('renewed')
    await writeFile(path.join(dir, 'key.pem'), await readFile(renewed.key))
    await writeFile(path.join(dir, 'cert.pem'), await readFile(renewed.cert))
    registry.process.kill('SIGHUP')
    await registry.waitForOutput('certificate and key read again')
    const after = await servedFingerprint(registry.port, caPem)
    expect(after).toBe(new X509Certificate(await readFile(renewed.cert)).fingerprint256)
    expect(after).not.toBe(before)
  })
})

import type { IncomingMessage, ServerResponse } from 'node:http'
import { pipeline } from 'node:stream/promises'
import { etagOf, type TarballAnswer } from '../../registry/index.js'
import { note } from '../respond.js'

/**
 * Streams a tarball: from its blob, or from a download in progress. Tarballs are gzip
 * already, so they are never compressed again.
 */
export async function sendTarball(req: IncomingMessage, res: ServerResponse, answer: TarballAnswer): Promise<void> {
  note(res, { cache: answer.cache })
  if (answer.kind === 'bytes') {
    if (req.headers['if-none-match'] === answer.etag) {
      res.writeHead(304, { etag: answer.etag })
      res.end()
      return
    }
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': answer.bytes.length, etag: answer.etag })
    note(res, { bytes: answer.bytes.length })
    res.end(req.method === 'HEAD' ? undefined : answer.bytes)
    return
  }
  if (answer.kind === 'blob') {
    const { handle, size, integrity } = answer.blob
    const etag = etagOf(integrity)
    if (req.headers['if-none-match'] === etag) {
      await handle.close()
      res.writeHead(304, { etag })
      res.end()
      return
    }
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': size, etag })
    note(res, { bytes: size })
    if (req.method === 'HEAD') {
      await handle.close()
      res.end()
      return
    }
    // Big tarballs only (small ones are served from memory): read in 1 MiB steps.
    await pipeline(handle.createReadStream({ highWaterMark: 1024 * 1024 }), res).catch(() => undefined)
    return
  }
  const { download } = answer
  if (download.failed()) throw download.error
  // Headers go out with the first bytes, so a download that fails before any byte was
  // released still gets a proper JSON error instead of a cut connection.
  const head = () => {
    if (res.headersSent) return
    res.writeHead(200, {
      'content-type': 'application/octet-stream',
      ...(download.size === undefined ? {} : { 'content-length': download.size }),
    })
    if (download.size !== undefined) note(res, { bytes: download.size })
  }
  if (req.method === 'HEAD') {
    head()
    res.end()
    return
  }
  if (download.chunks.length > 0) head()
  for (const chunk of download.chunks) res.write(chunk)
  if (download.state === 'done') {
    head()
    res.end()
    return
  }
  await new Promise<void>((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      head()
      res.write(chunk)
    }
    const onEnd = () => {
      cleanup()
      head()
      res.end()
      resolve()
    }
    const onError = (error: Error) => {
      cleanup()
      // Past the headers the only way to tell the client is to cut the response.
      if (res.headersSent) res.destroy()
      reject(error)
    }
    const onClose = () => {
      cleanup()
      resolve()
    }
    const cleanup = () => {
      download.off('data', onData)
      download.off('end', onEnd)
      download.off('error', onError)
      res.off('close', onClose)
    }
    download.on('data', onData)
    download.on('end', onEnd)
    download.on('error', onError)
    res.on('close', onClose)
  })
}

import { createHash } from 'node:crypto'
import { clientMain } from './client.js'
import { STYLE } from './style.js'

export interface Asset {
  body: Buffer
  contentType: string
  /** First characters of the sha1: the `?v=` of the page's links, and the ETag. */
  version: string
}

function asset(text: string, contentType: string): Asset {
  const body = Buffer.from(text)
  return { body, contentType, version: createHash('sha1').update(body).digest('hex').slice(0, 12) }
}

/** The files the pages load (the CSP allows script and style from 'self' only), by file name. */
export const ASSETS: Record<'app.js' | 'style.css', Asset> = {
  'app.js': asset(`'use strict';\n(${clientMain.toString()})();\n`, 'text/javascript; charset=utf-8'),
  'style.css': asset(STYLE, 'text/css; charset=utf-8'),
}

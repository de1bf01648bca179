import { describe, expect, it } from 'vitest'
import { SinopiaError } from '../../../src/core/errors.js'
import { parsePackagePath } from '../../../src/core/registry/paths.js'
import { statusOf } from '../../../src/core/server/statuses.js'

function rejects(path: string): SinopiaError {
  try {
    parsePackagePath(path)
  } catch (error) {
    expect(error).toBeInstanceOf(SinopiaError)
    expect(statusOf((error as SinopiaError).code)).toBe(400)
    return error as SinopiaError
  }
  throw new Error(`expected ${path} to be rejected`)
}

describe('parsePackagePath', () => {
  it('reads plain and scoped names in both spellings', () => {
    expect(parsePackagePath('/express')).toEqual({ kind: 'packument', name: 'express' })
    expect(parsePackagePath('/@acme%2fwidget')).toEqual({ kind: 'packument', name: '@acme/widget' })
    expect(parsePackagePath('/@acme%2Fwidget')).toEqual({ kind: 'packument', name: '@acme/widget' })
    expect(parsePackagePath('/@acme/widget')).toEqual({ kind: 'packument', name: '@acme/widget' })
  })

  it('reads versions, tags and tarballs', () => {
    expect(parsePackagePath('/express/4.18.2')).toEqual({ kind: 'version', name: 'express', spec: '4.18.2' })
    expect(parsePackagePath('/@acme/widget/latest')).toEqual({ kind: 'version', name: '@acme/widget', spec: 'latest' })
    expect(parsePackagePath('/express/-/express-4.18.2.tgz')).toEqual({ kind: 'tarball', name: 'express', file: 'express-4.18.2.tgz' })
    expect(parsePackagePath('/@acme/widget/-/widget-1.0.0.tgz')).toEqual({ kind: 'tarball', name: '@acme/widget', file: 'widget-1.0.0.tgz' })
    expect(parsePackagePath('/@acme%2fwidget/-/widget-1.0.0.tgz')).toEqual({ kind: 'tarball', name: '@acme/widget', file: 'widget-1.0.0.tgz' })
  })

  it('returns null for paths that are not package URLs', () => {
    expect(parsePackagePath('/-/whatever')).toBeNull()
    expect(parsePackagePath('/')).toBeNull()
    expect(parsePackagePath('/express/-/a/b')).toBeNull()
    expect(parsePackagePath('/express/1.0.0/extra')).toBeNull()
  })

  it('rejects traversal, separators and NUL in every encoding', () => {
    for (const path of [
      '/..',
      '/%2e%2e',
      '/%2E%2E/etc',
      '/express/-/..%2f..%2fpasswd.tgz',
      '/express/-/%2f..%2fx.tgz',
      '/express/-/..\\x.tgz',
      '/express%00',
      '/express/-/x%00.tgz',
      '/%2fetc%2fpasswd',
      '/@acme%2f..%2f..',
      '/@acme/..',
      '/express/..',
      '/express/-/.hidden.tgz',
      '/express/-/express-1.0.0.tar',
      '/C:%5cwindows',
      '/%E0%A4%A',
    ]) {
      rejects(path)
    }
  })

  it('rejects names npm would reject and over-long names', () => {
    expect(rejects('/' + 'a'.repeat(215)).code).toBe('EINVALIDNAME')
    expect(rejects('/.hidden').code).toBe('EINVALIDNAME')
    expect(rejects('/_private').code).toBe('EINVALIDNAME')
    expect(rejects('/has%20space').code).toBe('EINVALIDNAME')
    expect(rejects('/@scope').code).toBe('EINVALIDNAME')
    expect(rejects('/node_modules').code).toBe('EINVALIDNAME')
  })

  it('keeps old-style capitals that existing packages use', () => {
    expect(parsePackagePath('/JSONStream')).toEqual({ kind: 'packument', name: 'JSONStream' })
  })
})

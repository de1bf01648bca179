import { readFileSync, readdirSync } from 'node:fs'
import path from 'node:path'
import ts from 'typescript'
import { describe, expect, it } from 'vitest'
import { SinopiaError } from '../../../src/core/errors.js'
import { STATUSES, errorAnswer, isNotFound, statusOf } from '../../../src/core/server/statuses.js'
import { REPO_ROOT } from '../../helpers/clients.js'

interface Thrown {
  code: string
  /** Where the code is made: `new SinopiaError(...)`, or one of the helpers that promise a status. */
  via: 'SinopiaError' | 'badRequest' | 'notFound'
  at: string
}

const DEFAULT_CODES = { badRequest: 'EBADREQUEST', notFound: 'ENOTFOUND' } as const

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const file = path.join(dir, entry.name)
    if (entry.isDirectory()) return sourceFiles(file)
    return entry.name.endsWith('.ts') ? [file] : []
  })
}

/** Every string literal in `node` (a code argument may be a conditional between two codes). */
function literals(node: ts.Node): string[] {
  if (ts.isStringLiteralLike(node)) return [node.text]
  const found: string[] = []
  node.forEachChild((child) => void found.push(...literals(child)))
  return found
}

/** The error codes src/ creates, read from its syntax trees (not from a list that could go stale). */
function thrownCodes(): Thrown[] {
  const thrown: Thrown[] = []
  for (const file of sourceFiles(path.join(REPO_ROOT, 'src'))) {
    const source = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, true)
    const at = (node: ts.Node) => `${path.relative(REPO_ROOT, file)}:${source.getLineAndCharacterOfPosition(node.getStart()).line + 1}`
    const visit = (node: ts.Node): void => {
      if (ts.isNewExpression(node) && node.expression.getText() === 'SinopiaError' && node.arguments?.[0]) {
        for (const code of literals(node.arguments[0])) thrown.push({ code, via: 'SinopiaError', at: at(node) })
      }
      if (ts.isCallExpression(node) && ts.isIdentifier(node.expression) && (node.expression.text === 'badRequest' || node.expression.text === 'notFound')) {
        const via = node.expression.text
        const codes = node.arguments[1] ? literals(node.arguments[1]) : [DEFAULT_CODES[via]]
        for (const code of codes) thrown.push({ code, via, at: at(node) })
      }
      node.forEachChild(visit)
    }
    visit(source)
  }
  return thrown
}

describe('the status table', () => {
  const thrown = thrownCodes()

  it('finds the codes src/ throws (the scan itself works)', () => {
    expect(thrown.length).toBeGreaterThan(150)
    expect(thrown).toContainEqual(expect.objectContaining({ code: 'EUPLINKDOWN', via: 'SinopiaError' }))
    expect(thrown).toContainEqual(expect.objectContaining({ code: 'EINVALIDNAME', via: 'badRequest' }))
  })

  it('has a row for every code thrown in src/', () => {
    const missing = thrown.filter((t) => !Object.hasOwn(STATUSES, t.code)).map((t) => `${t.code} (${t.at})`)
    expect(missing).toEqual([])
  })

  it('has no row for a code nothing throws', () => {
    const codes = new Set(thrown.map((t) => t.code))
    expect(Object.keys(STATUSES).filter((code) => !codes.has(code))).toEqual([])
  })

  it('answers badRequest codes with 400 and notFound codes with 404', () => {
    const wrong = thrown
      .filter((t) => (t.via === 'badRequest' && statusOf(t.code) !== 400) || (t.via === 'notFound' && statusOf(t.code) !== 404))
      .map((t) => `${t.via}(${t.code}) at ${t.at} answers ${statusOf(t.code)}`)
    expect(wrong).toEqual([])
  })

  it('answers an unknown code, or an error that is not a SinopiaError, with 500', () => {
    expect(statusOf('ENOSUCHCODE')).toBe(500)
    expect(statusOf('toString')).toBe(500)
    expect(errorAnswer(new SinopiaError('ENOSUCHCODE', 'odd'))).toEqual({ status: 500, message: 'odd' })
    expect(errorAnswer(new Error('secret detail'))).toEqual({ status: 500, message: 'internal server error' })
    expect(errorAnswer(Object.assign(new Error('raw'), { code: 'ENOTFOUND' }))).toEqual({ status: 500, message: 'internal server error' })
  })

  it('tells a bad uplink answer (502) from an uplink that cannot be asked (503)', () => {
    expect(errorAnswer(new SinopiaError('EUPLINK', 'bad answer')).status).toBe(502)
    expect(errorAnswer(new SinopiaError('EUPLINKDOWN', 'down')).status).toBe(503)
  })

  it('lets a full or failing disk anywhere in the causes decide the status', () => {
    const full = new SinopiaError('EUPLINK', 'download failed', { cause: Object.assign(new Error('no space'), { code: 'ENOSPC' }) })
    expect(errorAnswer(full)).toEqual({ status: 507, message: expect.stringMatching(/storage is full/) })
    expect(errorAnswer(Object.assign(new Error('read-only'), { code: 'EROFS' })).status).toBe(503)
  })

  it('knows not-found by its status, whatever the code', () => {
    expect(isNotFound(new SinopiaError('ETARGET', 'no such version'))).toBe(true)
    expect(isNotFound(new SinopiaError('EFORBIDDEN', 'no'))).toBe(false)
    expect(isNotFound(Object.assign(new Error('dns'), { code: 'ENOTFOUND' }))).toBe(false)
  })
})

import { describe, expect, it } from 'vitest'
import { WebSessions, sessionCookie, sessionId } from '../../../src/core/web/index.js'

describe('WebSessions', () => {
  it('maps a random cookie id to its user until it expires or is destroyed', () => {
    let now = 1_000
    const sessions = new WebSessions(60_000, 10, () => now)
    const id = sessions.create('alice')
    expect(id).toMatch(/^[\w-]{43}$/)
    expect(sessions.create('alice')).not.toBe(id)
    const cookie = `theme=dark; sinopia_session=${id}; other=1`
    expect(sessions.user(cookie)).toBe('alice')
    expect(sessions.user('sinopia_session=forged-value')).toBeNull()
    expect(sessions.user(undefined)).toBeNull()
    now += 60_000
    expect(sessions.user(cookie)).toBeNull()
    const again = sessions.create('bob')
    sessions.destroy(`sinopia_session=${again}`)
    expect(sessions.user(`sinopia_session=${again}`)).toBeNull()
  })

  it('keeps at most `max` sessions, dropping the oldest, and ends a removed user’s sessions', () => {
    const sessions = new WebSessions(60_000, 2)
    const first = sessions.create('a')
    const second = sessions.create('b')
    sessions.create('c')
    expect(sessions.size).toBe(2)
    expect(sessions.user(`sinopia_session=${first}`)).toBeNull()
    sessions.forgetUser('b')
    expect(sessions.user(`sinopia_session=${second}`)).toBeNull()
  })

  it('writes HttpOnly, SameSite=Strict cookies, Secure over https', () => {
    expect(sessionCookie('x'.repeat(43), { path: '/npm/', secure: true })).toBe(`sinopia_session=${'x'.repeat(43)}; Path=/npm/; HttpOnly; SameSite=Strict; Max-Age=43200; Secure`)
    expect(sessionCookie(null, { path: '/', secure: false })).toBe('sinopia_session=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0')
    expect(sessionId('sinopia_session=')).toBeNull()
  })
})

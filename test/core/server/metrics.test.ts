import { describe, expect, it } from 'vitest'
import { routeClass } from '../../../src/core/server/metrics.js'

describe('routeClass', () => {
  it.each([
    ['GET', '/lodash', 'packument'],
    ['GET', '/@s%2fp', 'packument'],
    ['GET', '/@s/p/-/p-1.0.0.tgz', 'tarball'],
    ['DELETE', '/p/-/p-1.0.0.tgz/-rev/3', 'unpublish'],
    ['DELETE', '/p/-rev/3', 'unpublish'],
    ['PUT', '/p', 'publish'],
    ['PUT', '/-/package/p/dist-tags/beta', 'dist-tag'],
    ['GET', '/-/v1/search', 'search'],
    ['GET', '/-/_view/starredByUser', 'search'],
    ['PUT', '/-/user/org.couchdb.user:a', 'user'],
    ['GET', '/-/whoami', 'user'],
    ['POST', '/-/npm/v1/security/advisories/bulk', 'audit'],
    ['GET', '/', 'web'],
    ['GET', '/-/web/static/app.js', 'web'],
    ['GET', '/-/ping', 'ping'],
    ['GET', '/-/health', 'health'],
    ['GET', '/-/metrics', 'metrics'],
    ['GET', '/-/something', 'other'],
  ])('%s %s is %s', (method, path, route) => {
    expect(routeClass(method, path)).toBe(route)
  })
})

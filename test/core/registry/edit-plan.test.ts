import { describe, expect, it } from 'vitest'
import { changesPackage, isEmptyPlan, planEdit } from '../../../src/core/registry/edit-plan.js'
import { emptyLocal } from '../../../src/core/registry/merge.js'
import type { LocalDoc, Manifest, Packument } from '../../../src/core/store/index.js'
import { thrownBy } from '../../helpers/errors.js'

const manifest = (version: string, extra: Partial<Manifest> = {}): Manifest => ({ name: 'pkg', version, ...extra })
const served: Packument = {
  name: 'pkg',
  'dist-tags': { latest: '1.1.0' },
  versions: { '1.0.0': manifest('1.0.0'), '1.1.0': manifest('1.1.0', { deprecated: 'old' }), '2.0.0': manifest('2.0.0') },
  users: { bob: true },
  maintainers: [{ name: 'alice' }],
}
// 2.0.0 was published here; 1.x are the uplink's.
const local: LocalDoc = { ...emptyLocal('override'), versions: { '2.0.0': manifest('2.0.0') } }
const all = { '1.0.0': {}, '1.1.0': {}, '2.0.0': {} }

describe('planEdit', () => {
  it('a version left out that was published here is removed; one the uplink has is refused', () => {
    expect(planEdit('pkg', { versions: { '1.0.0': {}, '1.1.0': {} } }, served, local, 'alice')).toEqual({ removed: ['2.0.0'], deprecations: {} })
    expect(thrownBy(() => planEdit('pkg', { versions: { '1.1.0': {}, '2.0.0': {} } }, served, local, 'alice'))).toMatchObject({ code: 'EFORBIDDEN', status: 403 })
  })

  it('only changed deprecations count ("" undeprecates)', () => {
    const plan = planEdit('pkg', { versions: { ...all, '1.0.0': { deprecated: 'gone' }, '1.1.0': { deprecated: 'old' }, '2.0.0': { deprecated: '' } } }, served, local, 'alice')
    expect(plan.deprecations).toEqual({ '1.0.0': 'gone' })
    expect(planEdit('pkg', { versions: { ...all, '1.1.0': { deprecated: '' } } }, served, local, null).deprecations).toEqual({ '1.1.0': '' })
  })

  it('a star is the caller’s own entry, and an unchanged one is an empty plan', () => {
    expect(planEdit('pkg', { stars: new Set(['alice', 'bob']) }, served, local, 'alice')).toMatchObject({ star: true })
    const unstar = planEdit('pkg', { stars: new Set() }, served, local, 'bob')
    expect(unstar.star).toBe(false)
    expect(changesPackage(unstar)).toBe(false)
    expect(isEmptyPlan(planEdit('pkg', { stars: new Set(['bob']) }, served, local, 'bob'))).toBe(true)
  })

  it('maintainers change only when they differ; a new version needs its tarball', () => {
    expect(isEmptyPlan(planEdit('pkg', { maintainers: [{ name: 'alice' }] }, served, local, 'alice'))).toBe(true)
    expect(planEdit('pkg', { maintainers: [{ name: 'alice' }, { name: 'carol' }], rev: '1-override' }, served, local, 'alice')).toEqual({
      removed: [],
      deprecations: {},
      maintainers: [{ name: 'alice' }, { name: 'carol' }],
      rev: '1-override',
    })
    expect(() => planEdit('pkg', { versions: { ...all, '3.0.0': {} } }, served, local, 'alice')).toThrow(expect.objectContaining({ code: 'EBADPUBLISH' }))
  })
})

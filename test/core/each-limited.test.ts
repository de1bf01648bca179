import { describe, expect, it } from 'vitest'
import { mapLimited, merged } from '../../src/core/each-limited.js'

const collect = async <T>(items: AsyncIterable<T>) => {
  const out: T[] = []
  for await (const item of items) out.push(item)
  return out
}

describe('merged and mapLimited', () => {
  it('yields every item of every source, a slow source holding up none of the others', async () => {
    let release: () => void = () => undefined
    const gate = new Promise<void>((resolve) => (release = resolve))
    async function* slow() {
      await gate
      yield 'slow'
    }
    async function* fast() {
      for (const item of ['a', 'b', 'c']) yield await Promise.resolve(item)
      release()
    }
    expect(await collect(merged([slow(), fast()]))).toEqual(['a', 'b', 'c', 'slow'])
  })

  it("a source's failure rejects and ends the other sources", async () => {
    const ended: string[] = []
    async function* endless() {
      try {
        for (let i = 0; ; i++) {
          await new Promise((resolve) => setImmediate(resolve))
          yield i
        }
      } finally {
        ended.push('endless')
      }
    }
    async function* failing() {
      yield await Promise.resolve(-1)
      throw Object.assign(new Error('read failed'), { code: 'EIO' })
    }
    await expect(collect(merged([endless(), failing()]))).rejects.toMatchObject({ code: 'EIO' })
    expect(ended).toEqual(['endless'])
  })

  it('mapLimited runs at most `limit` at once and gives every result', async () => {
    let running = 0
    let most = 0
    const results = await collect(
      mapLimited([1, 2, 3, 4, 5, 6, 7], 3, async (n) => {
        running++
        most = Math.max(most, running)
        await new Promise((resolve) => setTimeout(resolve, n % 3))
        running--
        return n * 10
      }),
    )
    expect(results.sort((a, b) => a - b)).toEqual([10, 20, 30, 40, 50, 60, 70])
    expect(most).toBe(3)
  })
})

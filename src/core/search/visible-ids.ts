import type { WordIndex } from './word-index.js'

type Visible = (name: string) => boolean

/** 0: not asked yet, else the answer. */
const YES = 1
const NO = 2

/**
 * The answers of each `visible` function a search was given, per package id, one byte each:
 * counting the matches a caller may see then costs a byte read per match, not a call (the
 * route passes the same function for the same user and rules). Held weakly: a function
 * nobody keeps takes its answers with it. Void when the index renumbers its ids.
 */
export class VisibleIds {
  private masks = new WeakMap<Visible, { generation: number; mask: Uint8Array }>()

  /** `visible` asked by id, each id once per function. */
  of(index: WordIndex, visible: Visible): (id: number) => boolean {
    let entry = this.masks.get(visible)
    if (!entry || entry.generation !== index.generation) {
      entry = { generation: index.generation, mask: new Uint8Array(index.capacity + 1024) }
      this.masks.set(visible, entry)
    } else if (entry.mask.length < index.capacity) {
      const grown = new Uint8Array(index.capacity + (index.capacity >>> 2) + 1024)
      grown.set(entry.mask)
      entry.mask = grown
    }
    const { mask } = entry
    return (id) => {
      let answer = mask[id]
      if (answer === 0) {
        const summary = index.at(id)
        answer = summary && visible(summary.name) ? YES : NO
        mask[id] = answer
      }
      return answer === YES
    }
  }
}

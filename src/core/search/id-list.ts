/**
 * A growable list of package ids in one typed array (4 bytes an id, no boxed numbers). Ids
 * are appended in increasing order (a package gets a larger id than every earlier one), so a
 * list is sorted without ever being sorted.
 */
export class IdList {
  ids: Uint32Array
  length = 0

  constructor(capacity = 2) {
    this.ids = new Uint32Array(capacity)
  }

  push(id: number): void {
    if (this.length === this.ids.length) {
      const grown = new Uint32Array(Math.max(4, this.ids.length * 2))
      grown.set(this.ids)
      this.ids = grown
    }
    this.ids[this.length++] = id
  }
}

/** An IdList with a score per id, known when the id is added (a one-letter word's score in a name). */
export class ScoredIdList extends IdList {
  scores = new Uint16Array(2)

  pushScored(id: number, score: number): void {
    if (this.length === this.scores.length) {
      const grown = new Uint16Array(Math.max(4, this.scores.length * 2))
      grown.set(this.scores)
      this.scores = grown
    }
    this.scores[this.length] = score
    this.push(id)
  }
}

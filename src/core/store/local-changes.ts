import type { LocalDoc } from './documents.js'

/** Changes of one package taken into one group at most: a group's work under the lock stays bounded. */
export const GROUP_LIMIT = 64

/** What LocalChanges needs of a store: its package lock and the local document. */
export interface LocalDocuments {
  withLock<T>(name: string, fn: () => Promise<T>): Promise<T>
  readLocal(name: string): Promise<{ doc: LocalDoc } | null>
  writeLocal(name: string, doc: LocalDoc | null): Promise<void>
}

/** See Packages.changeLocal. */
export type LocalChange = (current: LocalDoc | null) => LocalDoc | null | Promise<LocalDoc | null>

interface Pending {
  change: LocalChange
  resolve: () => void
  reject: (error: unknown) => void
}

/**
 * Group commit of a package's local document (Packages.changeLocal): changes asked for while a
 * group of that package waits for its lock join that group, so N queued changes (concurrent
 * publishes of one package) cost one lock, one read and one durable write instead of N each.
 * In the group each change runs in call order on the document as the ones before it left it,
 * as if alone under the lock; one that throws is refused alone (the document stays as it was
 * before it), and the others go on. If the read or the write fails, every change of the group
 * that was not refused already fails with that error: none of them was written. Callers are
 * answered after the lock is released.
 */
export class LocalChanges {
  /** The group of each package still taking changes: it has not got its lock yet. */
  private readonly open = new Map<string, Pending[]>()

  constructor(
    private readonly documents: LocalDocuments,
    private readonly limit = GROUP_LIMIT,
  ) {}

  run(name: string, change: LocalChange): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      let group = this.open.get(name)
      const lead = !group || group.length >= this.limit
      if (!group || lead) {
        group = []
        this.open.set(name, group)
      }
      group.push({ change, resolve, reject })
      if (lead) void this.commit(name, group)
    })
  }

  private async commit(name: string, group: Pending[]): Promise<void> {
    /** Each change's answer, once known: a refusal at once, a success only after the write. */
    const answers = new Map<Pending, () => void>()
    try {
      await this.documents.withLock(name, async () => {
        // From here on, a change asked for starts the next group (which waits for this lock).
        if (this.open.get(name) === group) this.open.delete(name)
        const stored = await this.documents.readLocal(name)
        let doc = stored ? stored.doc : null
        const applied: Pending[] = []
        for (const pending of group) {
          try {
            // A copy each: the stored document may be shared with readers, and a change that
            // throws halfway must leave nothing of itself in the next one's document.
            const next = await pending.change(doc ? structuredClone(doc) : null)
            if (next) next.revision = (doc?.revision ?? 0) + 1
            doc = next
            applied.push(pending)
          } catch (error) {
            answers.set(pending, () => pending.reject(error))
          }
        }
        if (applied.length === 0) return
        await this.documents.writeLocal(name, doc)
        for (const pending of applied) answers.set(pending, () => pending.resolve())
      })
    } catch (error) {
      // The lock, the read or the write failed: every change not refused already fails with it.
      for (const pending of group) if (!answers.has(pending)) answers.set(pending, () => pending.reject(error))
    } finally {
      if (this.open.get(name) === group) this.open.delete(name)
    }
    for (const pending of group) answers.get(pending)?.()
  }
}

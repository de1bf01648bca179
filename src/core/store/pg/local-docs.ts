import { LRUCache } from 'lru-cache'
import type { LocalDoc } from '../documents.js'

/** Bytes of local documents kept parsed in memory (their stored size): published packages are few, a big one is a few MB. */
const LOCAL_DOCS_BYTES = 64 * 1024 * 1024

/**
 * The last local document this handle read or wrote per package, with the stamp of that
 * version, so a read whose stamp the database still has needs neither the bytes nor a parse
 * (readLocal asks for the body only when the stamp moved). The stamp is checked by the database
 * on every read, never taken from memory: another instance may have written since. The
 * documents are shared with callers, who treat them as read-only (Packages.readLocal).
 */
export class LocalDocs {
  private readonly docs = new LRUCache<string, { stamp: string; doc: LocalDoc; size: number }>({
    maxSize: LOCAL_DOCS_BYTES,
    sizeCalculation: (entry) => Math.max(1, entry.size),
  })

  /** The stamp of what is kept for `name`, for the database to compare; null when nothing is. */
  stampOf(name: string): string | null {
    return this.docs.get(name)?.stamp ?? null
  }

  /** The document kept for exactly this stamp, if any. */
  get(name: string, stamp: string): LocalDoc | null {
    const entry = this.docs.get(name)
    return entry?.stamp === stamp ? entry.doc : null
  }

  set(name: string, stamp: string, doc: LocalDoc, size: number): void {
    this.docs.set(name, { stamp, doc, size })
  }

  delete(name: string): void {
    this.docs.delete(name)
  }
}

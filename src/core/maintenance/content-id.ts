/**
 * Tells contents apart by 12 base64 characters of their sha512 digest (72 bits), for what
 * maintenance holds per content while the index streams past (prune's counts, verify's
 * found flags): V8 copies a slice that short instead of pointing into the entry's string, so
 * one costs ~60 bytes in a Map rather than the whole digest's ~150; two contents sharing those
 * 72 bits is a chance below 1e-8 even among ten million.
 */
export function contentId(integrity: string): string {
  return integrity.slice('sha512-'.length, 'sha512-'.length + 12)
}

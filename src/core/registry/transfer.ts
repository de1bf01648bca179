import { ownsItsMemory } from '../json-bytes.js'

/**
 * The memory of typed arrays that can move between the main thread and the view worker without a
 * copy: only an array that owns its whole ArrayBuffer (or its start, for what jsonBytes made). A small Buffer is a slice of Node's shared
 * pool, which must stay where it is (it is copied instead).
 */
export function ownedMemory(arrays: Iterable<ArrayBufferView | null | undefined>): ArrayBuffer[] {
  const found: ArrayBuffer[] = []
  for (const array of arrays) {
    if (!array || !(array.buffer instanceof ArrayBuffer)) continue
    const whole = array.byteLength === array.buffer.byteLength || ownsItsMemory(array.buffer)
    if (array.byteOffset === 0 && whole && !found.includes(array.buffer)) found.push(array.buffer)
  }
  return found
}


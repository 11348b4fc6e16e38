/** Test helpers for mutating byte strings. */

/** XORs one byte in place. */
export function flip(bytes: Uint8Array, index: number, mask = 1): void {
  if (index < 0 || index >= bytes.length) throw new RangeError(`flip: index ${index} outside 0..${bytes.length - 1}`);
  bytes[index] = (bytes[index] as number) ^ mask;
}

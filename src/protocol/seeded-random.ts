/**
 * A deterministic byte stream (SHA-256 in counter mode over a seed) for recording and replaying APDU
 * transcripts: the host's session randomness (eH, IVs) must be the same on replay as when recorded.
 * NEVER for a real session: anyone who knows the seed knows eH.
 * @module
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { concatBytes, utf8ToBytes } from '@noble/hashes/utils.js';

/** `length` bytes per call, continuing the stream of `seed`. */
export function seededRandom(seed: string): (length: number) => Uint8Array {
  let counter = 0;
  const base = utf8ToBytes(seed);
  return (length: number): Uint8Array => {
    const blocks: Uint8Array[] = [];
    let have = 0;
    while (have < length) {
      const c = new Uint8Array(4);
      new DataView(c.buffer).setUint32(0, counter++, false);
      const block = sha256(concatBytes(base, c));
      blocks.push(block);
      have += block.length;
    }
    return concatBytes(...blocks).slice(0, length);
  };
}

/**
 * Hex for people: APDU traces, CLI arguments, test vectors. The byte work is @noble/hashes'
 * `bytesToHex` / `hexToBytes`; this module only fixes the presentation (uppercase, as card specs and
 * PC/SC traces print it) and accepts the separators people paste from such traces.
 * @module
 */
import { bytesToHex, hexToBytes, isBytes } from '@noble/hashes/utils.js';
import { describeType } from './_checks.js';

/**
 * Bytes to uppercase hex without separators.
 * @throws TypeError when `bytes` is not a Uint8Array.
 * @example toHex(Uint8Array.of(0x90, 0x00)) // '9000'
 */
export function toHex(bytes: Uint8Array): string {
  if (!isBytes(bytes)) throw new TypeError(`toHex: expected Uint8Array, got ${describeType(bytes)}`);
  return bytesToHex(bytes).toUpperCase();
}

const SEPARATORS = /[\s:]+/;
const HEX_DIGITS = /^[0-9a-fA-F]*$/;

/**
 * Hex to bytes, either case. Whitespace and colons are accepted BETWEEN bytes only
 * (`'00 A4:04 00'`), so a separator that splits a byte (`'0 0A4'`) is an error rather than a silent
 * re-pairing of nibbles.
 * @throws TypeError when `hex` is not a string; RangeError naming the position for a non-hex character
 *   or an odd number of digits.
 * @example fromHex('00 A4 04 00') // Uint8Array [0x00, 0xA4, 0x04, 0x00]
 */
export function fromHex(hex: string): Uint8Array {
  if (typeof hex !== 'string') throw new TypeError(`fromHex: expected string, got ${describeType(hex)}`);
  let position = 0;
  const groups: string[] = [];
  for (const group of hex.split(SEPARATORS)) {
    const at = hex.indexOf(group, position);
    position = at + group.length;
    if (group.length === 0) continue;
    if (!HEX_DIGITS.test(group)) {
      const bad = group.search(/[^0-9a-fA-F]/);
      throw new RangeError(`fromHex: non-hex character ${JSON.stringify(group[bad])} at index ${at + bad}`);
    }
    if (group.length % 2 !== 0) {
      throw new RangeError(
        `fromHex: odd number of hex digits in ${JSON.stringify(group)} at index ${at} ` + '(separators are allowed between bytes only)',
      );
    }
    groups.push(group);
  }
  return hexToBytes(groups.join(''));
}

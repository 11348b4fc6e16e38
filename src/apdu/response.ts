/**
 * Response APDUs, ISO/IEC 7816-4 section 5.1: `data || SW1 SW2`.
 * @module
 */
import { isBytes } from '@noble/hashes/utils.js';
import { checkBytes, checkInt, describeType } from './_checks.js';
import { ApduFormatError, MAX_NE } from './command.js';

/** A response APDU; `sw` is `SW1 << 8 | SW2`. */
export interface ResponseApdu {
  readonly data: Uint8Array;
  readonly sw: number;
}

/** The success status word. */
export const SW_OK = 0x9000;

/** SW1 of a status word. */
export const sw1 = (sw: number): number => (sw >> 8) & 0xff;
/** SW2 of a status word. */
export const sw2 = (sw: number): number => sw & 0xff;

/**
 * Splits raw response bytes into data and status word (the data is a copy).
 * @throws TypeError when `bytes` is not a Uint8Array; ApduFormatError for fewer than 2 bytes.
 * @example parseResponse(fromHex('01029000')) // { data: [1, 2], sw: 0x9000 }
 */
export function parseResponse(bytes: Uint8Array): ResponseApdu {
  if (!isBytes(bytes)) throw new TypeError(`parseResponse: expected Uint8Array, got ${describeType(bytes)}`);
  const n = bytes.length;
  if (n < 2) throw new ApduFormatError(`response APDU: needs at least 2 bytes (SW1 SW2), got ${n}`, n);
  const sw = ((bytes[n - 2] as number) << 8) | (bytes[n - 1] as number);
  return Object.freeze({ data: bytes.slice(0, n - 2), sw });
}

/**
 * Builds raw response bytes `data || SW1 SW2`.
 * @throws TypeError / RangeError for non-bytes data, data over 65536 bytes, or sw outside 0..0xFFFF.
 * @example toHex(encodeResponse(Uint8Array.of(1), 0x9000)) // '019000'
 */
export function encodeResponse(data: Uint8Array, sw: number): Uint8Array {
  checkBytes('data', data, MAX_NE);
  checkInt('sw', sw, 0, 0xffff);
  const out = new Uint8Array(data.length + 2);
  out.set(data);
  out[data.length] = sw1(sw);
  out[data.length + 1] = sw2(sw);
  return out;
}

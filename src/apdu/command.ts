/**
 * Command APDUs, ISO/IEC 7816-4:2020 section 5.1 ("Command-response pairs"), and 7816-3 12.1 for the
 * four cases:
 *
 * | case | body                         | short                     | extended                          |
 * |------|------------------------------|---------------------------|-----------------------------------|
 * | 1    | (none)                       | `CLA INS P1 P2`           | (same)                            |
 * | 2    | Le                           | `.. Le` (00 = 256)        | `.. 00 Le1 Le2` (0000 = 65536)    |
 * | 3    | Lc data                      | `.. Lc data` (Lc 1..255)  | `.. 00 Lc1 Lc2 data` (1..65535)   |
 * | 4    | Lc data Le                   | `.. Lc data Le`           | `.. 00 Lc1 Lc2 data Le1 Le2`      |
 *
 * Lengths are never mixed: a command is short or extended as a whole.
 * @module
 */
import { checkBytes, checkInt, describeType } from './_checks.js';
import { isBytes } from '@noble/hashes/utils.js';

/** Malformed APDU bytes (command or response); `offset` is where in the input the problem was found. */
export class ApduFormatError extends RangeError {
  readonly offset?: number;
  constructor(message: string, offset?: number) {
    super(offset === undefined ? message : `${message} (at byte ${offset})`);
    this.name = 'ApduFormatError';
    if (offset !== undefined) this.offset = offset;
  }
}

/** A command APDU. Build one with {@link command}, which checks every field. */
export interface CommandApdu {
  readonly cla: number;
  readonly ins: number;
  readonly p1: number;
  readonly p2: number;
  /** Command data field; its length is Nc (0..65535). */
  readonly data: Uint8Array;
  /**
   * Ne, the maximum number of response data bytes expected: 0 = no Le field; 1..65536.
   * 256 is short Le `00`, 65536 is extended Le `0000`.
   */
  readonly ne: number;
}

/** Largest Nc: extended Lc is two bytes and 0000 is not a valid Lc. */
export const MAX_COMMAND_DATA = 65535;
/** Largest Ne: extended Le `0000`. */
export const MAX_NE = 65536;
/** Largest Nc and Ne that short APDUs carry. */
export const SHORT_MAX_DATA = 255;
export const SHORT_MAX_NE = 256;

/** GET RESPONSE (ISO/IEC 7816-4 11.7.1): fetches the rest of an answer after 61xx, whatever the CLA. */
export const INS_GET_RESPONSE = 0xc0;

/**
 * Builds a checked command APDU (a frozen object holding a copy of `data`).
 * @param data command data, default empty (0..65535 bytes)
 * @param ne expected response length, default 0 (no Le field); 256 / 65536 for "as much as possible"
 * @throws TypeError for a non-integer field or non-Uint8Array data; RangeError naming the field that
 *   is out of range.
 * @example command(0x00, 0xa4, 0x04, 0x00, fromHex('A000000151000000'), 256) // SELECT by AID
 */
export function command(cla: number, ins: number, p1: number, p2: number, data: Uint8Array = new Uint8Array(0), ne = 0): CommandApdu {
  checkInt('cla', cla, 0, 0xff);
  checkInt('ins', ins, 0, 0xff);
  checkInt('p1', p1, 0, 0xff);
  checkInt('p2', p2, 0, 0xff);
  checkBytes('data', data, MAX_COMMAND_DATA);
  checkInt('ne', ne, 0, MAX_NE);
  return Object.freeze({ cla, ins, p1, p2, data: data.slice(), ne });
}

/** `auto`: short when Nc <= 255 and Ne <= 256, extended otherwise. */
export type LengthEncoding = 'auto' | 'short' | 'extended';

/** Whether a command fits the short form. */
function fitsShort(cmd: CommandApdu): boolean {
  return cmd.data.length <= SHORT_MAX_DATA && cmd.ne <= SHORT_MAX_NE;
}

/**
 * Serializes a command APDU. Case 1 has no length fields, so it is the 4-byte header whatever the
 * encoding asked for.
 * @throws RangeError when `encoding` is 'short' and Nc > 255 or Ne > 256, or for invalid fields
 *   (the command is re-checked: an object literal can hold anything).
 * @example toHex(encodeCommand(command(0, 0xa4, 4, 0, fromHex('A000000151000000'), 256)))
 *   // '00A4040008A00000015100000000'
 */
export function encodeCommand(cmd: CommandApdu, encoding: LengthEncoding = 'auto'): Uint8Array {
  // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- runtime check for untyped callers
  if (typeof cmd !== 'object' || cmd === null) {
    throw new TypeError(`encodeCommand: expected a CommandApdu, got ${describeType(cmd)}`);
  }
  const { cla, ins, p1, p2, data, ne } = command(cmd.cla, cmd.ins, cmd.p1, cmd.p2, cmd.data, cmd.ne);
  // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- runtime check for untyped callers
  if (encoding !== 'auto' && encoding !== 'short' && encoding !== 'extended') {
    throw new TypeError(`encodeCommand: encoding must be 'auto', 'short' or 'extended', got ${String(encoding)}`);
  }
  const nc = data.length;
  const short = fitsShort(cmd);
  if (encoding === 'short' && !short) {
    throw new RangeError(`encodeCommand: short APDU carries Nc <= ${SHORT_MAX_DATA} and Ne <= ${SHORT_MAX_NE}, got Nc=${nc}, Ne=${ne}`);
  }
  const extended = encoding === 'extended' || (encoding === 'auto' && !short);
  if (nc === 0 && ne === 0) return Uint8Array.of(cla, ins, p1, p2);

  // Extended: one 00 marker byte, then 2-byte Lc and/or 2-byte Le (65536 -> 0000).
  // Short: 1-byte Lc and/or 1-byte Le (256 -> 00).
  const lcBytes = nc === 0 ? [] : extended ? [nc >> 8, nc & 0xff] : [nc];
  const leBytes = ne === 0 ? [] : extended ? [(ne >> 8) & 0xff, ne & 0xff] : [ne & 0xff];
  const marker = extended ? [0x00] : [];
  const out = new Uint8Array(4 + marker.length + lcBytes.length + nc + leBytes.length);
  let i = 0;
  for (const b of [cla, ins, p1, p2, ...marker, ...lcBytes]) out[i++] = b;
  out.set(data, i);
  i += nc;
  for (const b of leBytes) out[i++] = b;
  return out;
}

/** A parsed command APDU, with the form it came in. */
export interface DecodedCommand extends CommandApdu {
  readonly extended: boolean;
  readonly case: 1 | 2 | 3 | 4;
}

/**
 * Parses a command APDU strictly: the length fields must account for every byte.
 * @throws TypeError when `bytes` is not a Uint8Array; ApduFormatError (a RangeError) for fewer than
 *   4 bytes, a truncated or overlong body, short Lc = 00 followed by data, extended Lc = 0000, or a
 *   one-byte extended Le.
 * @example decodeCommand(fromHex('00B0000000')) // case 2 short, ne 256
 */
export function decodeCommand(bytes: Uint8Array): DecodedCommand {
  if (!isBytes(bytes)) throw new TypeError(`decodeCommand: expected Uint8Array, got ${describeType(bytes)}`);
  const n = bytes.length;
  if (n < 4) throw new ApduFormatError(`command APDU: header needs 4 bytes, got ${n}`, n);
  const at = (i: number): number => bytes[i] as number; // callers check i < n
  const make = (c: 1 | 2 | 3 | 4, extended: boolean, data: Uint8Array, ne: number): DecodedCommand =>
    Object.freeze({ cla: at(0), ins: at(1), p1: at(2), p2: at(3), data: data.slice(), ne, extended, case: c });
  const empty = new Uint8Array(0);

  if (n === 4) return make(1, false, empty, 0);
  const b4 = at(4);
  if (n === 5) return make(2, false, empty, b4 === 0 ? 256 : b4);

  if (b4 !== 0) {
    // Short Lc. Body is Lc data [Le].
    const lc = b4;
    const end = 5 + lc;
    if (n < end) {
      throw new ApduFormatError(`command APDU: Lc=${lc} but only ${n - 5} data bytes follow`, n);
    }
    if (n === end) return make(3, false, bytes.subarray(5, end), 0);
    if (n === end + 1) {
      const le = at(end);
      return make(4, false, bytes.subarray(5, end), le === 0 ? 256 : le);
    }
    throw new ApduFormatError(`command APDU: ${n - end - 1} trailing bytes after short Lc=${lc}, data and Le`, end + 1);
  }

  // B1 = 00 with more bytes after it: an extended length (short Lc = 00 does not exist).
  if (n === 6) {
    throw new ApduFormatError(
      'command APDU: byte 4 is 00 followed by one byte: neither short Lc (00 is not a valid Lc) ' +
        'nor an extended length (needs 2 bytes)',
      5,
    );
  }
  const len = (at(5) << 8) | at(6);
  if (n === 7) return make(2, true, empty, len === 0 ? 65536 : len);
  const lc = len;
  if (lc === 0) {
    throw new ApduFormatError(`command APDU: extended Lc=0000 followed by ${n - 7} bytes`, 5);
  }
  const end = 7 + lc;
  if (n < end) {
    throw new ApduFormatError(`command APDU: extended Lc=${lc} but only ${n - 7} data bytes follow`, n);
  }
  if (n === end) return make(3, true, bytes.subarray(7, end), 0);
  if (n === end + 1) {
    throw new ApduFormatError('command APDU: extended Le needs 2 bytes, got 1', end);
  }
  if (n === end + 2) {
    const le = (at(end) << 8) | at(end + 1);
    return make(4, true, bytes.subarray(7, end), le === 0 ? 65536 : le);
  }
  throw new ApduFormatError(`command APDU: ${n - end - 2} trailing bytes after extended Lc=${lc}, data and Le`, end + 2);
}

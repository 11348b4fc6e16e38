/**
 * TLV codecs.
 *
 * - BER-TLV as ISO/IEC 7816-4:2020 section 6.3 uses it (X.690 8.1.2 tags, 8.1.3 definite lengths):
 *   tags of 1..4 bytes, lengths up to 3 bytes (`83 xx xx xx`) in minimal form.
 * - The card protocol's TLV (docs/protocol.md section 2): a one-byte tag `01..FE` and the same minimal
 *   definite length up to `82 xx xx`. Small on purpose: a JavaCard applet parses it in a few lines, and
 *   a single canonical encoding means a byte string has one reading on the card and on the host.
 *
 * Every decoder is strict: each byte of the input belongs to exactly one TLV, and anything else is a
 * {@link TlvError} with the offset where parsing stopped.
 * @module
 */
import { concatBytes, isBytes } from '@noble/hashes/utils.js';
import { checkBytes, checkInt, describeType, hexNumber } from './_checks.js';

/** Malformed TLV input; `offset` is the byte where the problem was found. */
export class TlvError extends RangeError {
  readonly offset: number;
  constructor(message: string, offset: number) {
    super(`${message} (at byte ${offset})`);
    this.name = 'TlvError';
    this.offset = offset;
  }
}

export interface Tlv {
  /** The tag bytes read as a big-endian integer: `0x9F27` for tag bytes `9F 27`. */
  readonly tag: number;
  readonly value: Uint8Array;
}

/** Longest BER length this module reads or writes: three length bytes (`83 xx xx xx`). */
const BER_MAX_LENGTH = 0xffffff;
/** Longest protocol TLV value: two length bytes (`82 xx xx`). */
const PROTOCOL_MAX_LENGTH = 0xffff;

// ---------------------------------------------------------------------------------------------
// Lengths (shared)

/**
 * Reads a minimal definite length at `offset`, at most `maxLengthBytes` bytes after the first.
 * @returns the length and the offset of the first value byte.
 */
function readLength(bytes: Uint8Array, offset: number, maxLengthBytes: number): [number, number] {
  const first = bytes[offset];
  if (first === undefined) throw new TlvError('truncated TLV: length missing', offset);
  if (first < 0x80) return [first, offset + 1];
  if (first === 0x80) throw new TlvError('indefinite length (80) is not allowed', offset);
  const count = first & 0x7f;
  if (count > maxLengthBytes) {
    throw new TlvError(`length field ${hexByte(first)} announces ${count} length bytes, at most ${maxLengthBytes} supported`, offset);
  }
  if (offset + 1 + count > bytes.length) {
    throw new TlvError(`truncated TLV: length needs ${count} more bytes, got ${bytes.length - offset - 1}`, offset);
  }
  let length = 0;
  for (let i = 1; i <= count; i++) length = length * 256 + (bytes[offset + i] as number);
  // Minimal form (X.690 10.1, DER): the long form only for >= 0x80, and no leading zero byte.
  if (length < 0x80 || bytes[offset + 1] === 0) {
    throw new TlvError(`non-minimal length encoding ${hexByte(first)} for length ${length}`, offset);
  }
  return [length, offset + 1 + count];
}

function lengthBytes(length: number): number[] {
  if (length < 0x80) return [length];
  if (length <= 0xff) return [0x81, length];
  if (length <= 0xffff) return [0x82, length >> 8, length & 0xff];
  return [0x83, length >> 16, (length >> 8) & 0xff, length & 0xff];
}

function readValue(bytes: Uint8Array, tagOffset: number, valueOffset: number, length: number, tag: string): Uint8Array {
  const available = bytes.length - valueOffset;
  if (length > available) {
    throw new TlvError(`truncated TLV: tag ${tag} has length ${length} but only ${available} bytes follow`, tagOffset);
  }
  return bytes.slice(valueOffset, valueOffset + length);
}

// ---------------------------------------------------------------------------------------------
// BER-TLV

/**
 * Reads a tag at `offset` (X.690 8.1.2: the first subsequent byte carries tag number bits, it is not
 * 00 or 80). Unlike DER, a subsequent byte for tag numbers below 31 is accepted: EMV's 9F02..9F1E and
 * BF0C are in every payment card, and the tag bytes, not the tag number, are what this module keeps.
 * @returns the tag number and the offset after the tag.
 */
function readBerTag(bytes: Uint8Array, offset: number): [number, number] {
  const first = bytes[offset] as number; // the caller checked offset < length
  if (first === 0x00 || first === 0xff) {
    // 7816-4 6.3: 00 and FF are padding before, between or after data objects, never a tag.
    throw new TlvError(`invalid tag byte ${hexByte(first)} (00 and FF are not tags)`, offset);
  }
  if ((first & 0x1f) !== 0x1f) return [first, offset + 1];
  let tag = first;
  for (let i = 1; ; i++) {
    const b = bytes[offset + i];
    if (b === undefined) throw new TlvError('truncated tag', offset);
    if (i === 1 && (b & 0x7f) === 0) {
      throw new TlvError(`non-minimal tag: first subsequent byte is ${hexByte(b)}`, offset);
    }
    tag = tag * 256 + b; // not <<: a 4-byte tag does not fit a signed 32-bit int
    if ((b & 0x80) === 0) return [tag, offset + i + 1];
    if (i === 3) throw new TlvError('tag longer than 4 bytes', offset);
  }
}

/** The bytes of a tag number, checked to be exactly one well-formed BER tag. */
function berTagBytes(tag: number): number[] {
  checkInt('tag', tag, 1, 0xffffffff);
  const out: number[] = [];
  for (let t = tag; t > 0; t = Math.floor(t / 256)) out.unshift(t % 256);
  let parsed: [number, number];
  try {
    parsed = readBerTag(Uint8Array.from(out), 0);
  } catch (e) {
    throw new RangeError(`tag ${hexTag(tag)} is not a valid BER tag: ${(e as Error).message}`, { cause: e });
  }
  if (parsed[1] !== out.length) {
    throw new RangeError(`tag ${hexTag(tag)} is not a valid BER tag: its first ${parsed[1]} bytes already form a tag`);
  }
  return out;
}

/**
 * Decodes a sequence of BER-TLV data objects (the top level only: a constructed object's value is
 * returned as bytes, decode it again to descend).
 * @throws TypeError when `bytes` is not a Uint8Array; TlvError for a truncated tag, length or value,
 *   an indefinite or non-minimal length, a length of 2^24 or more, a tag over 4 bytes, a 00/FF tag.
 * @example decodeBerTlv(fromHex('9F2701805F2D02656E'))
 *   // [{ tag: 0x9F27, value: [0x80] }, { tag: 0x5F2D, value: 'en' }]
 */
export function decodeBerTlv(bytes: Uint8Array): Tlv[] {
  if (!isBytes(bytes)) throw new TypeError(`decodeBerTlv: expected Uint8Array, got ${describeType(bytes)}`);
  const out: Tlv[] = [];
  let offset = 0;
  while (offset < bytes.length) {
    const start = offset;
    const [tag, afterTag] = readBerTag(bytes, offset);
    const [length, valueOffset] = readLength(bytes, afterTag, 3);
    const value = readValue(bytes, start, valueOffset, length, hexTag(tag));
    out.push(Object.freeze({ tag, value }));
    offset = valueOffset + length;
  }
  return out;
}

/**
 * Encodes one BER-TLV data object with the minimal length encoding.
 * @throws RangeError for a tag that is not one well-formed BER tag of 1..4 bytes, or a value of 2^24
 *   bytes or more; TypeError for non-bytes.
 * @example toHex(encodeBerTlv(0x5f2d, utf8ToBytes('en'))) // '5F2D02656E'
 */
export function encodeBerTlv(tag: number, value: Uint8Array): Uint8Array {
  const tagBytes = berTagBytes(tag);
  checkBytes('value', value, BER_MAX_LENGTH);
  return concatBytes(Uint8Array.from([...tagBytes, ...lengthBytes(value.length)]), value);
}

/**
 * Whether a BER tag is constructed (bit 6 of its first byte), i.e. its value is itself BER-TLV.
 * @throws RangeError for an invalid tag number.
 * @example isConstructed(0x6f) // true; isConstructed(0x9f27) // false
 */
export function isConstructed(tag: number): boolean {
  return ((berTagBytes(tag)[0] as number) & 0x20) !== 0;
}

// ---------------------------------------------------------------------------------------------
// Protocol TLV

function checkProtocolTag(tag: number): number {
  return checkInt('protocol TLV tag', tag, 0x01, 0xfe);
}

/**
 * Decodes a sequence of protocol TLVs (docs/protocol.md section 2).
 * @throws TypeError for non-bytes; TlvError for tag 00 or FF, a truncated length or value, a
 *   non-minimal or indefinite length, or a length field longer than `82 xx xx`.
 * @example decodeProtocolTlv(fromHex('010101030102')) // [{ tag: 1, value: [1] }, { tag: 3, value: [2] }]
 */
export function decodeProtocolTlv(bytes: Uint8Array): Tlv[] {
  return decodeProtocolTlvAt(bytes).map(({ tag, value }) => Object.freeze({ tag, value }));
}

/** {@link decodeProtocolTlv}, keeping where each TLV started (for error messages about its content). */
function decodeProtocolTlvAt(bytes: Uint8Array): Array<Tlv & { offset: number }> {
  if (!isBytes(bytes)) throw new TypeError(`decodeProtocolTlv: expected Uint8Array, got ${describeType(bytes)}`);
  const out: Array<Tlv & { offset: number }> = [];
  let offset = 0;
  while (offset < bytes.length) {
    const start = offset;
    const tag = bytes[offset] as number;
    if (tag === 0x00 || tag === 0xff) throw new TlvError(`invalid protocol tag ${hexByte(tag)}`, offset);
    const [length, valueOffset] = readLength(bytes, offset + 1, 2);
    const value = readValue(bytes, start, valueOffset, length, hexByte(tag));
    out.push({ tag, value, offset: start });
    offset = valueOffset + length;
  }
  return out;
}

/**
 * Encodes one protocol TLV.
 * @throws RangeError for a tag outside 01..FE or a value over 65535 bytes; TypeError for non-bytes.
 * @example toHex(encodeProtocolTlv(0x03, Uint8Array.of(2))) // '030102'
 */
export function encodeProtocolTlv(tag: number, value: Uint8Array): Uint8Array {
  checkProtocolTag(tag);
  checkBytes(`tag ${hexByte(tag)} value`, value, PROTOCOL_MAX_LENGTH);
  return concatBytes(Uint8Array.from([tag, ...lengthBytes(value.length)]), value);
}

/**
 * Encodes protocol TLVs in the order given.
 * @example toHex(encodeProtocolTlvs([[1, Uint8Array.of(1)], [3, Uint8Array.of(2)]])) // '010101030102'
 */
export function encodeProtocolTlvs(items: ReadonlyArray<readonly [number, Uint8Array]>): Uint8Array {
  const unchecked: unknown = items;
  if (!Array.isArray(unchecked)) throw new TypeError(`encodeProtocolTlvs: expected an array, got ${describeType(items)}`);
  return concatBytes(...items.map(([tag, value]) => encodeProtocolTlv(tag, value)));
}

// ---------------------------------------------------------------------------------------------
// Records

/** An exact length, or an inclusive range. */
export type LengthSpec = number | { readonly min: number; readonly max: number };

export interface TlvRecordOptions {
  /** The tags that may appear; any other is an error. */
  readonly allowed: readonly number[];
  /** What is being parsed, the prefix of every message: `READ response`. */
  readonly what: string;
  /** When true, present tags must appear in the order of `allowed` (the protocol fixes field order). */
  readonly ordered?: boolean;
}

/**
 * A parsed set of protocol TLVs with each tag at most once, and accessors that check presence and
 * length with messages that say exactly what was wrong.
 * @example
 * const r = TlvRecord.parse(data, { allowed: [0x01, 0x03, 0x02], what: 'READ response' });
 * const version = r.required(0x01, 1);        // TlvError 'READ response: missing tag 0x01' if absent
 * const cardId = r.optional(0x02, 8);         // undefined if absent
 */
export class TlvRecord {
  readonly what: string;
  readonly #fields: ReadonlyMap<number, { value: Uint8Array; offset: number }>;
  readonly #end: number;

  private constructor(what: string, fields: Map<number, { value: Uint8Array; offset: number }>, end: number) {
    this.what = what;
    this.#fields = fields;
    this.#end = end;
  }

  /**
   * @throws TlvError for malformed TLV bytes, a duplicate tag, a tag not in `allowed`, or (with
   *   `ordered`) a tag out of order; all prefixed with `what`.
   */
  static parse(bytes: Uint8Array, opts: TlvRecordOptions): TlvRecord {
    // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- runtime check for untyped callers
    if (typeof opts !== 'object' || opts === null || !Array.isArray(opts.allowed) || typeof opts.what !== 'string') {
      throw new TypeError('TlvRecord.parse: opts must be { allowed: number[], what: string }');
    }
    const { allowed, what, ordered = false } = opts;
    allowed.forEach(checkProtocolTag);
    let items: Array<Tlv & { offset: number }>;
    try {
      items = decodeProtocolTlvAt(bytes);
    } catch (e) {
      if (e instanceof TlvError) throw new TlvError(`${what}: ${stripOffset(e.message)}`, e.offset);
      throw e;
    }
    const fields = new Map<number, { value: Uint8Array; offset: number }>();
    let lastRank = -1;
    let lastTag = 0;
    for (const { tag, value, offset } of items) {
      const rank = allowed.indexOf(tag);
      if (rank < 0) throw new TlvError(`${what}: unexpected tag ${hexByte(tag)}`, offset);
      if (fields.has(tag)) throw new TlvError(`${what}: duplicate tag ${hexByte(tag)}`, offset);
      if (ordered && rank < lastRank) {
        throw new TlvError(`${what}: tag ${hexByte(tag)} out of order (after tag ${hexByte(lastTag)})`, offset);
      }
      lastRank = rank;
      lastTag = tag;
      fields.set(tag, { value, offset });
    }
    return new TlvRecord(what, fields, bytes.length);
  }

  /** Tags present, in the order they came. */
  get tags(): number[] {
    return [...this.#fields.keys()];
  }

  has(tag: number): boolean {
    return this.#fields.has(tag);
  }

  /**
   * The value of a tag that must be present, checked against `length` when given.
   * @throws TlvError `READ response: missing tag 0x04` or `... tag 0x11: expected 65 bytes, got 64`.
   */
  required(tag: number, length?: LengthSpec): Uint8Array {
    const value = this.optional(tag, length);
    if (value === undefined) throw new TlvError(`${this.what}: missing tag ${hexByte(tag)}`, this.#end);
    return value;
  }

  /**
   * The value of a tag if present (checked against `length` when given), else undefined.
   * @throws TlvError when present with the wrong length.
   */
  optional(tag: number, length?: LengthSpec): Uint8Array | undefined {
    checkProtocolTag(tag);
    const field = this.#fields.get(tag);
    if (field === undefined) return undefined;
    const got = field.value.length;
    if (length !== undefined) {
      const [min, max] = typeof length === 'number' ? [length, length] : [length.min, length.max];
      if (got < min || got > max) {
        const expected = min === max ? `${min}` : `${min}..${max}`;
        throw new TlvError(`${this.what}: tag ${hexByte(tag)}: expected ${expected} bytes, got ${got}`, field.offset);
      }
    }
    return field.value.slice();
  }
}

// ---------------------------------------------------------------------------------------------

function hexByte(b: number): string {
  return hexNumber(b, 2);
}

function hexTag(tag: number): string {
  const digits = tag.toString(16).length;
  return hexNumber(tag, digits + (digits % 2));
}

function stripOffset(message: string): string {
  return message.replace(/ \(at byte \d+\)$/, '');
}

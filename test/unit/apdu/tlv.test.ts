import { fromHex, toHex } from '../../../src/apdu/hex.js';
import {
  decodeBerTlv,
  decodeProtocolTlv,
  encodeBerTlv,
  encodeProtocolTlv,
  encodeProtocolTlvs,
  isConstructed,
  TlvError,
  TlvRecord,
  type Tlv,
} from '../../../src/apdu/tlv.js';

const seq = (n: number) => Uint8Array.from({ length: n }, (_, i) => (i * 13 + 5) & 0xff);
const plain = (tlvs: Tlv[]) => tlvs.map(({ tag, value }) => [tag, toHex(value)]);
const plainItems = (items: ReadonlyArray<readonly [number, Uint8Array]>) => items.map(([tag, value]) => [tag, toHex(value)]);

/** Runs `fn`, expects a TlvError with `message` in it at `offset`. */
function expectTlvError(fn: () => unknown, message: string, offset: number): void {
  let error: unknown;
  try {
    fn();
  } catch (e) {
    error = e;
  }
  expect(error).toBeInstanceOf(TlvError);
  expect(error).toBeInstanceOf(RangeError);
  expect((error as TlvError).message).toContain(message);
  expect((error as TlvError).offset).toBe(offset);
}

describe('BER-TLV', () => {
  test('multi-byte tags read as the big-endian integer of their bytes', () => {
    expect(plain(decodeBerTlv(fromHex('9F2701805F2D02656E')))).toEqual([
      [0x9f27, '80'],
      [0x5f2d, '656E'],
    ]);
    expect(plain(decodeBerTlv(fromHex('5F8101 01 AA')))).toEqual([[0x5f8101, 'AA']]);
    expect(plain(decodeBerTlv(fromHex('5F818001 00')))).toEqual([[0x5f818001, '']]);
    expect(plain(decodeBerTlv(fromHex('DF7F 01 BB')))).toEqual([[0xdf7f, 'BB']]);
    // EMV's two-byte tags for numbers below 31 (9F02 amount, BF0C FCI discretionary data).
    expect(plain(decodeBerTlv(fromHex('9F0206000000001000 BF0C00')))).toEqual([
      [0x9f02, '000000001000'],
      [0xbf0c, ''],
    ]);
  });

  test('nested constructed objects (FCI of a SELECT) decode level by level', () => {
    const fci = fromHex('6F 10 84 08 A000000151000000 A5 04 9F6501FF');
    const [outer] = decodeBerTlv(fci);
    expect(outer?.tag).toBe(0x6f);
    expect(isConstructed(0x6f)).toBe(true);
    expect(plain(decodeBerTlv(outer!.value))).toEqual([
      [0x84, 'A000000151000000'],
      [0xa5, '9F6501FF'],
    ]);
    expect(plain(decodeBerTlv(decodeBerTlv(outer!.value)[1]!.value))).toEqual([[0x9f65, 'FF']]);
  });

  test.each([
    [0, '00'],
    [1, '01'],
    [127, '7F'],
    [128, '8180'],
    [255, '81FF'],
    [256, '820100'],
    [65535, '82FFFF'],
    [65536, '83010000'],
  ])('length %d is encoded minimally as %s', (length, lengthHex) => {
    const encoded = encodeBerTlv(0x53, seq(length));
    expect(toHex(encoded.subarray(0, 1 + lengthHex.length / 2))).toBe('53' + lengthHex);
    expect(encoded.length).toBe(1 + lengthHex.length / 2 + length);
    expect(plain(decodeBerTlv(encoded))).toEqual([[0x53, toHex(seq(length))]]);
  });

  test('length 2^24 - 1 is the most a 3-byte length encodes', () => {
    const encoded = encodeBerTlv(0x53, new Uint8Array(0xffffff));
    expect(toHex(encoded.subarray(0, 5))).toBe('5383FFFFFF');
    expect(() => encodeBerTlv(0x53, new Uint8Array(0x1000000))).toThrow(RangeError);
  });

  test.each([
    [0x9f27, Uint8Array.of(0x80), '9F270180'],
    [0x5f2d, fromHex('656E'), '5F2D02656E'],
    [0x84, fromHex('A000000151000000'), '8408A000000151000000'],
    [0x5f818001, new Uint8Array(0), '5F81800100'],
  ])('encodeBerTlv(%d)', (tag, value, hex) => {
    expect(toHex(encodeBerTlv(tag, value))).toBe(hex);
  });

  test('isConstructed', () => {
    expect(isConstructed(0x70)).toBe(true);
    expect(isConstructed(0xbf0c)).toBe(true);
    expect(isConstructed(0x7f21)).toBe(true);
    expect(isConstructed(0x9f27)).toBe(false);
    expect(isConstructed(0x9f02)).toBe(false); // EMV amount: tag number 2 in the two-byte form
    expect(isConstructed(0x5f2d)).toBe(false);
    expect(isConstructed(0x84)).toBe(false);
  });

  test.each([
    [0, 'tag: expected 1..4294967295, got 0'],
    [0x1f, 'truncated tag'],
    [0x9f, 'truncated tag'],
    [0x9f81, 'truncated tag'],
    [0x9f00, 'first subsequent byte is 0x00'],
    [0x9f8001, 'first subsequent byte is 0x80'],
    [0x0184, 'its first 1 bytes already form a tag'],
    [0x9f2701, 'its first 2 bytes already form a tag'],
    [0xff, '00 and FF are not tags'],
  ])('invalid tag number %d', (tag, message) => {
    expect(() => encodeBerTlv(tag, new Uint8Array(0))).toThrow(RangeError);
    expect(() => encodeBerTlv(tag, new Uint8Array(0))).toThrow(message);
    expect(() => isConstructed(tag)).toThrow(RangeError);
  });

  test.each([
    ['truncated tag', '9F', 'truncated tag', 0],
    ['truncated 3-byte tag', '01 00 5F81', 'truncated tag', 2],
    ['tag over 4 bytes', '5F81818101 00', 'tag longer than 4 bytes', 0],
    ['tag 00', '00', '00 and FF are not tags', 0],
    ['tag FF after a good TLV', '0100 FF00', '00 and FF are not tags', 2],
    ['tag 1F00', '1F00 00', 'first subsequent byte is 0x00', 0],
    ['non-minimal tag 9F80..', '9F8001 00', 'first subsequent byte is 0x80', 0],
    ['missing length', '5A', 'length missing', 1],
    ['missing length after a good TLV', '5A01AA 9F27', 'length missing', 5],
    ['indefinite length', '5A80 0000', 'indefinite length (80) is not allowed', 1],
    ['non-minimal 81 05', '5A8105 0102030405', 'non-minimal length encoding 0x81 for length 5', 1],
    ['non-minimal 82 00 80', '5A820080', 'non-minimal length encoding 0x82 for length 128', 1],
    ['non-minimal 83 00 01 00', '5A83000100', 'non-minimal length encoding 0x83 for length 256', 1],
    ['length of 2^24 or more', '5A8401000000', 'announces 4 length bytes, at most 3 supported', 1],
    ['length byte FF', '5AFF', 'announces 127 length bytes', 1],
    ['truncated long length', '5A82 01', 'length needs 2 more bytes, got 1', 1],
    ['length > remaining', '5A05 01020304', 'tag 0x5A has length 5 but only 4 bytes follow', 0],
    ['long length > remaining', '9F27 8180 00', 'tag 0x9F27 has length 128 but only 1 bytes follow', 0],
    ['second TLV truncated', '5A01AA 5B02BB', 'tag 0x5B has length 2 but only 1 bytes follow', 3],
  ])('%s -> TlvError', (_name, hex, message, offset) => {
    expectTlvError(() => decodeBerTlv(fromHex(hex)), message, offset);
  });

  test('empty input is an empty sequence; non-bytes is a TypeError', () => {
    expect(decodeBerTlv(new Uint8Array(0))).toEqual([]);
    expect(() => decodeBerTlv('5A00' as unknown as Uint8Array)).toThrow(TypeError);
    expect(() => encodeBerTlv(0x5a, [1] as unknown as Uint8Array)).toThrow(TypeError);
  });

  test('decoded values are copies', () => {
    const bytes = fromHex('5A02AABB');
    const [tlv] = decodeBerTlv(bytes);
    bytes[2] = 0;
    expect(toHex(tlv!.value)).toBe('AABB');
  });
});

describe('protocol TLV', () => {
  test('SELECT response from docs/protocol.md', () => {
    expect(plain(decodeProtocolTlv(fromHex('010101 030102')))).toEqual([
      [0x01, '01'],
      [0x03, '02'],
    ]);
    expect(
      toHex(
        encodeProtocolTlvs([
          [0x01, Uint8Array.of(1)],
          [0x03, Uint8Array.of(2)],
        ]),
      ),
    ).toBe('010101030102');
    expect(toHex(encodeProtocolTlvs([]))).toBe('');
  });

  test.each([
    [0, '00'],
    [0x7f, '7F'],
    [0x80, '8180'],
    [0xff, '81FF'],
    [0x100, '820100'],
    [0xffff, '82FFFF'],
  ])('length %d is %s', (length, lengthHex) => {
    const encoded = encodeProtocolTlv(0x15, seq(length));
    expect(toHex(encoded.subarray(0, 1 + lengthHex.length / 2))).toBe('15' + lengthHex);
    expect(plain(decodeProtocolTlv(encoded))).toEqual([[0x15, toHex(seq(length))]]);
  });

  test('encode range checks', () => {
    expect(() => encodeProtocolTlv(0x15, new Uint8Array(0x10000))).toThrow(
      new RangeError('tag 0x15 value: expected at most 65535 bytes, got 65536'),
    );
    expect(() => encodeProtocolTlv(0x00, new Uint8Array(0))).toThrow('protocol TLV tag: expected 1..254, got 0');
    expect(() => encodeProtocolTlv(0xff, new Uint8Array(0))).toThrow(RangeError);
    expect(() => encodeProtocolTlv(0x9f27, new Uint8Array(0))).toThrow(RangeError);
    expect(() =>
      encodeProtocolTlvs([
        [0x01, Uint8Array.of(1)],
        [0x100, Uint8Array.of(2)],
      ]),
    ).toThrow(RangeError);
    expect(() => encodeProtocolTlvs('0101' as unknown as [])).toThrow(TypeError);
  });

  test.each([
    ['tag 00', '0000', 'invalid protocol tag 0x00', 0],
    ['tag FF', '010101 FF00', 'invalid protocol tag 0xFF', 3],
    ['missing length', '01', 'length missing', 1],
    ['indefinite length', '0180 0000', 'indefinite length', 1],
    ['non-minimal 81 7F', '01817F', 'non-minimal length encoding 0x81 for length 127', 1],
    ['non-minimal 82 00 FF', '018200FF', 'non-minimal length encoding 0x82 for length 255', 1],
    ['3-byte length not in the protocol', '0183010000', 'announces 3 length bytes, at most 2 supported', 1],
    ['truncated 82 length', '018201', 'length needs 2 more bytes, got 1', 1],
    ['length > remaining', '0141 04', 'tag 0x01 has length 65 but only 1 bytes follow', 0],
    ['trailing partial TLV', '010101 03', 'length missing', 4],
  ])('%s -> TlvError', (_name, hex, message, offset) => {
    expectTlvError(() => decodeProtocolTlv(fromHex(hex)), message, offset);
  });
});

describe('TlvRecord', () => {
  const readResponse = fromHex('010101 030102 0208 1122334455667788 0602 0005');
  const opts = { allowed: [0x01, 0x03, 0x02, 0x04, 0x05, 0x09, 0x06, 0x07, 0x08], what: 'READ response' };

  test('accessors', () => {
    const r = TlvRecord.parse(readResponse, opts);
    expect(r.tags).toEqual([0x01, 0x03, 0x02, 0x06]);
    expect(toHex(r.required(0x01, 1))).toBe('01');
    expect(toHex(r.required(0x02, 8))).toBe('1122334455667788');
    expect(toHex(r.required(0x06, { min: 1, max: 2 }))).toBe('0005');
    expect(toHex(r.required(0x03))).toBe('02');
    expect(r.optional(0x04, { min: 92, max: 156 })).toBeUndefined();
    expect(r.has(0x02)).toBe(true);
    expect(r.has(0x04)).toBe(false);
  });

  test('exact messages', () => {
    const r = TlvRecord.parse(readResponse, opts);
    expectTlvError(() => r.required(0x04), 'READ response: missing tag 0x04', 20);
    expectTlvError(() => r.required(0x02, 9), 'READ response: tag 0x02: expected 9 bytes, got 8', 6);
    expectTlvError(() => r.optional(0x06, 1), 'READ response: tag 0x06: expected 1 bytes, got 2', 16);
    expectTlvError(() => r.required(0x06, { min: 3, max: 4 }), 'READ response: tag 0x06: expected 3..4 bytes, got 2', 16);
  });

  test('a 64-byte key where 65 are expected', () => {
    const r = TlvRecord.parse(encodeProtocolTlv(0x11, new Uint8Array(64)), { allowed: [0x11], what: 'LINK response' });
    expect(() => r.required(0x11, 65)).toThrow('LINK response: tag 0x11: expected 65 bytes, got 64');
  });

  test('duplicate, unexpected, out of order, malformed', () => {
    expectTlvError(() => TlvRecord.parse(fromHex('040100 040100'), { allowed: [0x04], what: 'X' }), 'X: duplicate tag 0x04', 3);
    expectTlvError(
      () => TlvRecord.parse(fromHex('010101 7A00'), { allowed: [0x01], what: 'SELECT response' }),
      'SELECT response: unexpected tag 0x7A',
      3,
    );
    expectTlvError(
      () => TlvRecord.parse(fromHex('030102 010101'), { allowed: [0x01, 0x03], what: 'SELECT response', ordered: true }),
      'SELECT response: tag 0x01 out of order (after tag 0x03)',
      3,
    );
    expectTlvError(
      () => TlvRecord.parse(fromHex('010101 0302'), { allowed: [0x01, 0x03], what: 'SELECT response' }),
      'SELECT response: truncated TLV: tag 0x03 has length 2 but only 0 bytes follow',
      3,
    );
    // Order is only enforced when asked for.
    expect(TlvRecord.parse(fromHex('030102 010101'), { allowed: [0x01, 0x03], what: 'S' }).tags).toEqual([3, 1]);
  });

  test('values are copies; bad options are TypeErrors', () => {
    const r = TlvRecord.parse(fromHex('0102AABB'), { allowed: [1], what: 'X' });
    r.required(1)[0] = 0;
    expect(toHex(r.required(1))).toBe('AABB');
    expect(() => TlvRecord.parse(fromHex(''), {} as { allowed: number[]; what: string })).toThrow(TypeError);
    expect(() => TlvRecord.parse(fromHex(''), { allowed: [0x100], what: 'X' })).toThrow(RangeError);
    expect(TlvRecord.parse(new Uint8Array(0), { allowed: [1], what: 'X' }).tags).toEqual([]);
  });
});

describe('properties (seeded, so a failure reproduces)', () => {
  let state = 0x1d2c3b4a;
  const random = () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (n: number) => Math.floor(random() * n);
  const bytes = (n: number) => Uint8Array.from({ length: n }, () => int(256));
  const valueLength = () => [int(4), int(128), 120 + int(20), 250 + int(20), int(600)][int(5)]!;

  /** A random valid BER tag of 1..4 bytes. */
  function berTag(): number {
    const size = 1 + int(4);
    if (size === 1) {
      let b;
      do b = int(256);
      while (b === 0 || b === 0xff || (b & 0x1f) === 0x1f);
      return b;
    }
    let first;
    do first = (int(8) << 5) | 0x1f;
    while (first === 0xff);
    const tagBytes = [first];
    for (let i = 1; i < size; i++) {
      const last = i === size - 1;
      let b;
      if (last) b = i === 1 ? 1 + int(0x7f) : int(0x80);
      else b = 0x80 | (i === 1 ? 1 + int(0x7f) : int(0x80));
      tagBytes.push(b);
    }
    return tagBytes.reduce((t, b) => t * 256 + b, 0);
  }

  // Checks run in plain code and collect failures: jest's matchers are too slow for thousands of cases.
  test('random BER-TLV sequences round-trip', () => {
    const failures: string[] = [];
    for (let i = 0; i < 300; i++) {
      const items = Array.from({ length: int(6) }, () => [berTag(), bytes(valueLength())] as const);
      const encoded = new Uint8Array(items.flatMap(([tag, value]) => [...encodeBerTlv(tag, value)]));
      const expected = JSON.stringify(plainItems(items));
      const got = JSON.stringify(plain(decodeBerTlv(encoded)));
      if (got !== expected) failures.push(`${toHex(encoded)}: ${got} != ${expected}`);
    }
    expect(failures).toEqual([]);
  });

  test('random protocol TLV sequences round-trip', () => {
    const failures: string[] = [];
    for (let i = 0; i < 300; i++) {
      const items = Array.from({ length: int(6) }, () => [1 + int(254), bytes(valueLength())] as const);
      const encoded = encodeProtocolTlvs(items);
      const expected = JSON.stringify(plainItems(items));
      const got = JSON.stringify(plain(decodeProtocolTlv(encoded)));
      if (got !== expected) failures.push(`${toHex(encoded)}: ${got} != ${expected}`);
    }
    expect(failures).toEqual([]);
  });

  /**
   * Decoding is strict and canonical: a string either throws TlvError or re-encodes to itself.
   * @returns whether either decoder accepted it, or a failure description.
   */
  function checkArbitrary(input: Uint8Array): string {
    const hex = toHex(input);
    let accepted = false;
    for (const [name, decode, encode] of [
      ['BER', decodeBerTlv, (t: Tlv[]) => t.flatMap(({ tag, value }) => [...encodeBerTlv(tag, value)])],
      ['protocol', decodeProtocolTlv, (t: Tlv[]) => [...encodeProtocolTlvs(t.map(({ tag, value }) => [tag, value]))]],
    ] as const) {
      let tlvs: Tlv[];
      try {
        tlvs = decode(input);
      } catch (e) {
        if (!(e instanceof TlvError)) return `${name} ${hex}: threw ${String(e)}`;
        continue;
      }
      accepted = true;
      const again = toHex(Uint8Array.from(encode(tlvs)));
      if (again !== hex) return `${name} ${hex}: re-encodes as ${again}`;
    }
    return accepted ? 'ok' : 'error';
  }

  function run(inputs: Uint8Array[]): { ok: number; error: number; failures: string[] } {
    const outcome = { ok: 0, error: 0, failures: [] as string[] };
    for (const input of inputs) {
      const result = checkArbitrary(input);
      if (result === 'ok' || result === 'error') outcome[result]++;
      else outcome.failures.push(result);
    }
    return outcome;
  }

  test('random byte strings never throw anything but TlvError', () => {
    const { ok, error, failures } = run(Array.from({ length: 4000 }, () => bytes(int(12))));
    expect(failures).toEqual([]);
    expect(ok).toBeGreaterThan(100);
    expect(error).toBeGreaterThan(100);
  });

  test('mutated and truncated valid encodings never throw anything but TlvError', () => {
    const inputs = Array.from({ length: 1500 }, () => {
      // Short values (around the 7F/80 length boundary too) so headers are a good share of the bytes.
      const shortLength = () => [int(4), int(40), 125 + int(6)][int(3)]!;
      const items = Array.from({ length: 1 + int(4) }, () => [1 + int(254), bytes(shortLength())] as const);
      const encoded = encodeProtocolTlvs(items);
      const mutated = encoded.slice(0, int(encoded.length + 1));
      if (mutated.length > 0 && random() < 0.7) mutated[int(mutated.length)] = int(256);
      return mutated;
    });
    const { ok, error, failures } = run(inputs);
    expect(failures).toEqual([]);
    expect(ok).toBeGreaterThan(20);
    expect(error).toBeGreaterThan(100);
  });
});

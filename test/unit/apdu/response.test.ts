import { ApduFormatError } from '../../../src/apdu/command.js';
import { fromHex, toHex } from '../../../src/apdu/hex.js';
import { encodeResponse, parseResponse, sw1, sw2 } from '../../../src/apdu/response.js';

describe('parseResponse', () => {
  test('status word only', () => {
    expect(parseResponse(fromHex('9000'))).toEqual({ data: new Uint8Array(0), sw: 0x9000 });
    expect(parseResponse(fromHex('6A82'))).toEqual({ data: new Uint8Array(0), sw: 0x6a82 });
  });
  test('data and status word', () => {
    const r = parseResponse(fromHex('0102036158'));
    expect(toHex(r.data)).toBe('010203');
    expect(r.sw).toBe(0x6158);
  });
  test('the data is a copy', () => {
    const raw = fromHex('AA9000');
    const r = parseResponse(raw);
    raw[0] = 0;
    expect(toHex(r.data)).toBe('AA');
  });
  test.each([
    ['', 0],
    ['90', 1],
  ])('%p is an ApduFormatError', (hex, offset) => {
    const run = () => parseResponse(fromHex(hex));
    expect(run).toThrow(ApduFormatError);
    expect(run).toThrow(`response APDU: needs at least 2 bytes (SW1 SW2), got ${offset}`);
    try {
      run();
    } catch (e) {
      expect((e as ApduFormatError).offset).toBe(offset);
    }
  });
  test('non-bytes is a TypeError', () => {
    expect(() => parseResponse(undefined as unknown as Uint8Array)).toThrow(TypeError);
  });
});

describe('encodeResponse', () => {
  test('data || SW1 SW2', () => {
    expect(toHex(encodeResponse(fromHex('0102'), 0x9000))).toBe('01029000');
    expect(toHex(encodeResponse(new Uint8Array(0), 0x6c10))).toBe('6C10');
    expect(toHex(encodeResponse(new Uint8Array(0), 0x0000))).toBe('0000');
  });
  test('round trip with parseResponse', () => {
    const data = Uint8Array.from({ length: 300 }, (_, i) => i & 0xff);
    expect(parseResponse(encodeResponse(data, 0x6283))).toEqual({ data, sw: 0x6283 });
  });
  test('range checks', () => {
    expect(() => encodeResponse(new Uint8Array(0), 0x10000)).toThrow(new RangeError('sw: expected 0..65535, got 65536'));
    expect(() => encodeResponse(new Uint8Array(0), -1)).toThrow(RangeError);
    expect(() => encodeResponse(new Uint8Array(65537), 0x9000)).toThrow('data: expected at most 65536 bytes, got 65537');
    expect(() => encodeResponse('AA' as unknown as Uint8Array, 0x9000)).toThrow(TypeError);
  });
});

test('sw1 / sw2', () => {
  expect(sw1(0x6a82)).toBe(0x6a);
  expect(sw2(0x6a82)).toBe(0x82);
  expect(sw1(0x9000)).toBe(0x90);
  expect(sw2(0x9000)).toBe(0x00);
});

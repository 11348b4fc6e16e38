import { fromHex, toHex } from '../../../src/apdu/hex.js';

describe('toHex', () => {
  test('uppercase, no separators', () => {
    expect(toHex(Uint8Array.of(0x00, 0xa4, 0x0f, 0xff))).toBe('00A40FFF');
    expect(toHex(new Uint8Array(0))).toBe('');
  });
  test('rejects non-bytes with TypeError', () => {
    expect(() => toHex('00' as unknown as Uint8Array)).toThrow(new TypeError('toHex: expected Uint8Array, got string'));
    expect(() => toHex([1, 2] as unknown as Uint8Array)).toThrow(TypeError);
  });
});

describe('fromHex', () => {
  test('either case, spaces, tabs, newlines and colons between bytes', () => {
    expect(fromHex('00a4FF')).toEqual(Uint8Array.of(0x00, 0xa4, 0xff));
    expect(fromHex(' 00 A4:04\t00\n0A ')).toEqual(Uint8Array.of(0x00, 0xa4, 0x04, 0x00, 0x0a));
    expect(fromHex('00A4 0400')).toEqual(Uint8Array.of(0x00, 0xa4, 0x04, 0x00));
    expect(fromHex('')).toEqual(new Uint8Array(0));
    expect(fromHex('  ')).toEqual(new Uint8Array(0));
  });
  test('round trip with toHex', () => {
    const bytes = Uint8Array.from({ length: 256 }, (_, i) => i);
    expect(fromHex(toHex(bytes))).toEqual(bytes);
  });
  test('odd number of digits is a RangeError naming the group', () => {
    expect(() => fromHex('00A')).toThrow(RangeError);
    expect(() => fromHex('00A')).toThrow('odd number of hex digits in "00A" at index 0');
  });
  test('a separator inside a byte is rejected, not re-paired', () => {
    expect(() => fromHex('0 0A4')).toThrow('odd number of hex digits in "0" at index 0');
    expect(() => fromHex('00 A 4')).toThrow('odd number of hex digits in "A" at index 3');
  });
  test('non-hex characters are a RangeError with their position', () => {
    expect(() => fromHex('00 G0')).toThrow(new RangeError('fromHex: non-hex character "G" at index 3'));
    expect(() => fromHex('0x00')).toThrow('non-hex character "x" at index 1');
    expect(() => fromHex('00-01')).toThrow('non-hex character "-" at index 2');
    expect(() => fromHex('٠٠')).toThrow(RangeError); // Arabic-Indic digits are not hex
  });
  test('non-string is a TypeError', () => {
    expect(() => fromHex(0x00 as unknown as string)).toThrow(new TypeError('fromHex: expected string, got number'));
    expect(() => fromHex(null as unknown as string)).toThrow('got null');
  });
});

import {
  describeStatus,
  extendStatusTable,
  ISO_STATUS_WORDS,
  lookupStatus,
  statusName,
  StatusWordError,
  type StatusTable,
} from '../../../src/apdu/status.js';

const PROTOCOL: StatusTable = extendStatusTable(ISO_STATUS_WORDS, {
  0x9a01: { name: 'CERT_INVALID', meaning: 'certificate signature does not verify under the manufacturer key' },
  0x6a84: { name: 'CHAIN_TOO_LONG', meaning: 'chained data longer than 512 bytes' },
});

describe('ISO_STATUS_WORDS', () => {
  test.each([
    [0x9000, 'SUCCESS'],
    [0x6200, 'WARNING_NO_INFO'],
    [0x6281, 'DATA_MAY_BE_CORRUPTED'],
    [0x6282, 'END_OF_FILE'],
    [0x6300, 'WARNING_STATE_CHANGED'],
    [0x6581, 'MEMORY_FAILURE'],
    [0x6700, 'WRONG_LENGTH'],
    [0x6881, 'LOGICAL_CHANNEL_NOT_SUPPORTED'],
    [0x6882, 'SECURE_MESSAGING_NOT_SUPPORTED'],
    [0x6982, 'SECURITY_STATUS_NOT_SATISFIED'],
    [0x6983, 'AUTH_METHOD_BLOCKED'],
    [0x6984, 'REFERENCE_DATA_NOT_USABLE'],
    [0x6985, 'CONDITIONS_NOT_SATISFIED'],
    [0x6986, 'COMMAND_NOT_ALLOWED_NO_EF'],
    [0x6a80, 'WRONG_DATA'],
    [0x6a81, 'FUNCTION_NOT_SUPPORTED'],
    [0x6a82, 'FILE_NOT_FOUND'],
    [0x6a84, 'NOT_ENOUGH_MEMORY'],
    [0x6a86, 'INCORRECT_P1P2'],
    [0x6a88, 'REFERENCED_DATA_NOT_FOUND'],
    [0x6b00, 'WRONG_P1P2'],
    [0x6d00, 'INS_NOT_SUPPORTED'],
    [0x6e00, 'CLA_NOT_SUPPORTED'],
    [0x6f00, 'NO_PRECISE_DIAGNOSIS'],
  ])('%d is %s', (sw, name) => {
    expect(statusName(sw)).toBe(name);
  });
  test('names are unique constants and meanings are present', () => {
    const names = [...ISO_STATUS_WORDS.values()].map((i) => i.name);
    expect(new Set(names).size).toBe(names.length);
    for (const { name, meaning } of ISO_STATUS_WORDS.values()) {
      expect(name).toMatch(/^[A-Z][A-Z0-9_]*$/);
      expect(meaning.length).toBeGreaterThan(3);
    }
  });
  test('is read-only', () => {
    const table = ISO_STATUS_WORDS as Map<number, { name: string; meaning: string }>;
    expect(() => table.set(0x9000, { name: 'X', meaning: 'x' })).toThrow(TypeError);
    expect(() => table.delete(0x9000)).toThrow(TypeError);
    expect(() => table.clear()).toThrow(TypeError);
    expect(statusName(0x9000)).toBe('SUCCESS');
  });
});

describe('describeStatus', () => {
  test.each([
    [0x6a82, 'SW=0x6A82 (FILE_NOT_FOUND: file or application not found)'],
    [0x9000, 'SW=0x9000 (SUCCESS: success)'],
    [0x6110, 'SW=0x6110 (BYTES_REMAINING: 16 bytes still available)'],
    [0x6100, 'SW=0x6100 (BYTES_REMAINING: 256 or more bytes still available)'],
    [0x6c08, 'SW=0x6C08 (WRONG_LE: wrong Le, exact length is 8)'],
    [0x6c00, 'SW=0x6C00 (WRONG_LE: wrong Le, exact length is 256)'],
    [0x63c3, 'SW=0x63C3 (VERIFICATION_FAILED: verification failed, 3 tries left)'],
    [0x63c1, 'SW=0x63C1 (VERIFICATION_FAILED: verification failed, 1 try left)'],
    [0x63c0, 'SW=0x63C0 (VERIFICATION_FAILED: verification failed, 0 tries left)'],
    [0x1234, 'SW=0x1234 (UNKNOWN)'],
    [0x63d1, 'SW=0x63D1 (UNKNOWN)'],
    [0x0000, 'SW=0x0000 (UNKNOWN)'],
    [0x9a01, 'SW=0x9A01 (UNKNOWN)'],
  ])('%d', (sw, text) => {
    expect(describeStatus(sw)).toBe(text);
  });
  test('with a protocol table', () => {
    expect(describeStatus(0x9a01, PROTOCOL)).toBe(
      'SW=0x9A01 (CERT_INVALID: certificate signature does not verify under the manufacturer key)',
    );
    expect(describeStatus(0x6a84, PROTOCOL)).toBe('SW=0x6A84 (CHAIN_TOO_LONG: chained data longer than 512 bytes)');
    expect(describeStatus(0x6982, PROTOCOL)).toBe('SW=0x6982 (SECURITY_STATUS_NOT_SATISFIED: security status not satisfied)');
    expect(describeStatus(0x63c2, PROTOCOL)).toBe('SW=0x63C2 (VERIFICATION_FAILED: verification failed, 2 tries left)');
  });
  test('rejects a non status word', () => {
    expect(() => describeStatus(0x10000)).toThrow(RangeError);
    expect(() => describeStatus(1.5)).toThrow(TypeError);
    expect(lookupStatus(0x1234)).toBeUndefined();
  });
});

describe('extendStatusTable', () => {
  test('leaves the base untouched', () => {
    expect(statusName(0x6a84)).toBe('NOT_ENOUGH_MEMORY');
    expect(statusName(0x9a01)).toBe('UNKNOWN');
    expect(statusName(0x9a01, PROTOCOL)).toBe('CERT_INVALID');
    expect(PROTOCOL.size).toBe(ISO_STATUS_WORDS.size + 1);
  });
  test('rejects bad entries', () => {
    expect(() => extendStatusTable(ISO_STATUS_WORDS, { 0x10000: { name: 'X', meaning: 'x' } })).toThrow(RangeError);
    expect(() => extendStatusTable(ISO_STATUS_WORDS, { 0x9a01: { name: '', meaning: 'x' } })).toThrow(
      'extendStatusTable: 0x9A01: name must be a non-empty string',
    );
    const noMeaning = { 0x9a01: { name: 'X' } } as unknown as Record<number, { name: string; meaning: string }>;
    expect(() => extendStatusTable(ISO_STATUS_WORDS, noMeaning)).toThrow(TypeError);
    expect(() => extendStatusTable({} as StatusTable, {})).toThrow(TypeError);
  });
});

describe('StatusWordError', () => {
  test('message, fields, class', () => {
    const e = new StatusWordError(0x6982, { command: 'SIGN', data: Uint8Array.of(1) });
    expect(e).toBeInstanceOf(Error);
    expect(e.name).toBe('StatusWordError');
    expect(e.message).toBe('SIGN: SW=0x6982 (SECURITY_STATUS_NOT_SATISFIED: security status not satisfied)');
    expect(e.sw).toBe(0x6982);
    expect(e.statusName).toBe('SECURITY_STATUS_NOT_SATISFIED');
    expect(e.command).toBe('SIGN');
    expect(e.data).toEqual(Uint8Array.of(1));
  });
  test('without a command name, with a protocol table', () => {
    const e = new StatusWordError(0x9a01, { table: PROTOCOL });
    expect(e.message).toBe('SW=0x9A01 (CERT_INVALID: certificate signature does not verify under the manufacturer key)');
    expect(e.statusName).toBe('CERT_INVALID');
    expect(e.data).toEqual(new Uint8Array(0));
    expect(e.command).toBeUndefined();
    expect(new StatusWordError(0x1234).message).toBe('SW=0x1234 (UNKNOWN)');
  });
});

import { resolveReader, ReaderSelectionError } from '../../../src/readers/index.js';

const readers = ['ACS ACR122U PICC Interface 00 00', 'Virtual PCD 00 00', 'Virtual PCD 00 01'];

describe('resolveReader', () => {
  test.each([
    ['Virtual PCD 00 01', 'Virtual PCD 00 01'],
    ['1', 'Virtual PCD 00 00'],
    [2, 'Virtual PCD 00 01'],
    ['acr122', 'ACS ACR122U PICC Interface 00 00'],
    ['PCD 00 01', 'Virtual PCD 00 01'],
  ])('selector %p picks %p', (selector, expected) => {
    expect(resolveReader(readers, selector)).toBe(expected);
  });

  test('the only reader is taken when none is named', () => {
    expect(resolveReader(['Only One'])).toBe('Only One');
    expect(resolveReader(['Only One'], '')).toBe('Only One');
  });

  test.each([
    [[], undefined, 'no-reader', /no PC\/SC reader found/],
    [readers, undefined, 'ambiguous', /3 readers: choose one with --reader/],
    [readers, 'virtual', 'ambiguous', /2 readers match "virtual"/],
    [readers, 'gemalto', 'not-found', /no reader matches "gemalto"/],
    [readers, '7', 'not-found', /no reader with index 7/],
  ] as const)('%p with %p fails as %p', (names, selector, kind, message) => {
    let error: unknown;
    try {
      resolveReader(names, selector);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ReaderSelectionError);
    expect((error as ReaderSelectionError).kind).toBe(kind);
    expect((error as ReaderSelectionError).message).toMatch(message);
    if (names.length > 0) expect((error as ReaderSelectionError).message).toContain('  1: Virtual PCD 00 00');
  });
});

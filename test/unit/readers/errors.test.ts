import { PcscError, toPcscError } from '../../../src/readers/index.js';

describe('toPcscError', () => {
  test.each([
    ['SCardEstablishContext error: Service not available.(0x8010001d)', 0x8010001d, 'service-unavailable', /is pcscd running/],
    ['SCardTransmit error: Card was removed.(0x80100069)', 0x80100069, 'card-removed', /present it again/],
    ['SCardTransmit error: Transaction failed. (0x80100016)', 0x80100016, 'transaction-failed', /broke off/],
    ['SCardConnect error: Sharing violation.(0x8010000b)', 0x8010000b, 'sharing-violation', /exclusively/],
    ['SCardTransmit error: Insufficient buffer.(0x80100008)', 0x80100008, 'insufficient-buffer', /buffer/],
    ['SCardConnect error: No smart card inserted.(0x8010000c)', 0x8010000c, 'no-card', /present a card/],
    ['Something odd (0x80100099)', 0x80100099, 'other', /0x80100099/],
  ])('%s', (text, code, kind, advice) => {
    const error = toPcscError(new Error(text), 'transmit to R');
    expect(error).toBeInstanceOf(PcscError);
    expect(error.code).toBe(code);
    expect(error.kind).toBe(kind);
    expect(error.message).toMatch(/^transmit to R: /);
    expect(error.message).toMatch(advice);
  });

  test('an error without a code is kind other with code 0', () => {
    const error = toPcscError('weird', 'connect');
    expect([error.code, error.kind, error.message]).toEqual([0, 'other', 'connect: weird (0x00000000)']);
  });

  test('a PcscError passes through unchanged', () => {
    const original = new PcscError('x', 1, 'timeout');
    expect(toPcscError(original, 'y')).toBe(original);
  });
});

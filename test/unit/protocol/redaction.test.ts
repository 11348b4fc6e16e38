/**
 * The one redaction policy (src/protocol/redaction.ts) as ExchangeRedactor applies it to real APDU bytes:
 * every rule, command chains (each block judged by its own header), GET RESPONSE continuations (inherit the
 * response redaction of the command they continue, and only that), wrapped commands and malformed APDUs.
 */
import { ExchangeRedactor, fromHex } from '../../../src/apdu/index.js';
import { Ins } from '../../../src/protocol/constants.js';
import { createExchangeRedactor, twincardRedaction } from '../../../src/protocol/redaction.js';

const h = (cla: number, ins: number) => ({ cla, ins, p1: 0, p2: 0 });
/** A short case-3/4 APDU with `n` data bytes of 0x5A. */
const apdu = (cla: number, ins: number, n: number, le?: number) =>
  Uint8Array.from([cla, ins, 0, 0, ...(n > 0 ? [n, ...new Array<number>(n).fill(0x5a)] : []), ...(le === undefined ? [] : [le])]);
const ok = (n: number, sw = 0x9000) => Uint8Array.from([...new Array<number>(n).fill(0xa5), sw >> 8, sw & 0xff]);

describe('twincardRedaction (the rules, per INS)', () => {
  test('plain access-code commands hide their data: VERIFY_PIN, CREATE_WALLET, CHANGE_ACCESS_CODE, RESET', () => {
    for (const ins of [Ins.VERIFY_PIN, Ins.CREATE_WALLET, 0x24, 0x28]) {
      expect(twincardRedaction(h(0x80, ins))).toEqual({ command: true });
      expect(twincardRedaction(h(0x90, ins))).toEqual({ command: true }); // a chained block
    }
  });

  test('wallet blobs: BACKUP_IMPORT data and BACKUP_EXPORT answer, plain or wrapped', () => {
    expect(twincardRedaction(h(0x80, Ins.BACKUP_IMPORT))).toEqual({ command: true });
    expect(twincardRedaction(h(0x90, Ins.BACKUP_IMPORT))).toEqual({ command: true });
    expect(twincardRedaction(h(0x80, Ins.BACKUP_EXPORT))).toEqual({ response: true });
    expect(twincardRedaction(h(0x84, Ins.BACKUP_EXPORT))).toEqual({ response: true, wrapped: true });
    expect(twincardRedaction(h(0x94, Ins.BACKUP_EXPORT))).toEqual({ response: true, wrapped: true });
  });

  test('wrapped commands (CLA 84/94) keep their ciphertext and are marked wrapped', () => {
    for (const ins of [Ins.VERIFY_PIN, Ins.CREATE_WALLET, Ins.SIGN, 0x24, 0x28, Ins.BACKUP_FINALIZE]) {
      expect(twincardRedaction(h(0x84, ins))).toEqual({ wrapped: true });
      expect(twincardRedaction(h(0x94, ins))).toEqual({ wrapped: true });
    }
  });

  test('public commands are shown in full', () => {
    for (const ins of [
      Ins.READ,
      Ins.SIGN,
      Ins.ATTEST,
      0x70,
      Ins.BACKUP_PREPARE,
      Ins.BACKUP_FINALIZE,
      Ins.BACKUP_CANCEL,
      Ins.PERSO_GENERATE,
      Ins.PERSO_COMMIT,
    ]) {
      expect(twincardRedaction(h(0x80, ins))).toBeUndefined();
    }
    expect(twincardRedaction(h(0x00, Ins.SELECT))).toBeUndefined();
    // a proprietary class of another vendor is not ours to judge by INS
    expect(twincardRedaction(h(0xa0, Ins.VERIFY_PIN))).toBeUndefined();
  });

  test('ISO PIN commands of any card hide their data on an interindustry CLA', () => {
    for (const ins of [0x20, 0x21, 0x24, 0x26, 0x28, 0x2c]) {
      expect(twincardRedaction(h(0x00, ins))).toEqual({ command: true });
      expect(twincardRedaction(h(0x10, ins))).toEqual({ command: true });
    }
  });
});

describe('ExchangeRedactor (applying them)', () => {
  test('a plain VERIFY_PIN: data located after Lc and hidden; the answer shown', () => {
    const r = createExchangeRedactor();
    const view = r.command(apdu(0x80, Ins.VERIFY_PIN, 6));
    expect(view).toMatchObject({ dataOffset: 5, dataLength: 6, hideData: true, wrapped: false, malformed: false });
    expect(r.response(fromHex('63C4')).hideData).toBe(false);
  });

  test('an extended-length command: data after the 3-byte Lc', () => {
    const r = createExchangeRedactor();
    const bytes = Uint8Array.from([0x80, Ins.BACKUP_IMPORT, 0, 0, 0x00, 0x01, 0x2c, ...new Array<number>(300).fill(1), 0x00, 0x00]);
    expect(r.command(bytes)).toMatchObject({ dataOffset: 7, dataLength: 300, hideData: true });
  });

  test('a chained BACKUP_IMPORT: every block hidden; its answer shown', () => {
    const r = createExchangeRedactor();
    expect(r.command(apdu(0x90, Ins.BACKUP_IMPORT, 255)).hideData).toBe(true);
    expect(r.response(ok(0)).hideData).toBe(false);
    expect(r.command(apdu(0x80, Ins.BACKUP_IMPORT, 235, 0)).hideData).toBe(true);
    expect(r.response(ok(70)).hideData).toBe(false);
  });

  test('BACKUP_EXPORT: its (public, chained) data shown, its answer hidden, and every GET RESPONSE after it', () => {
    const r = createExchangeRedactor();
    const first = r.command(apdu(0x94, Ins.BACKUP_EXPORT, 255));
    expect(first).toMatchObject({ hideData: false, wrapped: true });
    expect(r.response(ok(0)).hideData).toBe(false); // nothing to hide in a bare 9000
    expect(r.command(apdu(0x84, Ins.BACKUP_EXPORT, 60, 0)).hideData).toBe(false);
    expect(r.response(ok(256, 0x6161)).hideData).toBe(true);
    const get = r.command(fromHex('00C0000061'));
    expect(get).toMatchObject({ isGetResponse: true, hideData: false });
    expect(r.response(ok(97)).hideData).toBe(true);
    // a proprietary-class GET RESPONSE too
    r.command(fromHex('80C0000010'));
    expect(r.response(ok(16)).hideData).toBe(true);
  });

  test('a GET RESPONSE inherits only from the command it continues', () => {
    const r = createExchangeRedactor();
    r.command(apdu(0x84, Ins.BACKUP_EXPORT, 60, 0));
    r.response(ok(256, 0x6110));
    r.command(apdu(0x80, Ins.READ, 0, 0));
    expect(r.response(ok(256, 0x6110)).hideData).toBe(false);
    r.command(fromHex('00C0000010'));
    expect(r.response(ok(16)).hideData).toBe(false);
  });

  test('a malformed APDU hides everything past its header (nothing tells where the secret is)', () => {
    const r = createExchangeRedactor();
    const view = r.command(fromHex('8032000005AABB'));
    expect(view).toMatchObject({ malformed: true, dataOffset: 4, dataLength: 3, hideData: true });
  });

  test('a response under 2 bytes has no data to hide', () => {
    const r = new ExchangeRedactor(() => ({ response: true }));
    r.command(fromHex('80100000'));
    expect(r.response(fromHex('90'))).toEqual({ bytes: fromHex('90'), dataLength: 0, hideData: false });
  });
});

import { describeStatus, toHex } from '../../../src/apdu/index.js';
import {
  cardStateName,
  createTraceRedactor,
  Ins,
  prefixBytes,
  TWINCARD_AID,
  TWINCARD_STATUS_WORDS,
  TwincardSw,
} from '../../../src/protocol/constants.js';
import { attestationMessage, backupLinkMessage, certificateMessage, primaryLinkMessage } from '../../../src/protocol/messages.js';

describe('constants', () => {
  test('AID and prefixes as docs/protocol.md writes them', () => {
    expect(toHex(TWINCARD_AID)).toBe('F07477696E6361726401');
    expect(toHex(prefixBytes('CERTIFICATE'))).toBe('5457494E434152443A434552543A3031');
    expect(toHex(prefixBytes('ATTESTATION'))).toBe('5457494E434152443A41545445535431');
    expect(toHex(prefixBytes('PRIMARY_LINK'))).toBe('5457494E434152443A4C494E4B2D5031');
    expect(toHex(prefixBytes('BACKUP_LINK'))).toBe('5457494E434152443A4C494E4B2D4231');
    expect(toHex(prefixBytes('KDF_SALT'))).toBe('5457494E434152443A4B44463A563031');
  });

  test('state names', () => {
    expect(cardStateName(0)).toBe('FACTORY');
    expect(cardStateName(5)).toBe('BACKED_UP');
    expect(cardStateName(6)).toBeUndefined();
  });

  test('status words name the twincard words and keep the ISO names', () => {
    expect(describeStatus(TwincardSw.MAC_INVALID, TWINCARD_STATUS_WORDS)).toBe("SW=0x9A05 (MAC_INVALID: the wallet blob's tag is wrong)");
    expect(describeStatus(0x6982, TWINCARD_STATUS_WORDS)).toBe('SW=0x6982 (SECURITY_STATUS_NOT_SATISFIED: access code not verified)');
    expect(describeStatus(0x63c2, TWINCARD_STATUS_WORDS)).toContain('2 tries left');
    for (let sw = 0x9a01; sw <= 0x9a0c; sw++) {
      if (sw === 0x9a02) continue; // unassigned in v1
      expect(TWINCARD_STATUS_WORDS.get(sw)).toBeDefined();
    }
  });
});

describe('message builders', () => {
  const id = new Uint8Array(8).fill(1);
  const key = new Uint8Array(65).fill(4);
  test('sizes', () => {
    expect(certificateMessage(id, key).length).toBe(16 + 8 + 65);
    expect(attestationMessage(id, new Uint8Array(16)).length).toBe(16 + 8 + 16);
    expect(attestationMessage(id, new Uint8Array(32)).length).toBe(16 + 8 + 32);
    expect(primaryLinkMessage(id, key).length).toBe(16 + 8 + 65);
    expect(backupLinkMessage(id, id, key, key).length).toBe(16 + 8 + 8 + 65 + 65);
  });
  test('refuse wrong sizes', () => {
    expect(() => attestationMessage(id, new Uint8Array(15))).toThrow('challenge: expected 16..32 bytes, got 15');
    expect(() => attestationMessage(id, new Uint8Array(33))).toThrow('challenge: expected 16..32 bytes, got 33');
    expect(() => certificateMessage(id.subarray(1), key)).toThrow(RangeError);
    expect(() => backupLinkMessage(id, id, key, key.subarray(1))).toThrow('EB: expected 65 bytes, got 64');
    expect(() => primaryLinkMessage(id, 'x' as unknown as Uint8Array)).toThrow(TypeError);
  });
});

describe('trace redactor', () => {
  const h = (cla: number, ins: number) => ({ cla, ins, p1: 0, p2: 0 });

  test('hides the access code and the wallet blob, nothing else', () => {
    const redact = createTraceRedactor();
    expect(redact(h(0x80, Ins.VERIFY_PIN))).toEqual({ command: true });
    expect(redact(h(0x80, Ins.CREATE_WALLET))).toEqual({ command: true });
    expect(redact(h(0x80, Ins.IMPORT_WALLET))).toEqual({ command: true });
    expect(redact(h(0x90, Ins.IMPORT_WALLET))).toEqual({ command: true }); // a chained block
    expect(redact(h(0x80, Ins.EXPORT_WALLET))).toEqual({ response: true });
    for (const ins of [Ins.READ, Ins.SIGN, Ins.ATTEST, Ins.BACKUP_START, Ins.LINK_PRIMARY, Ins.LINK_BACKUP, Ins.FINALIZE_BACKUP]) {
      expect(redact(h(0x80, ins))).toBeUndefined();
    }
    expect(redact(h(0x00, Ins.SELECT))).toBeUndefined();
    // another application's INS 20 (ISO VERIFY on CLA 00) is not ours to hide
    expect(redact(h(0x00, 0x20))).toBeUndefined();
  });

  test('GET RESPONSE after EXPORT_WALLET stays hidden; after READ it is shown', () => {
    const redact = createTraceRedactor();
    redact(h(0x80, Ins.EXPORT_WALLET));
    expect(redact(h(0x00, 0xc0))).toEqual({ response: true });
    expect(redact(h(0x80, 0xc0))).toEqual({ response: true });
    redact(h(0x80, Ins.READ));
    expect(redact(h(0x00, 0xc0))).toBeUndefined();
  });
});

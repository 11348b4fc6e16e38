import { describeStatus, toHex } from '../../../src/apdu/index.js';
import {
  BLOB_VERSION,
  cardStateName,
  CardState,
  Ins,
  prefixBytes,
  PROTOCOL_VERSION,
  Tag,
  TWINCARD_AID,
  TWINCARD_STATUS_WORDS,
  TwincardSw,
} from '../../../src/protocol/constants.js';
import { attestationMessage, certificateMessage, prepareMessage, sealMessage, sessionMessage } from '../../../src/protocol/messages.js';

describe('constants', () => {
  test('AID and prefixes as docs/protocol.md writes them', () => {
    expect(toHex(TWINCARD_AID)).toBe('F07477696E6361726401');
    expect(toHex(prefixBytes('CERTIFICATE'))).toBe('5457494E434152443A434552543A3032');
    expect(toHex(prefixBytes('SESSION'))).toBe('5457494E434152443A534553532D4332');
    expect(toHex(prefixBytes('SESSION_SALT'))).toBe('5457494E434152443A5345533A563032');
    expect(toHex(prefixBytes('ATTESTATION'))).toBe('5457494E434152443A41545445535431');
    expect(toHex(prefixBytes('PREPARE'))).toBe('5457494E434152443A505245502D4232');
    expect(toHex(prefixBytes('SEAL'))).toBe('5457494E434152443A5345414C2D5032');
    expect(toHex(prefixBytes('KDF_SALT'))).toBe('5457494E434152443A4B44463A563032');
  });

  test('version 2 numbers as docs/protocol.md sections 2.1, 3 and 6 write them', () => {
    expect(PROTOCOL_VERSION).toBe(2);
    expect(BLOB_VERSION).toBe(2);
    expect(Ins).toEqual({
      SELECT: 0xa4,
      READ: 0x10,
      VERIFY_PIN: 0x20,
      CREATE_WALLET: 0x30,
      SIGN: 0x32,
      ATTEST: 0x40,
      CHANGE_ACCESS_CODE: 0x24,
      RESET: 0x28,
      OPEN_SESSION: 0x70,
      BACKUP_PREPARE: 0x60,
      BACKUP_EXPORT: 0x62,
      BACKUP_FINALIZE: 0x64,
      BACKUP_IMPORT: 0x66,
      BACKUP_CANCEL: 0x68,
      PERSO_GENERATE: 0xf0,
      PERSO_COMMIT: 0xf2,
    });
    expect(CardState).toEqual({ FACTORY: 0, BLANK: 1, WALLET: 2, BACKUP_EXPORTING: 3, BACKUP_PENDING: 4, BACKED_UP: 5 });
    expect([Tag.SEAL_SIGNATURE, Tag.PREPARE_SIGNATURE, Tag.BACKUP_CARD_IDS, Tag.PRIMARY_ID]).toEqual([0x12, 0x14, 0x18, 0x19]);
    expect([Tag.ATTESTATION_PUBLIC_KEY, Tag.SESSION_CARD_KEY, Tag.ACCESS_CODE, Tag.NEW_ACCESS_CODE, Tag.SESSION_HOST_KEY]).toEqual([
      0x0e, 0x1a, 0x1b, 0x1c, 0x1d,
    ]);
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
    expect(describeStatus(0x6987, TWINCARD_STATUS_WORDS)).toContain('must be wrapped');
    expect(describeStatus(0x6882, TWINCARD_STATUS_WORDS)).toContain('must be plain');
    expect(describeStatus(0x6988, TWINCARD_STATUS_WORDS)).toContain('secure messaging failed');
    for (const sw of [0x9a01, 0x9a03, 0x9a04, 0x9a05, 0x9a06, 0x9a08, 0x9a09, 0x9a0a]) {
      expect(TWINCARD_STATUS_WORDS.get(sw)).toBeDefined();
    }
    // unassigned (9A02) or version 1's linking and abort words, unused in version 2
    for (const sw of [0x9a02, 0x9a07, 0x9a0b, 0x9a0c]) expect(TWINCARD_STATUS_WORDS.get(sw)).toBeUndefined();
    expect(Object.values(TwincardSw)).not.toContain(0x9a07);
  });
});

describe('message builders', () => {
  const id = new Uint8Array(8).fill(1);
  const key = new Uint8Array(65).fill(4);
  test('sizes', () => {
    expect(certificateMessage(id, key, key).length).toBe(16 + 8 + 65 + 65);
    expect(sessionMessage(id, key, key).length).toBe(16 + 8 + 65 + 65);
    expect(attestationMessage(id, new Uint8Array(16)).length).toBe(16 + 8 + 16);
    expect(attestationMessage(id, new Uint8Array(32)).length).toBe(16 + 8 + 32);
    expect(prepareMessage(id, key).length).toBe(16 + 8 + 65);
    expect(sealMessage(id, id, key, key).length).toBe(16 + 8 + 8 + 65 + 65);
  });
  test('refuse wrong sizes', () => {
    expect(() => attestationMessage(id, new Uint8Array(15))).toThrow('challenge: expected 16..32 bytes, got 15');
    expect(() => attestationMessage(id, new Uint8Array(33))).toThrow('challenge: expected 16..32 bytes, got 33');
    expect(() => certificateMessage(id.subarray(1), key, key)).toThrow(RangeError);
    expect(() => certificateMessage(id, key, key.subarray(1))).toThrow('attestation public key: expected 65 bytes, got 64');
    expect(() => sessionMessage(id, key, key.subarray(1))).toThrow('EC: expected 65 bytes, got 64');
    expect(() => sealMessage(id, id, key, key.subarray(1))).toThrow('EP: expected 65 bytes, got 64');
    expect(() => sealMessage(id, id, key.subarray(1), key)).toThrow('EB: expected 65 bytes, got 64');
    expect(() => prepareMessage(id, 'x' as unknown as Uint8Array)).toThrow(TypeError);
  });
});

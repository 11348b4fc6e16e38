/**
 * The suite's own reading of the protocol against the worked examples of docs/protocol.md section 8 (the
 * inputs are derived as section 8 says; the expected values are copied from it): the transport key, the
 * blob a software backup card opens, the prepare and seal messages; and the strict READ parser.
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { utf8ToBytes } from '@noble/hashes/utils.js';
import { fromHex, toHex } from '../../../src/apdu/index.js';
import { publicKeyOf, verifyMessageSignature } from '../../../src/protocol/crypto.js';
import {
  openBlob,
  plaintextBytes,
  randomKeyPair,
  randomWallet,
  SoftCard,
  transportKeys,
  wellFormedPlaintext,
} from '../../../src/conformance/soft-card.js';
import { parseRead, prepareMessage, ReadFormatError, sealMessage } from '../../../src/conformance/wire.js';

const key = (name: string) => sha256(utf8ToBytes(`twincard example ${name}`));
const P_ID = fromHex('5052494D00000001');
const B_ID = fromHex('4241434B00000001');
const eB = { privateKey: key('eB'), publicKey: publicKeyOf(key('eB')) };
const EP = publicKeyOf(key('eP'));
const transcript = { primaryId: P_ID, backupId: B_ID, ep: EP, eb: eB.publicKey };

test('section 8.6: K_enc and K_mac from Z', () => {
  const z = fromHex('8544F884CF3DECD48186076EE03C9F6737DE9CBBAA19566BFB5FDD7CD6103571');
  const k = transportKeys(z, transcript);
  expect(toHex(k.enc)).toBe('7DA43B7260B9D98FF4AE660890459DAF2042CCD95EF62B30F8BFC3C03CBB5FD8');
  expect(toHex(k.mac)).toBe('51462E364651B123DC0E0028FE12C6F493A60B07FE2B5C3FAEAAE462D412402F');
});

const BLOB_8_7 = fromHex(
  '02' +
    '5052494D00000001' +
    '4241434B00000001' +
    '37CB89DC9F9AE991F3086010B3C7F2FC' +
    '88D5681F8BD92B5A6D28D9C2CAEF01A27A61CE64DDF8CA12BB52012AF99A2FA8' +
    '241D893004BB4912F194AD5F66F4CBB70C233A231BC7254392231DF1EF016618' +
    'FCB2261EFB72C4325889FE9BDBD69E283648035D04D49B1D0DB8197275D082B0' +
    'AB43B992DCB5DC68FDE7413FBD6633922ED1A10118CC70BA8469DC6F9A684D4C' +
    '82E9292560F126C920C59A521DF490C80683F8B8930991CA2CBFA3BEE99BEFD2',
);

test('section 8.7: the backup card opens the example blob to d_W and the PIN; one flipped bit and it does not', () => {
  const w = openBlob(BLOB_8_7, eB, transcript);
  expect(toHex(w.privateKey)).toBe(toHex(key('d_W')));
  expect(toHex(w.pin)).toBe('313233343536');
  const bad = BLOB_8_7.slice();
  bad[100] = bad[100]! ^ 1;
  expect(() => openBlob(bad, eB, transcript)).toThrow(/tag/);
  expect(() => openBlob(BLOB_8_7, eB, { ...transcript, backupId: P_ID })).toThrow(/header/);
});

test("section 8.5: the prepare and seal signatures verify over the suite's messages", () => {
  const prepare = fromHex(
    '3044022001E5AE83F2395683E9A60DC39AC15E6C4F5B163740B128DAE441C33097BE00' +
      '49022070DF7DEF58E67D78D2C2AA485358BED8FFFCF0235731C07D3BACBF99D0EE174C',
  );
  expect(verifyMessageSignature(prepare, prepareMessage(B_ID, eB.publicKey), publicKeyOf(key('d_B')))).toBe(true);
  expect(verifyMessageSignature(prepare, prepareMessage(P_ID, eB.publicKey), publicKeyOf(key('d_B')))).toBe(false);
  const seal = fromHex(
    '30440220223252C50CBCFB350C1AB0F4BD9B4CE992ED5CFED015C5EFDAAF4DA314538F' +
      '5302200EB833B1BD5F49EA2662903B3CF36109078979A4812AD94B1959165EC6C8118C',
  );
  expect(verifyMessageSignature(seal, sealMessage(P_ID, B_ID, eB.publicKey, EP), publicKeyOf(key('d_P')))).toBe(true);
  expect(verifyMessageSignature(seal, sealMessage(P_ID, B_ID, EP, eB.publicKey), publicKeyOf(key('d_P')))).toBe(false);
});

test('a software primary seals what a software backup card opens; a prepare signature covers B.id and EB', () => {
  const m = randomKeyPair();
  const primary = SoftCard.create(m, P_ID);
  const backup = SoftCard.create(m, B_ID);
  const wallet = randomWallet(utf8ToBytes('20261125'));
  const s = primary.seal(B_ID, eB.publicKey, plaintextBytes(wellFormedPlaintext(wallet)));
  expect(toHex(openBlob(s.blob, eB, { ...transcript, ep: s.ep }).publicKey)).toBe(toHex(wallet.publicKey));
  expect(verifyMessageSignature(s.signature, sealMessage(P_ID, B_ID, eB.publicKey, s.ep), primary.identity.publicKey)).toBe(true);
  const o = backup.prepare(eB.publicKey);
  expect(verifyMessageSignature(o.signature, prepareMessage(B_ID, eB.publicKey), backup.identity.publicKey)).toBe(true);
});

describe('parseRead is strict', () => {
  const factory = '010102' + '030100' + '060105' + '070400000000' + '080100';
  test('a FACTORY answer parses', () => {
    expect(parseRead(fromHex(factory))).toMatchObject({ version: 2, state: 'FACTORY', backupCount: 0, backupCardIds: [] });
  });
  test.each([
    ['version 01', '010101' + factory.slice(6), /version 01/],
    ['a trailing tag', factory + '2001AA', /unexpected tag 20/],
    ['BACKUP_CARD_IDS with count 0', factory + '1808AAAAAAAAAAAAAAAA', /BACKUP_CARD_IDS present/],
    ['out of order', '030100' + '010102' + factory.slice(12), /VERSION/],
    ['BACKUP_COUNT 1 on a FACTORY card without ids', factory.slice(0, -2) + '01', /BACKUP_COUNT 1/],
    ['state 06', '010102' + '030106' + factory.slice(12), /not a state/],
  ])('%s is refused', (_, hex, message) => {
    expect(() => parseRead(fromHex(hex))).toThrow(ReadFormatError);
    expect(() => parseRead(fromHex(hex))).toThrow(message);
  });
});

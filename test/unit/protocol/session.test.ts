/**
 * The host side of the card session (docs/protocol.md section 1.4), against the section 8.9 values: the
 * session signature checked under the certified attestation key (and nothing else), EC on the curve, the
 * counter from 1, the padding and the truncated MAC, keys wiped on close, and the wrapped commands never
 * sent plain. The card here answers from the 8.9 values only; what the host sends is checked against them.
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { concatBytes, utf8ToBytes } from '@noble/hashes/utils.js';
import { createDecipheriv, createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { fromHex, toHex } from '../../../src/apdu/index.js';
import { TwincardCard } from '../../../src/protocol/card.js';
import { issueCertificate, parseCertificate } from '../../../src/protocol/certificate.js';
import { publicKeyOf, signMessage } from '../../../src/protocol/crypto.js';
import { CardRefusedError, InvalidPointError, SessionClosedError, SessionKeyNotCertifiedError } from '../../../src/protocol/errors.js';
import { keyPairFromPem } from '../../../src/protocol/keys.js';
import { sessionMessage } from '../../../src/protocol/messages.js';
import { CardSession, createSessionOffer, establishSession, padMethod2, wrapPayload } from '../../../src/protocol/session.js';

const label = (name: string): Uint8Array => sha256(utf8ToBytes(`twincard example ${name}`));
const manufacturer = keyPairFromPem(
  readFileSync(fileURLToPath(new URL('../../../fixtures/test-manufacturer/private-key.pem', import.meta.url)), 'utf8'),
);
const P_ID = fromHex('5052494D00000001');
const d_AP = label('d_AP');
const certificate = parseCertificate(
  issueCertificate(
    { cardId: P_ID, identityPublicKey: publicKeyOf(label('d_P')), attestationPublicKey: publicKeyOf(d_AP) },
    manufacturer.privateKey,
  ),
);
const EC = publicKeyOf(label('eC'));
// docs/protocol.md 8.9, written out here so that this test fails if the document or the code changes alone
const K_ENC = '502CA82924AFDBAC581E5FC7177A9CE00A3D67E7BA9AD2EE4F5020F0C2293359';
const K_MAC = '366BF2C2854C850B7E33E0540DD84E071F399265B8A5E7D6DBE879C60198752E';
const VERIFY_PIN_DATA =
  '00000001' + 'D1257F06AB7AEC419B86D0C530DE6358' + 'D756A53420EBC3F7EAA8298A3EC006E2' + 'DD2DE2A678F65FD0227B8CE0F018AF49';
const PIN = utf8ToBytes('123456');

const answerSigned = (by: Uint8Array, ec = EC): { cardEphemeralKey: Uint8Array; signature: Uint8Array } => {
  const offer = createSessionOffer(label('eH'));
  return { cardEphemeralKey: ec, signature: signMessage(sessionMessage(P_ID, offer.hostEphemeralKey, ec), by) };
};

function unwrap(data: Uint8Array, ins: number): { counter: number; payload: Uint8Array } {
  const ctr = data.subarray(0, 4);
  const iv = data.subarray(4, 20);
  const ct = data.subarray(20, data.length - 16);
  const mac = createHmac('sha256', fromHex(K_MAC))
    .update(concatBytes(Uint8Array.of(0x84, ins, 0, 0), ctr, iv, ct))
    .digest();
  expect(toHex(data.subarray(data.length - 16))).toBe(toHex(mac.subarray(0, 16)));
  const decipher = createDecipheriv('aes-256-cbc', fromHex(K_ENC), iv).setAutoPadding(false);
  const padded = concatBytes(decipher.update(ct), decipher.final());
  const end = padded.lastIndexOf(0x80);
  return { counter: new DataView(ctr.buffer, ctr.byteOffset).getUint32(0), payload: padded.subarray(0, end) };
}

describe('establishSession', () => {
  test('derives the 8.9 keys and wraps the 8.9 VERIFY_PIN (ctr 1, IV_S)', () => {
    const session = establishSession(certificate, createSessionOffer(label('eH')), answerSigned(d_AP));
    expect(toHex(session.wrap({ ins: 0x20, p1: 0, p2: 0 }, PIN, label('IV_S').subarray(0, 16)))).toBe(VERIFY_PIN_DATA);
    expect(session.counter).toBe(1);
  });

  test('a signature by any other key (the identity key, another card) is SessionKeyNotCertifiedError', () => {
    for (const key of [label('d_P'), label('d_AB'), manufacturer.privateKey]) {
      expect(() => establishSession(certificate, createSessionOffer(label('eH')), answerSigned(key))).toThrow(SessionKeyNotCertifiedError);
    }
  });

  test('a signature over another EH (a replayed answer) is not certified', () => {
    const answer = answerSigned(d_AP);
    expect(() => establishSession(certificate, createSessionOffer(label('other eH')), answer)).toThrow(SessionKeyNotCertifiedError);
  });

  test('EC off the curve is refused before any ECDH', () => {
    const bad = EC.slice();
    bad[64] = (bad[64] as number) ^ 1;
    expect(() => establishSession(certificate, createSessionOffer(label('eH')), answerSigned(d_AP, bad))).toThrow(InvalidPointError);
  });

  test('eH is wiped whatever the outcome', () => {
    const ok = createSessionOffer(label('eH'));
    establishSession(certificate, ok, answerSigned(d_AP));
    expect(ok.hostEphemeralSecret.every((b) => b === 0)).toBe(true);
    const refused = createSessionOffer(label('eH'));
    expect(() => establishSession(certificate, refused, answerSigned(label('d_P')))).toThrow();
    expect(refused.hostEphemeralSecret.every((b) => b === 0)).toBe(true);
  });
});

describe('CardSession', () => {
  const keys = (): { encryptionKey: Uint8Array; macKey: Uint8Array } => ({ encryptionKey: fromHex(K_ENC), macKey: fromHex(K_MAC) });

  test('counts from 1, one more per command, a fresh IV each time', () => {
    const session = new CardSession(P_ID, keys());
    const a = session.wrap({ ins: 0x32, p1: 0, p2: 0 }, new Uint8Array(32).fill(7));
    const b = session.wrap({ ins: 0x32, p1: 0, p2: 0 }, new Uint8Array(32).fill(7));
    expect(unwrap(a, 0x32).counter).toBe(1);
    expect(unwrap(b, 0x32).counter).toBe(2);
    expect(toHex(a.subarray(4, 20))).not.toBe(toHex(b.subarray(4, 20)));
    expect(toHex(unwrap(b, 0x32).payload)).toBe('07'.repeat(32));
  });

  test('padding method 2: always 1..16 bytes, so an empty payload is one block and 16 bytes are two', () => {
    expect(toHex(padMethod2(new Uint8Array(0)))).toBe('80' + '00'.repeat(15));
    expect(padMethod2(new Uint8Array(15)).length).toBe(16);
    expect(padMethod2(new Uint8Array(16)).length).toBe(32);
    const session = new CardSession(P_ID, keys());
    expect(session.wrap({ ins: 0x64, p1: 0, p2: 0 }, new Uint8Array(0)).length).toBe(4 + 16 + 16 + 16); // 52: the card's minimum
  });

  test('the MAC covers the header: INS is bound', () => {
    const data = new CardSession(P_ID, keys()).wrap({ ins: 0x20, p1: 0, p2: 0 }, PIN);
    expect(() => unwrap(data, 0x30)).toThrow();
  });

  test('close wipes the keys; wrap after close throws', () => {
    const k = keys();
    const session = new CardSession(P_ID, k);
    session.close();
    expect(k.encryptionKey.every((b) => b === 0) && k.macKey.every((b) => b === 0)).toBe(true);
    expect(session.open).toBe(false);
    expect(() => session.wrap({ ins: 0x20, p1: 0, p2: 0 }, PIN)).toThrow(SessionClosedError);
  });

  test('wrapPayload refuses counter 0 and a wrong-size IV', () => {
    expect(() => wrapPayload(keys(), { ins: 0x20, p1: 0, p2: 0 }, 0, new Uint8Array(16), PIN)).toThrow(RangeError);
    expect(() => wrapPayload(keys(), { ins: 0x20, p1: 0, p2: 0 }, 1, new Uint8Array(15), PIN)).toThrow(RangeError);
  });
});

describe('TwincardCard: wrapped commands', () => {
  /** A card that answers OPEN_SESSION as P of 8.9 and records every other APDU; `sw` for the rest. */
  function card(sw = '9000'): { card: TwincardCard; sent: Uint8Array[] } {
    const sent: Uint8Array[] = [];
    const answer = answerSigned(d_AP);
    const c = new TwincardCard({
      transmit: async (apdu: Uint8Array) => {
        if (apdu[1] === 0x70)
          return concatBytes(
            fromHex('1A41'),
            answer.cardEphemeralKey,
            Uint8Array.of(0x0b, answer.signature.length),
            answer.signature,
            fromHex('9000'),
          );
        sent.push(apdu.slice());
        return fromHex(sw);
      },
    });
    return { card: c, sent };
  }

  test('never sent plain: without a session each one throws and nothing leaves the host', async () => {
    const { card: c, sent } = card();
    await expect(c.verifyPin(PIN)).rejects.toThrow(SessionClosedError);
    await expect(c.createWallet(PIN)).rejects.toThrow(SessionClosedError);
    await expect(c.sign(new Uint8Array(32), publicKeyOf(label('d_W')))).rejects.toThrow(SessionClosedError);
    await expect(c.changeAccessCode(PIN, utf8ToBytes('654321'))).rejects.toThrow(SessionClosedError);
    await expect(c.reset(PIN)).rejects.toThrow(SessionClosedError);
    await expect(c.backupFinalize()).rejects.toThrow(SessionClosedError);
    expect(sent).toHaveLength(0);
  });

  test('VERIFY_PIN goes out as CLA 84 with the 8.9 keys; CHANGE_ACCESS_CODE carries 1B/1C; RESET the code', async () => {
    const { card: c, sent } = card();
    await c.openSession(certificate, { hostEphemeralSecret: label('eH') });
    await c.verifyPin(PIN);
    await c.changeAccessCode(PIN, utf8ToBytes('654321'));
    await c.reset(utf8ToBytes('654321'));
    expect(sent.map((a) => toHex(a.subarray(0, 4)))).toEqual(['84200000', '84240000', '84280000']);
    const data = (a: Uint8Array): Uint8Array => a.subarray(5, 5 + (a[4] as number));
    expect(unwrap(data(sent[0]!), 0x20)).toEqual({ counter: 1, payload: PIN });
    expect(toHex(unwrap(data(sent[1]!), 0x24).payload)).toBe('1B06313233343536' + '1C06363534333231');
    expect(unwrap(data(sent[2]!), 0x28)).toEqual({ counter: 3, payload: utf8ToBytes('654321') });
  });

  test('6988 closes the session on the host too: the next wrapped command is not sent', async () => {
    const { card: c, sent } = card('6988');
    await c.openSession(certificate, { hostEphemeralSecret: label('eH') });
    await expect(c.verifyPin(PIN)).rejects.toThrow(CardRefusedError);
    expect(c.sessionOpen).toBe(false);
    await expect(c.verifyPin(PIN)).rejects.toThrow(SessionClosedError);
    expect(sent).toHaveLength(1);
  });

  test('SELECT closes the session (the card closes it on reselection)', async () => {
    const { card: c } = card();
    await c.openSession(certificate, { hostEphemeralSecret: label('eH') });
    await c.select().catch(() => undefined);
    expect(c.sessionOpen).toBe(false);
  });

  test('a session signed by a card in the middle opens nothing', async () => {
    const other = parseCertificate(
      issueCertificate(
        { cardId: P_ID, identityPublicKey: publicKeyOf(label('d_P')), attestationPublicKey: publicKeyOf(label('d_AB')) },
        manufacturer.privateKey,
      ),
    );
    const { card: c, sent } = card();
    await expect(c.openSession(other)).rejects.toThrow(SessionKeyNotCertifiedError);
    expect(c.sessionOpen).toBe(false);
    await expect(c.verifyPin(PIN)).rejects.toThrow(SessionClosedError);
    expect(sent).toHaveLength(0);
  });
});

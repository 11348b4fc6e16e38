/**
 * Every verdict of attestation.ts: a recorded attest session of the reference applet (test card 2, a wallet,
 * `twincard attest --trust-test-root --record`) replayed with one answer altered, and, where no recording
 * can reach the branch (a FACTORY card, a certified attestation key that is not a point, a fresh random
 * challenge), a card played here in software that signs what it is asked.
 */
import { encodeProtocolTlvs, fromHex, type ApduTransport } from '../../../src/apdu/index.js';
import { attest, verifyCardCertificate, type AttestationFailureCode, type AttestationResult } from '../../../src/protocol/attestation.js';
import { TwincardCard, type CardInfo } from '../../../src/protocol/card.js';
import { issueCertificate } from '../../../src/protocol/certificate.js';
import { Ins, Tag } from '../../../src/protocol/constants.js';
import { publicKeyOf, signMessage } from '../../../src/protocol/crypto.js';
import { attestationMessage, certificateMessage } from '../../../src/protocol/messages.js';
import { testManufacturerRoot, type TrustedRoot } from '../../../src/protocol/roots.js';
import { parseTranscript, PcscError, ReplayTransport } from '../../../src/readers/index.js';
import { data, flipAt, recordedTranscript, refusal, setAt, withAnswer, type Answer } from './recorded.js';

const recording = recordedTranscript('cli', 'record-attest.apdu');
/** The recorded ATTEST's challenge: a replay must send the one the card answered. */
const challenge = fromHex(
  parseTranscript(recording)
    .find((x) => x.command.startsWith('80400000'))!
    .command.slice(10, 10 + 64),
);
const testRoot = testManufacturerRoot();

/**
 * The recording's exchanges: SELECT, READ (first part: 01 01 02 | 03 01 02 | 02 08 id | 04 81 DB certificate ...),
 * GET RESPONSE, ATTEST.
 */
const READ = 1;
const ATTEST = 3;
const CARD_ID_LAST = 15;
const CERT_VERSION_BYTE = 19 + 2; // the certificate's first field: 10 01 02

async function verdictWith(index: number, change: (answer: Answer) => Answer, roots: readonly TrustedRoot[] = [testRoot]) {
  return attest(new TwincardCard(new ReplayTransport(withAnswer(recording, index, change))), roots, { challenge });
}

function expectFailure(verdict: AttestationResult, code: AttestationFailureCode, message: string | RegExp): void {
  expect(verdict.genuine).toBe(false);
  if (verdict.genuine) return;
  expect(verdict.reason.code).toBe(code);
  expect(verdict.reason.message).toMatch(message);
}

test('the recording, unaltered, is genuine under the TEST root', async () => {
  const verdict = await attest(new TwincardCard(new ReplayTransport(recording)), [testRoot], { challenge });
  expect(verdict).toMatchObject({ genuine: true, state: 'WALLET', root: { test: true } });
});

describe('verdicts from the recording with one answer altered', () => {
  test.each<[string, number, (answer: Answer) => Answer, AttestationFailureCode, string | RegExp]>([
    [
      'a certificate of another version',
      READ,
      setAt(CERT_VERSION_BYTE, 3),
      'CERTIFICATE_MALFORMED',
      'version 3 is not supported (expected 2)',
    ],
    [
      'READ naming another card id than the certificate',
      READ,
      flipAt(CARD_ID_LAST),
      'CARD_ID_MISMATCH',
      /^the certificate is for card 5445535400000003, the card says it is 5445535400000002$/,
    ],
    [
      'an ATTEST signature that does not verify',
      ATTEST,
      flipAt(2 + 10),
      'ATTESTATION_SIGNATURE_INVALID',
      'does not verify under the certified attestation key',
    ],
    ['ATTEST refused', ATTEST, refusal(0x6985), 'CARD_REFUSED', /^ATTEST: .*6985/],
    ['an ATTEST answer that is not DER', ATTEST, setAt(2, 0x31), 'MALFORMED_RESPONSE', /^ATTEST: .*attestation signature/],
    ['an ATTEST answer with a byte more', ATTEST, data((d) => Uint8Array.of(...d, 0x00)), 'MALFORMED_RESPONSE', /^ATTEST: /],
    ['READ refused', READ, refusal(0x6d00), 'CARD_REFUSED', /^READ: .*6D00/],
  ])('%s', async (_name, index, change, code, message) => {
    expectFailure(await verdictWith(index, change), code, message);
  });

  test('READ malformed: the verdict carries no info (READ never got through)', async () => {
    const verdict = await verdictWith(READ, setAt(5, 0x7f));
    expectFailure(verdict, 'MALFORMED_RESPONSE', 'unknown card state 0x7F');
    expect(verdict.info).toBeUndefined();
  });

  test.each<[string, readonly TrustedRoot[], string]>([
    ['no root trusted', [], 'no manufacturer root is trusted (test cards need --trust-test-root)'],
    [
      'another manufacturer only',
      [{ label: 'another manufacturer', publicKey: publicKeyOf(new Uint8Array(32).fill(9)), test: false }],
      'the certificate does not verify under any of the 1 trusted root(s)',
    ],
  ])('CERTIFICATE_UNTRUSTED with %s, and ATTEST never sent', async (_name, roots, message) => {
    const replay = new ReplayTransport(recording);
    const verdict = await attest(new TwincardCard(replay), roots, { challenge });
    expectFailure(verdict, 'CERTIFICATE_UNTRUSTED', message);
    expect(verdict.info?.state).toBe('WALLET');
    expect(replay.replayed).toBe(3); // SELECT, READ and its GET RESPONSE
  });
});

/** A BLANK card played in software: SELECT, READ, and ATTEST signed with `attestationSecret` over what is asked. */
function softCard(certificate: Uint8Array, cardId: Uint8Array, attestationSecret: Uint8Array, state = 0x01): ApduTransport {
  const ok = (bytes: Uint8Array) => Uint8Array.of(...bytes, 0x90, 0x00);
  const header = [
    [Tag.VERSION, Uint8Array.of(2)],
    [Tag.STATE, Uint8Array.of(state)],
  ] as [number, Uint8Array][];
  const counters = [
    [Tag.PIN_TRIES_LEFT, Uint8Array.of(5)],
    [Tag.SIGN_COUNTER, new Uint8Array(4)],
    [Tag.BACKUP_COUNT, Uint8Array.of(0)],
  ] as [number, Uint8Array][];
  const identity =
    state === 0x00
      ? []
      : ([
          [Tag.CARD_ID, cardId],
          [Tag.CERTIFICATE, certificate],
        ] as [number, Uint8Array][]);
  return {
    transmit: async (apdu) => {
      switch (apdu[1]) {
        case Ins.SELECT:
          return ok(encodeProtocolTlvs(header));
        case Ins.READ:
          return ok(encodeProtocolTlvs([...header, ...identity, ...counters]));
        case Ins.ATTEST:
          return ok(
            encodeProtocolTlvs([
              [Tag.SIGNATURE, signMessage(attestationMessage(cardId, apdu.subarray(5, 5 + (apdu[4] as number))), attestationSecret)],
            ]),
          );
        default:
          return Uint8Array.of(0x6d, 0x00);
      }
    },
  };
}

describe('verdicts no recording reaches', () => {
  const manufacturer = new Uint8Array(32).fill(0x11);
  const root: TrustedRoot = { label: 'unit-test manufacturer', publicKey: publicKeyOf(manufacturer), test: true };
  const cardId = fromHex('534F465400000001');
  const attestationSecret = new Uint8Array(32).fill(0x23);
  const identityPublicKey = publicKeyOf(new Uint8Array(32).fill(0x22));
  const certificate = issueCertificate({ cardId, identityPublicKey, attestationPublicKey: publicKeyOf(attestationSecret) }, manufacturer);

  test('a fresh random challenge each time: a card holding the certified key is genuine', async () => {
    const sent: Uint8Array[] = [];
    const card = softCard(certificate, cardId, attestationSecret);
    const spy: ApduTransport = { transmit: async (apdu) => (apdu[1] === Ins.ATTEST && sent.push(apdu.slice(5, 37)), card.transmit(apdu)) };
    expect((await attest(new TwincardCard(spy), [root])).genuine).toBe(true);
    expect((await attest(new TwincardCard(spy), [root])).genuine).toBe(true);
    expect(sent).toHaveLength(2);
    expect(sent[0]).not.toEqual(sent[1]);
  });

  test('a card without the certified attestation key is not genuine', async () => {
    const verdict = await attest(new TwincardCard(softCard(certificate, cardId, new Uint8Array(32).fill(0x24))), [root]);
    expectFailure(verdict, 'ATTESTATION_SIGNATURE_INVALID', 'does not verify under the certified attestation key');
  });

  test('a certified attestation key that is not a point is a signature that does not verify, not a crash', async () => {
    // The manufacturer signs whatever it is given (certificate keys are not curve-checked, section 1).
    const offCurve = Uint8Array.of(0x04, ...new Uint8Array(64).fill(1));
    const signature = signMessage(certificateMessage(cardId, identityPublicKey, offCurve), manufacturer);
    const forged = encodeProtocolTlvs([
      [Tag.CERT_VERSION, Uint8Array.of(2)],
      [Tag.CARD_ID, cardId],
      [Tag.IDENTITY_PUBLIC_KEY, identityPublicKey],
      [Tag.ATTESTATION_PUBLIC_KEY, offCurve],
      [Tag.SIGNATURE, signature],
    ]);
    const verdict = await attest(new TwincardCard(softCard(forged, cardId, attestationSecret)), [root]);
    expectFailure(verdict, 'ATTESTATION_SIGNATURE_INVALID', 'does not verify under the certified attestation key');
  });

  test('a FACTORY card is NOT_PERSONALIZED, from attest and from verifyCardCertificate', async () => {
    const card = new TwincardCard(softCard(certificate, cardId, attestationSecret, 0x00));
    const verdict = await attest(card, [root]);
    expectFailure(verdict, 'NOT_PERSONALIZED', 'the card is in FACTORY state: it has no identity key or certificate');
    expect(verdict.info?.state).toBe('FACTORY');
    const check = verifyCardCertificate(verdict.info as CardInfo, [root]);
    expect(check).toEqual({ ok: false, reason: { code: 'NOT_PERSONALIZED', message: expect.stringContaining('FACTORY') } });
  });

  test('a reader failure is thrown, not turned into a verdict about the card', async () => {
    const lost = new PcscError('transmit: the card left', 0x80100069, 'card-removed');
    const card = new TwincardCard({ transmit: async () => Promise.reject(lost) });
    await expect(attest(card, [root])).rejects.toBe(lost);
  });

  test("a challenge outside 16..32 bytes is the caller's error, thrown before the card is touched", async () => {
    let touched = false;
    const card = new TwincardCard({ transmit: async () => ((touched = true), Uint8Array.of(0x90, 0x00)) });
    await expect(attest(card, [root], { challenge: new Uint8Array(15) })).rejects.toThrow(RangeError);
    expect(touched).toBe(false);
  });
});

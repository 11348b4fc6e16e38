/**
 * The suite's own session code (src/conformance/session.ts) against the worked example of docs/protocol.md
 * section 8.9 (OPEN_SESSION to P and one wrapped VERIFY_PIN), so the suite's wrapping is the document's and
 * not just the reference card's; then what its fault options change.
 */
import { fromHex, toHex } from '../../../src/apdu/index.js';
import { publicKeyOf } from '../../../src/protocol/crypto.js';
import {
  deriveSession,
  openSessionData,
  padMethod2,
  parseSessionAnswer,
  sessionSignatureVerifies,
  wrapData,
} from '../../../src/conformance/session.js';

// Section 8.1's inputs and 8.9's values (hex as the document prints them).
const P_ID = fromHex('5052494D00000001');
const D_P = fromHex('037894B12CCFCA12693C1C5443FA567403402BD733CD5B384BF0BB9275BBCDC8');
const D_AP = fromHex('295ABE5A1D7211D45E5F6628C8F4146EF31756D01D4F7776409D7C27536C4511');
const EH_PRIVATE = '4689DA85FE355FE17829FB0A1141904994779799CD537C78831FA52D5F0EB4B8';
const IV_S = fromHex('D1257F06AB7AEC419B86D0C530DE6358');
const PIN = fromHex('313233343536');
const EH =
  '0442D8FB9946A14BCC4D873C547C2E0596737C04B741EBD752FC8A8B2A079A6A8CE2D78B97B2AA2E97A1E4207DA7123A5A9D032DD157905A44031A645C6419A4C5';
const OPEN_SESSION_RESPONSE = fromHex(
  '1A4104B7C6FB8FDAB340701FD3F4EF1DBA4F63C285C7379BEF0E74F4B2EAFF101F58306AAC5DF1021C5FA37B5DE965A4B7DB2D1F66004C11E968635D552FEFD1F73CDE' +
    '0B463044022040D6D54995CF92D4A8B161DCDA12C90F5107B5AE940FE0306C72557821C0' +
    '50D2022054BBB24CA1BA153027D4651952355696CEAC0C5709D04E6E1149BE7B73833CF4',
);
const K_ENC_S = '502CA82924AFDBAC581E5FC7177A9CE00A3D67E7BA9AD2EE4F5020F0C2293359';
const K_MAC_S = '366BF2C2854C850B7E33E0540DD84E071F399265B8A5E7D6DBE879C60198752E';
const VERIFY_PIN_DATA =
  '00000001' + 'D1257F06AB7AEC419B86D0C530DE6358' + 'D756A53420EBC3F7EAA8298A3EC006E2' + 'DD2DE2A678F65FD0227B8CE0F018AF49';

function example() {
  const eh = { privateKey: fromHex(EH_PRIVATE), publicKey: fromHex(EH) };
  const answer = parseSessionAnswer(OPEN_SESSION_RESPONSE);
  if (answer === undefined) throw new Error('8.9: the answer does not parse');
  return { answer, session: deriveSession(P_ID, eh, answer.ec) };
}

test('8.9: OPEN_SESSION data, the answer under the attestation key (not the identity key), the session keys', () => {
  expect(toHex(openSessionData(fromHex(EH)))).toBe('1D41' + EH);
  const { answer, session } = example();
  expect(sessionSignatureVerifies(answer.signature, P_ID, fromHex(EH), answer.ec, publicKeyOf(D_AP))).toBe(true);
  expect(sessionSignatureVerifies(answer.signature, P_ID, fromHex(EH), answer.ec, publicKeyOf(D_P))).toBe(false);
  expect(sessionSignatureVerifies(answer.signature, fromHex('4241434B00000001'), fromHex(EH), answer.ec, publicKeyOf(D_AP))).toBe(false);
  expect(toHex(session.enc)).toBe(K_ENC_S);
  expect(toHex(session.mac)).toBe(K_MAC_S);
});

test('8.9: the wrapped VERIFY_PIN with counter 1 and IV_S is the document’s, byte for byte; the counter then moves on', () => {
  const { session } = example();
  expect(toHex(wrapData(session, 0x20, PIN, { iv: IV_S }))).toBe(VERIFY_PIN_DATA);
  expect(session.ctr).toBe(1);
  expect(toHex(wrapData(session, 0x20, PIN, { iv: IV_S })).slice(0, 8)).toBe('00000002');
});

test('faults: a given counter, other padding, a mutated field; ISO 9797-1 method 2 always adds 1..16 bytes', () => {
  const { session } = example();
  const repeated = wrapData(session, 0x20, PIN, { iv: IV_S, ctr: 1 });
  expect(toHex(repeated)).toBe(VERIFY_PIN_DATA); // the same bytes: what a replay sends
  expect(session.ctr).toBe(1);
  const badPadding = wrapData(session, 0x20, PIN, { iv: IV_S, ctr: 1, padded: new Uint8Array(16) });
  expect(toHex(badPadding.subarray(0, 20))).toBe(VERIFY_PIN_DATA.slice(0, 40));
  expect(toHex(badPadding)).not.toBe(VERIFY_PIN_DATA);
  expect(wrapData(session, 0x20, PIN, { mutate: (d) => d.subarray(0, 36) })).toHaveLength(36);
  expect(toHex(padMethod2(PIN))).toBe('31323334353680' + '00'.repeat(9));
  expect(padMethod2(new Uint8Array(16))).toHaveLength(32);
  expect(padMethod2(new Uint8Array(0))).toHaveLength(16);
});

/**
 * The card session (docs/protocol.md section 1.4) and invariants I6 and I7 (section 9.1), attacked through pcscd
 * by a host that builds every APDU itself (support/attack/session.ts implements the session again from the
 * document's text). Cards: 0 = primary P, 1 = B1, 2 and 3 = the attacker's own cards (and, in the last test,
 * cards installed with the OTHER test root).
 *
 * (a) I6 on the wire: no command APDU of a backup, a sign, a code change or a reset carries the code's bytes, at
 *     any offset; the commands that carry the code answer 6987 in clear and change nothing.
 * (b) replay: a wrapped command recorded in one session fails in the next (6988); a repeated, skipped or
 *     reordered counter closes the session; tries and counters do not move.
 * (c) injection: a plain or altered command after a wrapped VERIFY_PIN cannot use the verification, and kills it.
 * (d) the host-side check of OPEN_SESSION's answer (what a host MUST check) catches any signature that is not by
 *     the certified attestation key of the card over its id, this EH and this EC.
 * (e) I7: a card installed with another root refuses peers certified under the TEST root, and vice versa; no
 *     command changes the root.
 * After each test I1 and I2 are checked on the cards' READs.
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { encodeProtocolTlvs, toHex, TlvRecord, type CommandApdu } from '../../src/apdu/index.js';
import { signMessage, verifyMessageSignature } from '../../src/protocol/crypto.js';
import { PcscService } from '../../src/readers/index.js';
import { sw, type Reply } from './support/attack/card-link.js';
import { AttackHost, B1, B2, B3, manufacturer, P } from './support/attack/host.js';
import { installedRoot, installRoot, OTHER_ROOT_PEM, otherRoot, TEST_ROOT_PEM } from './support/attack/roots.js';
import {
  containsBytes,
  hostEphemeral,
  openSessionCommand,
  parseOpenSession,
  sessionSignatureVerifies,
  sessionMessage,
  type AttackSession,
} from './support/attack/session.js';
import {
  certificateMessage,
  changeAccessCodeCommand,
  cmd,
  createWalletCommand,
  INS,
  parsePersoGenerate,
  prepareCommand,
  readCommand,
  resetCommand,
  signCommand,
  TAG,
  verifyPinCommand,
  type CardView,
} from './support/attack/wire.js';

const encode = (text: string): Uint8Array => new TextEncoder().encode(text);
/** Long and unlike any header or key byte run, so that finding it anywhere in an APDU means the code leaked. */
const CODE = encode('7351908642');
const NEW_CODE = encode('Qz81x0p4kW');
const DIGEST = sha256(encode('twincard session attack'));

let service: PcscService;
let host: AttackHost;
let otherRootInstalled = false;

beforeAll(async () => {
  service = PcscService.open();
  await service.waitForReaders({ timeoutMs: 5000 });
  host = await AttackHost.open(service, 4);
});

afterAll(async () => {
  // `wipe` keeps a card's root: the OTHER root must not outlive this file.
  if (otherRootInstalled) for (const k of [B2, B3]) installRoot(k, TEST_ROOT_PEM);
  // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- undefined when beforeAll failed
  await host?.close();
  // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- undefined when beforeAll failed
  service?.close();
});

beforeEach(async () => {
  await host.reset([P], CODE);
});

/** I1 and I2 on the cards' own READs; on failure the message carries the whole transcript. */
afterEach(() => host.assertInvariants());

/** SELECT (closing any session), then a new session of the host's own with card k. */
async function freshSession(k: number): Promise<AttackSession> {
  expect(sw(await host.select(k))).toBe('9000');
  const opened = await host.openSession(k);
  expect(sw(opened)).toBe('9000');
  return opened.session!;
}

/** What must not move when the card refuses: state, tries, sign counter, wallet, record. */
function essentials(v: CardView): object {
  return {
    state: v.state,
    tries: v.pinTriesLeft,
    signs: v.signCounter,
    wallet: v.walletPublicKey && toHex(v.walletPublicKey),
    ids: v.backupCardIds,
  };
}

const raw = (k: number, name: string, command: CommandApdu): Promise<Reply> => host.raw(k, name, command);

// ---------------------------------------------------------------------------------------------
// (a) I6 on the wire

test('I6 on the wire: no command APDU of a backup, signs, a code change and a reset carries the code or the new code', async () => {
  const { apdus } = await host.recordWire(async () => {
    expect(sw(await host.createWallet(B3, CODE))).toBe('9000'); // CREATE_WALLET carries the code
    // A full 1+1 backup: B1 prepares, P exports (VERIFY_PIN, BACKUP_EXPORT, BACKUP_FINALIZE), B1 imports.
    const o1 = await host.offer(B1);
    expect(sw(await host.select(P))).toBe('9000');
    expect(sw(await host.verifyPin(P, CODE))).toBe('9000');
    const x1 = await host.exported(P, o1);
    expect((await host.finalize(P)).count).toBe(1);
    expect(sw(await host.import(B1, x1))).toBe('9000'); // the blob carries the code, sealed card to card
    expect(sw(await host.sign(P, DIGEST))).toBe('9000');
    expect(sw(await host.select(B1))).toBe('9000');
    expect(sw(await host.verifyPin(B1, CODE))).toBe('9000');
    expect(sw(await host.sign(B1, DIGEST))).toBe('9000');
    // A code change, then the new code in use, then a reset with it.
    expect(sw(await host.changeAccessCode(P, CODE, NEW_CODE))).toBe('9000');
    expect(sw(await host.verifyPin(P, NEW_CODE))).toBe('9000');
    expect(sw(await host.sign(P, DIGEST))).toBe('9000');
    expect(sw(await host.changeAccessCode(B1, CODE, NEW_CODE))).toBe('9000');
    expect(sw(await host.resetCard(B1, NEW_CODE))).toBe('9000');
  });
  const bytes = apdus.reduce((n, a) => n + a.length, 0);
  console.log(`session-attack (a): ${apdus.length} command APDUs, ${bytes} bytes searched at every offset`);
  expect(apdus.length).toBeGreaterThan(20);
  const leaks = apdus.filter((a) => containsBytes(a, CODE) || containsBytes(a, NEW_CODE)).map(toHex);
  expect(leaks).toEqual([]);

  // The search is not blind: the same recorder finds the code in a VERIFY_PIN sent in clear (which is refused).
  const { apdus: clear } = await host.recordWire(() => raw(P, 'VERIFY_PIN in clear', verifyPinCommand(NEW_CODE)));
  expect(clear.filter((a) => containsBytes(a, NEW_CODE))).toHaveLength(1);
});

test('I6: VERIFY_PIN, CREATE_WALLET, CHANGE_ACCESS_CODE and RESET in clear answer 6987 and change nothing', async () => {
  const before = await host.read(P);
  const blank = await host.read(B2);
  expect(sw(await host.select(P))).toBe('9000');
  const session = (await host.openSession(P)).session!;
  expect(sw(await raw(P, 'VERIFY_PIN in clear (right code)', verifyPinCommand(CODE)))).toBe('6987');
  // The clear VERIFY_PIN verified nothing: a SIGN in the host's session still needs the code.
  expect(sw(await raw(P, 'SIGN (wrapped)', session.wrap(signCommand(DIGEST))))).toBe('6982');
  expect(sw(await raw(P, 'VERIFY_PIN in clear (wrong code)', verifyPinCommand(encode('0000'))))).toBe('6987');
  expect(sw(await raw(P, 'CHANGE_ACCESS_CODE in clear', changeAccessCodeCommand(CODE, NEW_CODE)))).toBe('6987');
  expect(sw(await raw(P, 'RESET in clear', resetCommand(CODE)))).toBe('6987');
  expect(sw(await raw(P, 'CREATE_WALLET in clear', createWalletCommand(CODE)))).toBe('6987');
  expect(sw(await raw(B2, 'CREATE_WALLET in clear on a BLANK card', createWalletCommand(CODE)))).toBe('6987');
  expect(essentials(await host.read(P))).toEqual(essentials(before));
  expect(essentials(await host.read(B2))).toEqual(essentials(blank));
  // The old code still works (the clear CHANGE did nothing), and so does the wallet (the clear RESET did nothing).
  expect(sw(await host.select(P))).toBe('9000');
  expect(sw(await host.verifyPin(P, NEW_CODE))).toBe('63C4');
  expect(sw(await host.verifyPin(P, CODE))).toBe('9000');
  expect(sw(await host.sign(P, DIGEST))).toBe('9000');
  // The other way round: a plain-only command wrapped is 6882 (READ, BACKUP_PREPARE, OPEN_SESSION).
  const s = await freshSession(B2);
  expect(sw(await raw(B2, 'READ wrapped', s.wrap(readCommand())))).toBe('6882');
  const s2 = await freshSession(B2);
  expect(sw(await raw(B2, 'BACKUP_PREPARE wrapped', s2.wrap(prepareCommand())))).toBe('6882');
  const s3 = await freshSession(B2);
  expect(sw(await raw(B2, 'OPEN_SESSION wrapped', s3.wrap(openSessionCommand(hostEphemeral().publicKey))))).toBe('6882');
  expect((await host.read(B2)).state).toBe('BLANK');
});

// ---------------------------------------------------------------------------------------------
// (b) replay

test('replay: VERIFY_PIN and SIGN recorded in one session fail in the next (6988); a repeated counter closes the session', async () => {
  const s1 = await freshSession(P);
  const verify1 = s1.wrap(verifyPinCommand(CODE));
  const sign1 = s1.wrap(signCommand(DIGEST));
  expect(sw(await raw(P, 'VERIFY_PIN (session 1)', verify1))).toBe('9000');
  expect(sw(await raw(P, 'SIGN (session 1)', sign1))).toBe('9000');
  const signed = await host.read(P);
  expect({ tries: signed.pinTriesLeft, signs: signed.signCounter }).toEqual({ tries: 5, signs: 1 });

  // A new OPEN_SESSION: the recordings meet other keys.
  await host.openSession(P);
  expect(sw(await raw(P, 'SIGN of session 1, replayed in session 2', sign1))).toBe('6988');
  const s3 = (await host.openSession(P)).session!;
  expect(sw(await raw(P, 'VERIFY_PIN of session 1, replayed in session 3', verify1))).toBe('6988');
  expect(sw(await raw(P, 'SIGN (session 3, after its failure)', s3.wrap(signCommand(DIGEST))))).toBe('6988');
  // After a new SELECT too.
  await freshSession(P);
  expect(sw(await raw(P, 'SIGN of session 1, replayed after SELECT', sign1))).toBe('6988');
  expect(essentials(await host.read(P))).toEqual(essentials(signed));

  // Within one session: the same counter twice.
  const s4 = await freshSession(P);
  const verify4 = s4.wrap(verifyPinCommand(CODE));
  expect(sw(await raw(P, 'VERIFY_PIN (ctr 1)', verify4))).toBe('9000');
  expect(sw(await raw(P, 'VERIFY_PIN (ctr 1) again', verify4))).toBe('6988');
  expect(sw(await raw(P, 'SIGN (ctr 2, correct but the session is closed)', s4.wrap(signCommand(DIGEST))))).toBe('6988');
  // A skipped counter.
  const s5 = await freshSession(P);
  expect(sw(await raw(P, 'VERIFY_PIN (ctr 1)', s5.wrap(verifyPinCommand(CODE))))).toBe('9000');
  expect(sw(await raw(P, 'SIGN (ctr 3)', s5.wrap(signCommand(DIGEST), { ctr: 3 })))).toBe('6988');
  expect(sw(await raw(P, 'SIGN (ctr 2)', s5.wrap(signCommand(DIGEST))))).toBe('6988');
  // Reordered: the second command first.
  const s6 = await freshSession(P);
  const first = s6.wrap(verifyPinCommand(CODE));
  const second = s6.wrap(signCommand(DIGEST));
  expect(sw(await raw(P, 'SIGN (ctr 2) before VERIFY_PIN (ctr 1)', second))).toBe('6988');
  expect(sw(await raw(P, 'VERIFY_PIN (ctr 1)', first))).toBe('6988');
  // Counter 0 in a fresh session (the first is 1).
  const s7 = await freshSession(P);
  expect(sw(await raw(P, 'VERIFY_PIN (ctr 0)', s7.wrap(verifyPinCommand(CODE), { ctr: 0 })))).toBe('6988');
  expect(essentials(await host.read(P))).toEqual(essentials(signed));
  // A fresh session that has not verified the code cannot sign.
  const s8 = await freshSession(P);
  expect(sw(await raw(P, 'SIGN in a new session without VERIFY_PIN', s8.wrap(signCommand(DIGEST))))).toBe('6982');
});

// ---------------------------------------------------------------------------------------------
// (c) injection

test('injection: after a wrapped VERIFY_PIN, a plain SIGN is 6987, an altered one 6988, and the verification is gone', async () => {
  const before = await host.read(P);
  const s = await freshSession(P);
  expect(sw(await raw(P, 'VERIFY_PIN (wrapped)', s.wrap(verifyPinCommand(CODE))))).toBe('9000');
  expect(sw(await raw(P, 'SIGN in clear', signCommand(DIGEST)))).toBe('6987');
  expect(sw(await raw(P, 'SIGN with a wrong MAC', s.wrap(signCommand(DIGEST), { badMac: true })))).toBe('6988');
  expect(sw(await raw(P, 'SIGN, correct, in the closed session', s.wrap(signCommand(DIGEST))))).toBe('6988');
  const next = await freshSession(P);
  expect(sw(await raw(P, 'SIGN in a fresh session without VERIFY_PIN', next.wrap(signCommand(DIGEST))))).toBe('6982');
  expect(essentials(await host.read(P))).toEqual(essentials(before));
});

test('every malformed wrapped SIGN after a wrapped VERIFY_PIN is 6988, closes the session and signs nothing', async () => {
  const before = await host.read(P);
  const other = await freshSession(B1); // a genuine card's session: the right format, the wrong keys
  const cases: ReadonlyArray<[string, (s: AttackSession) => CommandApdu]> = [
    ['wrong MAC', (s) => s.wrap(signCommand(DIGEST), { badMac: true })],
    ['padding without its 80 byte', (s) => s.wrap(signCommand(DIGEST), { badPadding: true })],
    ['data under 52 bytes', (s) => s.wrap(signCommand(DIGEST), { truncateTo: 51 })],
    ['ct not a whole number of blocks', (s) => s.wrap(signCommand(DIGEST), { cutBytes: 1 })],
    ['counter repeated', (s) => s.wrap(signCommand(DIGEST), { ctr: 1 })],
    ['counter skipped', (s) => s.wrap(signCommand(DIGEST), { ctr: 3 })],
    ['MAC made for VERIFY_PIN, sent as SIGN', (s) => s.wrap(verifyPinCommand(CODE), { otherIns: INS.SIGN })],
    ["wrapped with another card's session keys", () => other.wrap(signCommand(DIGEST), { ctr: 2 })],
  ];
  for (const [name, spoil] of cases) {
    const s = await freshSession(P);
    expect(sw(await raw(P, 'VERIFY_PIN (wrapped)', s.wrap(verifyPinCommand(CODE))))).toBe('9000');
    const answer = await raw(P, `SIGN: ${name}`, spoil(s));
    const after = await raw(P, 'SIGN, correct, in the same session', s.wrap(signCommand(DIGEST)));
    expect({ name, spoiled: sw(answer), next: sw(after) }).toEqual({ name, spoiled: '6988', next: '6988' });
  }
  // A wrapped command with no session at all (after SELECT).
  const stale = (await freshSession(P)).wrap(verifyPinCommand(CODE));
  expect(sw(await host.select(P))).toBe('9000');
  expect(sw(await raw(P, 'VERIFY_PIN wrapped in a session SELECT closed', stale))).toBe('6988');
  expect(essentials(await host.read(P))).toEqual(essentials(before));
});

test('a wrong code in a session spends one try (63C4) and no more when replayed (6988)', async () => {
  const s = await freshSession(P);
  const wrong = s.wrap(verifyPinCommand(encode('0000')));
  expect(sw(await raw(P, 'VERIFY_PIN, wrong code', wrong))).toBe('63C4');
  expect(sw(await raw(P, 'VERIFY_PIN, wrong code, replayed', wrong))).toBe('6988');
  const s2 = await freshSession(P);
  expect(sw(await raw(P, 'VERIFY_PIN, wrong code, replayed in a new session', wrong))).toBe('6988');
  expect((await host.read(P)).pinTriesLeft).toBe(4);
  expect(sw(await raw(P, 'VERIFY_PIN, right code', s2.wrap(verifyPinCommand(CODE))))).toBe('6988'); // s2 was closed
  expect(sw(await host.select(P))).toBe('9000');
  expect(sw(await host.verifyPin(P, CODE))).toBe('9000');
  expect((await host.read(P)).pinTriesLeft).toBe(5);
});

// ---------------------------------------------------------------------------------------------
// (d) the host's check of OPEN_SESSION's answer

test("OPEN_SESSION: an answer not signed by the card's certified attestation key over its id, EH and EC is detected", async () => {
  // What a host MUST check before it wraps anything: (1) the certificate READ returned verifies under a root
  // it trusts and names READ's card id; (2) OPEN_SESSION's signature verifies under THAT certificate's
  // ATTESTATION key (not the identity key) over "TWINCARD:SESS-C2" ‖ card id ‖ the EH it sent ‖ the EC it got.
  const me = host.identity(P);
  const view = await host.read(P);
  const cert = TlvRecord.parse(view.certificate!, {
    what: 'certificate',
    ordered: true,
    allowed: [TAG.CERT_VERSION, TAG.CARD_ID, TAG.IDENTITY_PUBLIC_KEY, TAG.ATTESTATION_PUBLIC_KEY, TAG.SIGNATURE],
  });
  const attestationKey = cert.required(TAG.ATTESTATION_PUBLIC_KEY, 65);
  const identityKey = cert.required(TAG.IDENTITY_PUBLIC_KEY, 65);
  expect(toHex(cert.required(TAG.CARD_ID, 8))).toBe(toHex(view.cardId!));
  expect(
    verifyMessageSignature(
      cert.required(TAG.SIGNATURE, { min: 8, max: 72 }),
      certificateMessage(me.id, identityKey, attestationKey),
      manufacturer.publicKey,
    ),
  ).toBe(true);

  const eh = hostEphemeral();
  const genuine = await raw(P, 'OPEN_SESSION', openSessionCommand(eh.publicKey));
  expect(sw(genuine)).toBe('9000');
  const { ec, signature } = parseOpenSession(genuine.data);
  const check = (key: Uint8Array, id: Uint8Array, e: Uint8Array, sig: Uint8Array): boolean =>
    sessionSignatureVerifies(sig, id, eh.publicKey, e, key);
  expect(check(attestationKey, me.id, ec, signature)).toBe(true);
  // The same answer under the identity key: a host that took the wrong key of the certificate is caught too.
  expect(check(identityKey, me.id, ec, signature)).toBe(false);
  // Another EH (a relay that opened its own session with the card and forwards its answer): fails.
  expect(sessionSignatureVerifies(signature, me.id, hostEphemeral().publicKey, ec, attestationKey)).toBe(false);

  // The signature swapped for one by P's IDENTITY key (a genuine seal signature, the only kind it makes for a wallet card).
  const o1 = await host.offer(B1);
  expect(sw(await host.select(P))).toBe('9000');
  expect(sw(await host.verifyPin(P, CODE))).toBe('9000');
  const sealed = await host.exported(P, o1);
  expect(check(attestationKey, me.id, ec, sealed.seal)).toBe(false);
  // ... for P's ATTEST signature (the attestation key, another purpose).
  const attest = await raw(P, 'ATTEST', cmd(INS.ATTEST, sha256(encode('challenge')), 256));
  expect(sw(attest)).toBe('9000');
  const attestSignature = TlvRecord.parse(attest.data, { what: 'ATTEST', ordered: true, allowed: [TAG.SIGNATURE] }).required(
    TAG.SIGNATURE,
    { min: 8, max: 72 },
  );
  expect(check(attestationKey, me.id, ec, attestSignature)).toBe(false);
  // ... for another genuine card's answer to the same EH (its EC and its signature, by its attestation key).
  const b1Answer = await raw(B1, 'OPEN_SESSION with the same EH', openSessionCommand(eh.publicKey));
  expect(sw(b1Answer)).toBe('9000');
  const b1 = parseOpenSession(b1Answer.data);
  expect(check(host.identity(B1).attestationPublicKey, host.identity(B1).id, b1.ec, b1.signature)).toBe(true);
  expect(check(attestationKey, me.id, b1.ec, b1.signature)).toBe(false);
  expect(check(attestationKey, me.id, ec, b1.signature)).toBe(false);
  // ... for a card in the middle: its own key signs the right message over its own EC.
  const middle = secp256k1.utils.randomSecretKey();
  const middleEc = hostEphemeral().publicKey;
  expect(check(attestationKey, me.id, middleEc, signMessage(sessionMessage(me.id, eh.publicKey, middleEc), middle))).toBe(false);
  // ... and garbage that is not DER at all.
  expect(check(attestationKey, me.id, ec, new Uint8Array(70).fill(0x30))).toBe(false);
});

// ---------------------------------------------------------------------------------------------
// (e) I7: the root is fixed at installation

test('I7: cards installed with the OTHER test root refuse TEST-root peers (9A01) and vice versa; no command changes the root', async () => {
  otherRootInstalled = true;
  installRoot(B2, OTHER_ROOT_PEM);
  installRoot(B3, OTHER_ROOT_PEM);
  const otherHex = toHex(otherRoot.publicKey);
  expect(installedRoot(B2).toUpperCase()).toContain(otherHex);

  // PERSO_COMMIT under the TEST root on an OTHER-root card: 9A01; the version 1 form naming a root: 6A80.
  expect(sw(await host.select(B2))).toBe('9000');
  const generated = await raw(B2, 'PERSO_GENERATE', cmd(INS.PERSO_GENERATE, host.identity(B2).id, 256));
  expect(sw(generated)).toBe('9000');
  const { identityKey, attestationKey } = parsePersoGenerate(generated.data);
  const underTest = signMessage(certificateMessage(host.identity(B2).id, identityKey, attestationKey), manufacturer.privateKey);
  expect(
    sw(await raw(B2, 'PERSO_COMMIT signed by the TEST root', cmd(INS.PERSO_COMMIT, encodeProtocolTlvs([[TAG.SIGNATURE, underTest]])))),
  ).toBe('9A01');
  const v1Form = encodeProtocolTlvs([
    [TAG.SIGNATURE, underTest],
    [TAG.MANUFACTURER_PUBLIC_KEY, manufacturer.publicKey],
  ]);
  expect(sw(await raw(B2, 'PERSO_COMMIT with a root attached', cmd(INS.PERSO_COMMIT, v1Form)))).toBe('6A80');
  expect((await host.read(B2)).state).toBe('FACTORY');

  await host.personalize(B2, otherRoot);
  await host.personalize(B3, otherRoot);
  expect(sw(await host.createWallet(B2, CODE))).toBe('9000');
  const oB1 = await host.offer(B1); // TEST root
  const oB3 = await host.offer(B3); // OTHER root
  // TEST-root P refuses an OTHER-root backup card; OTHER-root B2 refuses a TEST-root one.
  expect(sw(await host.select(P))).toBe('9000');
  expect(sw(await host.verifyPin(P, CODE))).toBe('9000');
  expect(sw(await host.export(P, oB3))).toBe('9A01');
  expect(sw(await host.select(B2))).toBe('9000');
  expect(sw(await host.verifyPin(B2, CODE))).toBe('9000');
  expect(sw(await host.export(B2, oB1))).toBe('9A01');
  // A blob from a TEST-root primary is refused by an OTHER-root card, and the other way round.
  const fromP = await host.exported(P, oB1);
  expect(sw(await host.import(B3, fromP))).toBe('9A01');
  const fromB2 = await host.exported(B2, oB3); // the OTHER root works among its own cards
  expect(sw(await host.import(B1, fromB2))).toBe('9A01');
  expect((await host.read(B1)).state).toBe('BACKUP_PENDING');
  expect((await host.read(B3)).state).toBe('BACKUP_PENDING');

  // No command changes the root: every CLA 80 INS (but GET RESPONSE) with the TEST root as data, on both
  // OTHER-root cards, then the same refusals again. Only READ (which persists nothing) may answer 9000.
  const asRoot = encodeProtocolTlvs([[TAG.MANUFACTURER_PUBLIC_KEY, manufacturer.publicKey]]);
  const accepted: string[] = [];
  for (const k of [B2, B3]) {
    for (let ins = 0; ins <= 0xff; ins++) {
      if (ins === 0xc0) continue;
      const reply = await host.raw(k, `INS ${ins.toString(16)} with the TEST root`, cmd(ins, asRoot));
      if (reply.sw === 0x9000 && ins !== INS.READ) accepted.push(`card ${k} INS ${ins.toString(16)}`);
    }
  }
  expect(accepted).toEqual([]);
  expect(installedRoot(B2).toUpperCase()).toContain(otherHex);
  expect(sw(await host.select(B2))).toBe('9000');
  expect(sw(await host.verifyPin(B2, CODE))).toBe('9000');
  expect(sw(await host.export(B2, oB1))).toBe('9A01');
  expect(sw(await host.import(B3, fromP))).toBe('9A01');
  expect(sw(await host.import(B3, fromB2))).toBe('9000');
});

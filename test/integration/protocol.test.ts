/**
 * The card protocol of docs/protocol.md (version 2) against the reference applet, through the real stack
 * (pcsclite -> pcscd -> vpcd -> jCardSim): personalization and attestation, the wallet, a 1+2 backup whose
 * three cards sign under one public key, and the hostile variations a relaying host can try on each backup
 * command, each refused with its status word while the refusing card's READ stays exactly as it was.
 *
 * The tests of one describe block run in order and share cards, like the steps of a backup.
 * Cards: 0 = primary P, 1 = backup B1, 2 = backup B2, 3 = Q (another primary, a counterfeit, a stranger).
 */
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ApduChannel, command, encodeProtocolTlvs, formatSw, toHex } from '../../src/apdu/index.js';
import { attest } from '../../src/protocol/attestation.js';
import type { CardInfo, PrepareOffer, SealedExport, TwincardCard } from '../../src/protocol/card.js';
import { issueCertificate, parseCertificate } from '../../src/protocol/certificate.js';
import { IsoSw, Tag, TwincardSw } from '../../src/protocol/constants.js';
import { isValidPublicKey, signMessage, verifyMessageSignature } from '../../src/protocol/crypto.js';
import { CardRefusedError, PinBlockedError, WrongPinError } from '../../src/protocol/errors.js';
import { personalize } from '../../src/protocol/factory.js';
import { keyPairFromPem } from '../../src/protocol/keys.js';
import type { CardSession } from '../../src/protocol/session.js';
import { prepareMessage, sealMessage } from '../../src/protocol/messages.js';
import { trustedRoots } from '../../src/protocol/roots.js';
import { PcscService } from '../../src/readers/index.js';
import { freshBlankCard, openCard, testCardId, testManufacturer, type OpenCard, type PersonalizedCard } from './support/cards.js';
import { repoRoot, sim, simRoot, TEST_ROOT_PEM } from './support/sim.js';

const PIN = new TextEncoder().encode('314159');
const WRONG_PIN = new TextEncoder().encode('271828');
/** The words these tests expect, by the names the protocol document gives them. */
const SW = {
  ...TwincardSw,
  WRONG_LENGTH: IsoSw.WRONG_LENGTH,
  SECURITY: IsoSw.PIN_NOT_VERIFIED,
  PIN_BLOCKED: IsoSw.PIN_BLOCKED,
  STATE: IsoSw.CONDITIONS_NOT_SATISFIED,
  WRONG_DATA: IsoSw.WRONG_DATA,
  CHAIN_TOO_LONG: IsoSw.CHAIN_TOO_LONG,
  P1P2: IsoSw.INCORRECT_P1P2,
  INS: IsoSw.INS_NOT_SUPPORTED,
  CLA: IsoSw.CLA_NOT_SUPPORTED,
} as const;

let service: PcscService;
beforeAll(() => {
  service = PcscService.open();
});
afterAll(() => {
  service.close();
});

/** READ as comparable text: everything a refused command must leave alone. */
async function snapshot(c: OpenCard): Promise<string> {
  const info: CardInfo = await c.card.read();
  return JSON.stringify(info, (_k, v: unknown) => (v instanceof Uint8Array ? toHex(v) : v));
}

/** Runs `act`, expects the card to refuse it with `sw`, and READ to be unchanged afterwards. */
async function refusedUnchanged(c: OpenCard, sw: number, act: () => Promise<unknown>): Promise<void> {
  const before = await snapshot(c);
  const error = await act().then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(CardRefusedError);
  expect(formatSw((error as CardRefusedError).sw)).toBe(formatSw(sw));
  expect(await snapshot(c)).toBe(before);
}

/** The commands that must be wrapped in a session (section 1.4). */
const WRAPPED = new Set([0x20, 0x24, 0x28, 0x30, 0x32, 0x62, 0x64]);
const sessions = new Map<OpenCard, CardSession>();

/** The card with a session open (a new one unless this object still has one): for the wrapped commands. */
async function inSession(c: OpenCard): Promise<TwincardCard> {
  if (!c.card.sessionOpen) {
    const info = await c.card.read();
    sessions.set(c, await c.card.openSession(parseCertificate(info.certificate!)));
  }
  return c.card;
}

/**
 * A raw protocol command (CLA 80, P1 = P2 = 00 unless given), for what the typed API refuses to build. A
 * command that must be wrapped is wrapped in the card's open session (CLA 84), unless a CLA is given or no
 * session is open (then it goes plain, as a hostile host would send it).
 */
async function raw(c: OpenCard, ins: number, data?: Uint8Array, options: { cla?: number; p1?: number; p2?: number } = {}): Promise<number> {
  const channel = new ApduChannel(c.pcsc);
  const p1 = options.p1 ?? 0;
  const p2 = options.p2 ?? 0;
  const session = sessions.get(c);
  if (options.cla === undefined && WRAPPED.has(ins) && c.card.sessionOpen && session !== undefined && session.open) {
    const wrapped = session.wrap({ ins, p1, p2 }, data ?? new Uint8Array(0));
    const { sw } = await channel.send(command(0x84, ins, p1, p2, wrapped, 256));
    if (sw === 0x6988) session.close(); // the card closed it
    if ([0x6e00, 0x6d00, 0x6a86, 0x6987, 0x6882, 0x6a84].includes(sw)) session.counterNotReached(); // refused before the session check
    return sw;
  }
  const { sw } = await channel.send(command(options.cla ?? 0x80, ins, p1, p2, data, 256));
  return sw;
}

async function rawUnchanged(
  c: OpenCard,
  sw: number,
  ins: number,
  data?: Uint8Array,
  options?: { cla?: number; p1?: number; p2?: number },
): Promise<void> {
  const before = await snapshot(c);
  expect(formatSw(await raw(c, ins, data, options))).toBe(formatSw(sw));
  expect(await snapshot(c)).toBe(before);
}

function offCurve(point: Uint8Array): Uint8Array {
  const bad = point.slice();
  bad[64] = (bad[64] as number) ^ 0x01;
  return bad;
}

function flip(bytes: Uint8Array, index: number): Uint8Array {
  const out = bytes.slice();
  out[index] = (out[index] as number) ^ 0x01;
  return out;
}

/** BACKUP_EXPORT's data: a backup card's certificate, EB and prepare signature. */
function exportPayload(cert: Uint8Array, eb: Uint8Array, sig: Uint8Array): Uint8Array {
  return encodeProtocolTlvs([
    [Tag.CERTIFICATE, cert],
    [Tag.BACKUP_EPHEMERAL_KEY, eb],
    [Tag.PREPARE_SIGNATURE, sig],
  ]);
}

describe('personalization and attestation', () => {
  let c: OpenCard;
  beforeAll(async () => {
    c = await freshBlankCard(service, 0);
  });
  afterAll(async () => {
    await c.close();
  });

  test('a personalized card is BLANK, reports its id and certificate, and refuses personalization again', async () => {
    const info = await c.card.read();
    expect(info).toMatchObject({ state: 'BLANK', pinTriesLeft: 5, signCounter: 0, backupCount: 0 });
    expect(toHex(info.cardId!)).toBe(toHex(testCardId(0)));
    await rawUnchanged(c, SW.STATE, 0xf0, testCardId(9));
    await rawUnchanged(c, SW.STATE, 0xf2, new Uint8Array([0x0b, 0x08, 1, 2, 3, 4, 5, 6, 7, 8]));
  });

  test('the card is genuine under the TEST root only when that root is trusted', async () => {
    const trusted = await attest(c.card, trustedRoots({ trustTestRoot: true }));
    expect(trusted.genuine).toBe(true);
    const untrusted = await attest(c.card, trustedRoots());
    expect(untrusted).toMatchObject({ genuine: false, reason: { code: 'CERTIFICATE_UNTRUSTED' } });
  });

  test('a card certified by another manufacturer is not genuine', async () => {
    // The root is fixed at installation (section 6): the counterfeit is a card installed with another
    // manufacturer's root and personalized by that manufacturer, whom the host does not trust.
    const other = join(repoRoot, 'fixtures', 'test-manufacturer', 'other-');
    simRoot(3, `${other}public-key.pem`);
    try {
      const q = await openCard(service, 3);
      try {
        await q.card.select();
        await personalize(q.card, testCardId(3, 'FAKE'), keyPairFromPem(readFileSync(`${other}private-key.pem`, 'utf8')));
        const verdict = await attest(q.card, trustedRoots({ trustTestRoot: true }));
        expect(verdict).toMatchObject({ genuine: false, reason: { code: 'CERTIFICATE_UNTRUSTED' } });
      } finally {
        await q.close();
      }
    } finally {
      simRoot(3, TEST_ROOT_PEM); // card 3 back to the TEST root for the tests that follow
    }
  });

  test(
    'PERSO_COMMIT refuses a manufacturer signature over something ' + 'else, or by another manufacturer than its installed root (9A01)',
    async () => {
      const q = await openCardFresh(3);
      await q.card.select();
      const keys = await q.card.persoGenerate(testCardId(3));
      const m = testManufacturer();
      const wrong = signMessage(new TextEncoder().encode('TWINCARD:CERT:02 but not this card'), m.privateKey);
      await refusedUnchanged(q, SW.CERT_INVALID, () => q.card.persoCommit(wrong));
      const body = certificateBody(testCardId(3), keys.identityPublicKey, keys.attestationPublicKey);
      await refusedUnchanged(q, SW.CERT_INVALID, () => q.card.persoCommit(signMessage(body, secp256k1.utils.randomSecretKey())));
      await q.card.persoCommit(signMessage(body, m.privateKey));
      expect((await q.card.read()).state).toBe('BLANK');
      await q.close();
    },
  );
});

async function openCardFresh(k: number): Promise<OpenCard> {
  sim('wipe', k);
  const c = await openCard(service, k);
  await c.card.select();
  return c;
}

function certificateBody(cardId: Uint8Array, identityPublicKey: Uint8Array, attestationPublicKey: Uint8Array): Uint8Array {
  const prefix = new TextEncoder().encode('TWINCARD:CERT:02');
  const out = new Uint8Array(16 + 8 + 65 + 65);
  out.set(prefix);
  out.set(cardId, 16);
  out.set(identityPublicKey, 24);
  out.set(attestationPublicKey, 89);
  return out;
}

test('keys and ECDSA nonces come from the card RNG: distinct per card and per signature', async () => {
  // jCardSim's default randomness is an unseeded generator per object: every card had the same keys and the
  // ECDSA nonce equalled the private key (r = x(Q)). The fixture replaces it; this keeps it replaced.
  const a = await freshBlankCard(service, 0);
  const b = await freshBlankCard(service, 1);
  expect(toHex(a.perso.identityPublicKey)).not.toBe(toHex(b.perso.identityPublicKey));
  const wallet = await (await inSession(a)).createWallet(PIN);
  expect(toHex(wallet)).not.toBe(toHex(a.perso.identityPublicKey));
  await (await inSession(a)).verifyPin(PIN);
  const digest = new Uint8Array(32).fill(0x42);
  const one = await (await inSession(a)).sign(digest, wallet);
  const two = await (await inSession(a)).sign(digest, wallet);
  expect(toHex(one.compact.slice(0, 32))).not.toBe(toHex(two.compact.slice(0, 32)));
  expect(toHex(one.compact.slice(0, 32))).not.toBe(toHex(wallet.slice(1, 33)));
  await a.close();
  await b.close();
});

describe('the wallet and its access code', () => {
  let c: OpenCard;
  let wallet: Uint8Array;
  beforeAll(async () => {
    c = await freshBlankCard(service, 0);
  });
  afterAll(async () => {
    await c.close();
  });

  test("a BLANK card refuses every wallet command and the primary's and import's backup commands (6985)", async () => {
    await inSession(c);
    for (const ins of [0x20, 0x32, 0x62, 0x64, 0x66]) {
      await rawUnchanged(c, SW.STATE, ins, ins === 0x20 ? PIN : ins === 0x32 ? new Uint8Array(32) : undefined);
    }
  });

  test("version 1's backup commands are gone (6D00), and READ says version 2", async () => {
    for (const ins of [0x50, 0x52, 0x54, 0x56, 0x58, 0x5a, 0x5e]) await rawUnchanged(c, SW.INS, ins);
    expect((await c.card.read()).version).toBe(2);
  });

  test('CREATE_WALLET makes a wallet on the card, once', async () => {
    wallet = await (await inSession(c)).createWallet(PIN);
    expect(isValidPublicKey(wallet)).toBe(true);
    expect(await c.card.read()).toMatchObject({ state: 'WALLET', walletOrigin: 'created', pinTriesLeft: 5 });
    await rawUnchanged(c, SW.STATE, 0x30, PIN);
  });

  test('the check order: CLA, INS, P1-P2, state, access code, length', async () => {
    await rawUnchanged(c, SW.CLA, 0x32, new Uint8Array(32), { cla: 0x00 });
    await rawUnchanged(c, SW.INS, 0x99, new Uint8Array(32));
    await rawUnchanged(c, SW.P1P2, 0x32, new Uint8Array(32), { p1: 1 });
    await rawUnchanged(c, SW.SECURITY, 0x32, new Uint8Array(31));
    await rawUnchanged(c, SW.WRONG_LENGTH, 0x20, PIN.slice(0, 3));
  });

  test('SIGN needs the access code, then signs a digest under the wallet key, low-S, counting', async () => {
    await refusedUnchanged(c, SW.SECURITY, async () => (await inSession(c)).sign(new Uint8Array(32).fill(1), wallet));
    await (await inSession(c)).verifyPin(PIN);
    const digest = randomBytes(32);
    const signed = await (await inSession(c)).sign(digest, wallet);
    expect(secp256k1.verify(signed.compact, digest, wallet, { prehash: false, lowS: true })).toBe(true);
    expect(signed.signCounter).toBe(1);
    expect((await (await inSession(c)).sign(digest, wallet)).signCounter).toBe(2);
  });

  test('a re-selected card has forgotten the access code', async () => {
    await c.card.select();
    await refusedUnchanged(c, SW.SECURITY, async () => (await inSession(c)).sign(new Uint8Array(32), wallet));
  });

  test('a card with a wallet refuses to act as a backup card: no prepare, no cancel, no import (6985)', async () => {
    await refusedUnchanged(c, SW.STATE, () => c.card.backupPrepare());
    await refusedUnchanged(c, SW.STATE, () => c.card.backupCancel());
    await rawUnchanged(c, SW.STATE, 0x66, new Uint8Array(40));
  });

  test('wrong access codes count down to a lock-out that even the right code cannot lift', async () => {
    await c.card.select();
    for (let left = 4; left >= 1; left--) {
      const e = await (await inSession(c)).verifyPin(WRONG_PIN).catch((x: unknown) => x);
      expect(e).toBeInstanceOf(WrongPinError);
      expect((e as WrongPinError).triesLeft).toBe(left);
      expect((await c.card.read()).pinTriesLeft).toBe(left);
    }
    await expect((await inSession(c)).verifyPin(WRONG_PIN)).rejects.toBeInstanceOf(PinBlockedError);
    await expect((await inSession(c)).verifyPin(PIN)).rejects.toMatchObject({ sw: SW.PIN_BLOCKED });
    await expect((await inSession(c)).sign(new Uint8Array(32), wallet)).rejects.toMatchObject({ sw: SW.PIN_BLOCKED });
    await expect((await inSession(c)).backupFinalize()).rejects.toMatchObject({ sw: SW.STATE }); // the state is checked before the code
    await expect(raw(c, 0x62, new Uint8Array(40))).resolves.toBe(SW.PIN_BLOCKED);
    expect(await c.card.read()).toMatchObject({ state: 'WALLET', pinTriesLeft: 0, signCounter: 2 });
  });
});

describe('the on-card point check (section 1)', () => {
  let p: PersonalizedCard;
  let b: PersonalizedCard;
  let offer: PrepareOffer;
  beforeAll(async () => {
    p = await freshBlankCard(service, 0);
    b = await freshBlankCard(service, 1);
    await (await inSession(p)).createWallet(PIN);
    offer = await b.card.backupPrepare();
    await (await inSession(p)).verifyPin(PIN);
  });
  afterAll(async () => {
    await p.close();
    await b.close();
  });

  /** BACKUP_EXPORT checks points first, then the certificate, then the prepare signature over EB. */
  async function exportTo(eb: Uint8Array): Promise<number> {
    return raw(p, 0x62, exportPayload(b.perso.certificate, eb, offer.signature));
  }

  test('valid points pass it (then the signature, made for another EB, fails: 9A03)', async () => {
    const points = Array.from({ length: 12 }, () => secp256k1.getPublicKey(secp256k1.utils.randomSecretKey(), false));
    points.push(secp256k1.Point.BASE.toBytes(false), secp256k1.Point.BASE.negate().toBytes(false));
    for (const point of points) expect([toHex(point), formatSw(await exportTo(point))]).toEqual([toHex(point), '9A03']);
    expect(await p.card.read()).toMatchObject({ state: 'WALLET', backupCount: 0 });
  });

  test('points off the curve, coordinates >= p and other encodings fail it (9A04)', async () => {
    const p256 = 2n ** 256n - 2n ** 32n - 977n;
    const enc = (x: bigint, y: bigint): Uint8Array => {
      const out = new Uint8Array(65);
      out[0] = 4;
      out.set(Buffer.from(x.toString(16).padStart(64, '0'), 'hex'), 1);
      out.set(Buffer.from(y.toString(16).padStart(64, '0'), 'hex'), 33);
      return out;
    };
    const g = secp256k1.Point.BASE;
    const withPrefix = (prefix: number): Uint8Array => Uint8Array.from([prefix, ...g.toBytes(false).slice(1)]);
    const random = (): InstanceType<typeof secp256k1.Point> =>
      secp256k1.Point.fromBytes(secp256k1.getPublicKey(secp256k1.utils.randomSecretKey(), false));
    const bad: Uint8Array[] = Array.from({ length: 10 }, () => offCurve(random().toBytes(false)));
    bad.push(enc(g.x, 0n), enc(0n, 0n), enc(p256 - 1n, p256 - 1n), enc(p256, g.y), withPrefix(0x06), withPrefix(0x05), withPrefix(0x00));
    // A coordinate plus p names the same point modulo p but is not a field element: only the x < p and y < p
    // checks catch it. p is within 2^33 of 2^256, so take the curve points with the smallest x and y.
    const fp = secp256k1.Point.Fp;
    for (let x = 1n; ; x++) {
      const y2 = fp.add(fp.pow(x, 3n), 7n);
      const y = (() => {
        try {
          return fp.sqrt(y2);
        } catch {
          return undefined;
        }
      })();
      if (y !== undefined && fp.eql(fp.sqr(y), y2)) {
        bad.push(enc(x + p256, y));
        break;
      }
    }
    for (const point of bad) expect([toHex(point), isValidPublicKey(point)]).toEqual([toHex(point), false]);
    expect(bad.length).toBeGreaterThanOrEqual(15);
    for (const point of bad) expect([toHex(point), formatSw(await exportTo(point))]).toEqual([toHex(point), '9A04']);
    expect(await p.card.read()).toMatchObject({ state: 'WALLET', backupCount: 0 });
  });
});

describe('a backup from P to B1 and B2, with an attacker relaying it', () => {
  let p: PersonalizedCard;
  let b1: PersonalizedCard;
  let b2: PersonalizedCard;
  let q: PersonalizedCard;
  let wallet: Uint8Array;
  let o1: PrepareOffer;
  let o2: PrepareOffer;
  let s1: SealedExport;
  let s1again: SealedExport;
  let s2: SealedExport;

  beforeAll(async () => {
    p = await freshBlankCard(service, 0);
    b1 = await freshBlankCard(service, 1);
    b2 = await freshBlankCard(service, 2);
    q = await freshBlankCard(service, 3, testCardId(3, 'QQQQ'));
    wallet = await (await inSession(p)).createWallet(PIN);
  });
  afterAll(async () => {
    for (const c of [p, b1, b2, q]) await c.close();
  });

  test('BACKUP_PREPARE: EB signed for its purpose, the same EB when retried; BACKUP_PENDING; no access code needed', async () => {
    o1 = await b1.card.backupPrepare();
    expect(verifyMessageSignature(o1.signature, prepareMessage(b1.perso.cardId, o1.ephemeralKey), b1.perso.identityPublicKey)).toBe(true);
    const again = await b1.card.backupPrepare();
    expect(toHex(again.ephemeralKey)).toBe(toHex(o1.ephemeralKey));
    expect(verifyMessageSignature(again.signature, prepareMessage(b1.perso.cardId, o1.ephemeralKey), b1.perso.identityPublicKey)).toBe(
      true,
    );
    o2 = await b2.card.backupPrepare();
    expect(await b1.card.read()).toMatchObject({ state: 'BACKUP_PENDING', backupCount: 0, backupCardIds: [] });
    await rawUnchanged(b1, SW.WRONG_LENGTH, 0x60, new Uint8Array(1));
  });

  test('out of order: no finalize before an export, no export or finalize on a pending card', async () => {
    await (await inSession(p)).verifyPin(PIN);
    await refusedUnchanged(p, SW.STATE, async () => (await inSession(p)).backupFinalize());
    await inSession(b1); // a pending card opens a session, and still refuses the primary's commands
    await rawUnchanged(b1, SW.STATE, 0x62, exportPayload(b2.perso.certificate, o2.ephemeralKey, o2.signature));
    await rawUnchanged(b1, SW.STATE, 0x64);
  });

  test('BACKUP_EXPORT needs the access code in this selection (6982)', async () => {
    await p.card.select();
    await refusedUnchanged(p, SW.SECURITY, async () => (await inSession(p)).backupExport({ certificate: b1.perso.certificate, ...o1 }));
  });

  test('BACKUP_EXPORT refuses a counterfeit or tampered backup certificate (9A01)', async () => {
    await (await inSession(p)).verifyPin(PIN);
    const cert = b1.perso.certificate;
    const forged = issueCertificate(
      { cardId: cert.slice(5, 13), identityPublicKey: cert.slice(15, 80), attestationPublicKey: cert.slice(82, 147) },
      secp256k1.utils.randomSecretKey(),
    );
    await refusedUnchanged(p, SW.CERT_INVALID, async () => (await inSession(p)).backupExport({ certificate: forged, ...o1 }));
    const tampered = flip(
      issueCertificate(
        { cardId: testCardId(7), identityPublicKey: cert.slice(15, 80), attestationPublicKey: cert.slice(82, 147) },
        testManufacturer().privateKey,
      ),
      6,
    );
    await refusedUnchanged(p, SW.CERT_INVALID, async () => (await inSession(p)).backupExport({ certificate: tampered, ...o1 }));
  });

  test("BACKUP_EXPORT refuses another card's certificate, a substituted EB, a signature for another purpose (9A03)", async () => {
    await refusedUnchanged(p, SW.SIGNATURE_INVALID, async () =>
      (await inSession(p)).backupExport({ certificate: b2.perso.certificate, ...o1 }),
    );
    await refusedUnchanged(p, SW.SIGNATURE_INVALID, async () =>
      (await inSession(p)).backupExport({ certificate: b1.perso.certificate, ...o1, ephemeralKey: o2.ephemeralKey }),
    );
    const attestation = await b1.card.attest(o1.ephemeralKey.slice(1, 33));
    await refusedUnchanged(p, SW.SIGNATURE_INVALID, async () =>
      (await inSession(p)).backupExport({ certificate: b1.perso.certificate, ...o1, signature: attestation }),
    );
    const certSignature = b1.perso.certificate.slice(149); // certificate 02: 147 bytes of fields, then 0B LL <signature>
    await refusedUnchanged(p, SW.SIGNATURE_INVALID, async () =>
      (await inSession(p)).backupExport({ certificate: b1.perso.certificate, ...o1, signature: certSignature }),
    );
  });

  test(
    'BACKUP_EXPORT refuses an EB off the curve (9A04); a certified key off the ' +
      'curve only fails its signature (9A01, 9A03); its own certificate (9A09)',
    async () => {
      await refusedUnchanged(p, SW.POINT_INVALID, async () =>
        (await inSession(p)).backupExport({ certificate: b1.perso.certificate, ...o1, ephemeralKey: offCurve(o1.ephemeralKey) }),
      );
      // Section 1: certified keys are not curve-checked. Changed in the certificate, the manufacturer signature fails
      // (9A01, checked first); certified as such by the manufacturer, the prepare signature cannot verify (9A03).
      const badKeyCert = b1.perso.certificate.slice();
      badKeyCert.set(offCurve(badKeyCert.slice(15, 80)), 15);
      await refusedUnchanged(p, SW.CERT_INVALID, async () => (await inSession(p)).backupExport({ certificate: badKeyCert, ...o1 }));
      const cert = b1.perso.certificate;
      const offCurveIdentity = offCurve(cert.slice(15, 80));
      const certifiedBody = certificateBody(cert.slice(5, 13), offCurveIdentity, cert.slice(82, 147));
      // Built by hand: the host's issueCertificate refuses an off-curve key, a manufacturer need not.
      const certifiedOffCurve = encodeProtocolTlvs([
        [Tag.CERT_VERSION, Uint8Array.of(0x02)],
        [Tag.CARD_ID, cert.slice(5, 13)],
        [Tag.IDENTITY_PUBLIC_KEY, offCurveIdentity],
        [Tag.ATTESTATION_PUBLIC_KEY, cert.slice(82, 147)],
        [Tag.SIGNATURE, signMessage(certifiedBody, testManufacturer().privateKey)],
      ]);
      await refusedUnchanged(p, SW.SIGNATURE_INVALID, async () =>
        (await inSession(p)).backupExport({ certificate: certifiedOffCurve, ...o1 }),
      );
      // P's own identity signing its own "prepare": still its own certificate.
      await refusedUnchanged(p, SW.SAME_CARD, async () => (await inSession(p)).backupExport({ certificate: p.perso.certificate, ...o1 }));
    },
  );

  test('BACKUP_EXPORT refuses truncated, over-long, reordered and non-minimal TLVs (6A80) and chains over 512 bytes (6A84)', async () => {
    const good = exportPayload(b1.perso.certificate, o1.ephemeralKey, o1.signature);
    await rawUnchanged(p, SW.WRONG_DATA, 0x62, good.slice(0, -1));
    await rawUnchanged(p, SW.WRONG_DATA, 0x62, Uint8Array.from([...good, 0x00]));
    await rawUnchanged(
      p,
      SW.WRONG_DATA,
      0x62,
      encodeProtocolTlvs([
        [Tag.BACKUP_EPHEMERAL_KEY, o1.ephemeralKey],
        [Tag.CERTIFICATE, b1.perso.certificate],
        [Tag.PREPARE_SIGNATURE, o1.signature],
      ]),
    );
    const nonMinimal = Uint8Array.from([
      ...encodeProtocolTlvs([[Tag.CERTIFICATE, b1.perso.certificate]]),
      Tag.BACKUP_EPHEMERAL_KEY,
      0x81,
      0x41,
      ...o1.ephemeralKey,
      ...encodeProtocolTlvs([[Tag.PREPARE_SIGNATURE, o1.signature]]),
    ]);
    await rawUnchanged(p, SW.WRONG_DATA, 0x62, nonMinimal);
    await rawUnchanged(p, SW.CHAIN_TOO_LONG, 0x62, new Uint8Array(600));
    expect(await p.card.read()).toMatchObject({ state: 'WALLET', backupCount: 0, backupCardIds: [] });
  });

  test('BACKUP_EXPORT seals a blob to B1 and records B1 before answering; again: a new EP and blob, still one card', async () => {
    s1 = await (await inSession(p)).backupExport({ certificate: b1.perso.certificate, ...o1 });
    const seal = sealMessage(p.perso.cardId, b1.perso.cardId, o1.ephemeralKey, s1.ephemeralKey);
    expect(verifyMessageSignature(s1.signature, seal, p.perso.identityPublicKey)).toBe(true);
    expect(toHex(s1.blob.slice(0, 17))).toBe(`02${toHex(p.perso.cardId)}${toHex(b1.perso.cardId)}`);
    // No secret in clear: the wallet public key (part of the plaintext) does not appear in the blob.
    expect(toHex(s1.blob)).not.toContain(toHex(wallet.slice(1, 17)));
    const info = await p.card.read();
    expect({ state: info.state, count: info.backupCount, ids: info.backupCardIds.map(toHex) }).toEqual({
      state: 'BACKUP_EXPORTING',
      count: 1,
      ids: [toHex(b1.perso.cardId)],
    });
    s1again = await (await inSession(p)).backupExport({ certificate: b1.perso.certificate, ...o1 });
    expect(toHex(s1again.ephemeralKey)).not.toBe(toHex(s1.ephemeralKey));
    expect(toHex(s1again.blob.slice(17, 33))).not.toBe(toHex(s1.blob.slice(17, 33))); // a fresh IV
    expect((await p.card.read()).backupCardIds.map(toHex)).toEqual([toHex(b1.perso.cardId)]);
  });

  test('a second backup card, then no third (9A08): the record is closed at two', async () => {
    s2 = await (await inSession(p)).backupExport({ certificate: b2.perso.certificate, ...o2 });
    const third = await q.card.backupPrepare();
    await refusedUnchanged(p, SW.TOO_MANY_BACKUPS, async () =>
      (await inSession(p)).backupExport({ certificate: q.perso.certificate, ...third }),
    );
    expect((await p.card.read()).backupCardIds.map(toHex)).toEqual([toHex(b1.perso.cardId), toHex(b2.perso.cardId)]);
  });

  test('BACKUP_IMPORT refuses a blob for another card (9A06), a bad seal (9A03), a tampered blob (9A05)', async () => {
    const pc = p.perso.certificate;
    await refusedUnchanged(b2, SW.WRONG_RECIPIENT, () => b2.card.backupImport({ certificate: pc, ...s1 }));
    await refusedUnchanged(b1, SW.WRONG_RECIPIENT, () => b1.card.backupImport({ certificate: pc, ...s1, blob: flip(s1.blob, 0) }));
    await refusedUnchanged(b1, SW.SIGNATURE_INVALID, () => b1.card.backupImport({ certificate: pc, ...s1, signature: s1again.signature }));
    await refusedUnchanged(b1, SW.SIGNATURE_INVALID, () =>
      b1.card.backupImport({ certificate: pc, ...s1, ephemeralKey: s1again.ephemeralKey }),
    );
    // EP, seal and blob of one export with the blob of the other: the seal verifies, the MAC does not.
    await refusedUnchanged(b1, SW.MAC_INVALID, () => b1.card.backupImport({ certificate: pc, ...s1, blob: s1again.blob }));
    for (const index of [17, 40, 100, 160, 170, 192]) {
      await refusedUnchanged(b1, SW.MAC_INVALID, () => b1.card.backupImport({ certificate: pc, ...s1, blob: flip(s1.blob, index) }));
    }
  });

  test("BACKUP_IMPORT refuses its own certificate (9A09), another primary's (9A06), an untrusted one (9A01), bad TLVs (6A80)", async () => {
    await refusedUnchanged(b1, SW.SAME_CARD, () => b1.card.backupImport({ certificate: b1.perso.certificate, ...s1 }));
    await refusedUnchanged(b1, SW.WRONG_RECIPIENT, () => b1.card.backupImport({ certificate: q.perso.certificate, ...s1 }));
    const cert = p.perso.certificate;
    const forged = issueCertificate(
      { cardId: cert.slice(5, 13), identityPublicKey: cert.slice(15, 80), attestationPublicKey: cert.slice(82, 147) },
      secp256k1.utils.randomSecretKey(),
    );
    await refusedUnchanged(b1, SW.CERT_INVALID, () => b1.card.backupImport({ certificate: forged, ...s1 }));
    const good = encodeProtocolTlvs([
      [Tag.CERTIFICATE, cert],
      [Tag.PRIMARY_EPHEMERAL_KEY, s1.ephemeralKey],
      [Tag.SEAL_SIGNATURE, s1.signature],
      [Tag.WALLET_BLOB, s1.blob],
    ]);
    await rawUnchanged(b1, SW.WRONG_DATA, 0x66, good.slice(0, -1));
    await rawUnchanged(b1, SW.WRONG_DATA, 0x66, Uint8Array.from([...good, 0x00]));
  });

  test('BACKUP_FINALIZE closes the record for good; a retried finalize answers the same', async () => {
    await p.card.select();
    await refusedUnchanged(p, SW.SECURITY, async () => (await inSession(p)).backupFinalize());
    await (await inSession(p)).verifyPin(PIN);
    expect(await (await inSession(p)).backupFinalize()).toBe(2);
    expect(await (await inSession(p)).backupFinalize()).toBe(2);
    expect(await p.card.read()).toMatchObject({ state: 'BACKED_UP', walletOrigin: 'created', backupCount: 2 });
    await refusedUnchanged(p, SW.STATE, async () => (await inSession(p)).backupExport({ certificate: b1.perso.certificate, ...o1 }));
  });

  test('BACKUP_IMPORT stores the wallet; a retried import answers "already imported"; another blob is refused', async () => {
    const r1 = await b1.card.backupImport({ certificate: p.perso.certificate, ...s1 });
    expect(r1.alreadyImported).toBe(false);
    expect(toHex(r1.walletPublicKey)).toBe(toHex(wallet));
    const retry = await b1.card.backupImport({ certificate: p.perso.certificate, ...s1 });
    expect(retry.alreadyImported).toBe(true);
    await refusedUnchanged(b1, SW.STATE, () => b1.card.backupImport({ certificate: p.perso.certificate, ...s1again }));
    await b2.card.backupImport({ certificate: p.perso.certificate, ...s2 });
    const info = await b1.card.read();
    expect(info).toMatchObject({ state: 'BACKED_UP', walletOrigin: 'imported', pinTriesLeft: 5, backupCount: 0 });
    expect(toHex(info.primaryId!)).toBe(toHex(p.perso.cardId));
  });

  test('a card that imported never exports (I5) and is never prepared or cancelled again', async () => {
    await (await inSession(b1)).verifyPin(PIN);
    const fresh = await q.card.backupPrepare();
    await refusedUnchanged(b1, SW.STATE, async () => (await inSession(b1)).backupExport({ certificate: q.perso.certificate, ...fresh }));
    await refusedUnchanged(b1, SW.STATE, async () => (await inSession(b1)).backupFinalize());
    await refusedUnchanged(b1, SW.STATE, () => b1.card.backupPrepare());
    await refusedUnchanged(b1, SW.STATE, () => b1.card.backupCancel());
    await refusedUnchanged(p, SW.STATE, () => p.card.backupImport({ certificate: b1.perso.certificate, ...s1 }));
  });

  test('all three cards sign under one wallet public key with the shared access code', async () => {
    const digest = randomBytes(32);
    for (const c of [p, b1, b2]) {
      await c.card.select();
      await (await inSession(c)).verifyPin(PIN);
      const signed = await (await inSession(c)).sign(digest, wallet);
      expect(secp256k1.verify(signed.compact, digest, wallet, { prehash: false })).toBe(true);
      expect(signed.signCounter).toBe(1);
    }
  });
});

test('the TLV encoder used by these tests puts lengths in minimal form', () => {
  expect(toHex(encodeProtocolTlvs([[0x15, new Uint8Array(193)]]).slice(0, 3))).toBe('1581C1');
});

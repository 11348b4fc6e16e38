/**
 * The card protocol of docs/protocol.md against the reference applet, through the real stack
 * (pcsclite -> pcscd -> vpcd -> jCardSim): personalization and attestation, the wallet, a 1+2 backup whose
 * three cards sign under one public key, and every hostile variation of issue 4, each refused with its status
 * word while the refusing card's READ stays exactly as it was.
 *
 * The tests of one describe block run in order and share cards, like the steps of a backup.
 * Cards: 0 = primary P, 1 = backup B1, 2 = backup B2, 3 = Q (another primary, a counterfeit, a stranger).
 */
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { randomBytes } from 'node:crypto';
import { ApduChannel, command, encodeProtocolTlvs, toHex } from '../../src/apdu/index.js';
import { attest } from '../../src/protocol/attestation.js';
import type { CardInfo, LinkOffer } from '../../src/protocol/card.js';
import { issueCertificate } from '../../src/protocol/certificate.js';
import { IsoSw, Tag, TwincardSw } from '../../src/protocol/constants.js';
import { isValidPublicKey, publicKeyOf, signMessage } from '../../src/protocol/crypto.js';
import { CardRefusedError, PinBlockedError, WrongPinError } from '../../src/protocol/errors.js';
import { personalize } from '../../src/protocol/factory.js';
import { trustedRoots } from '../../src/protocol/roots.js';
import { PcscService } from '../../src/readers/index.js';
import { freshBlankCard, openCard, testCardId, testManufacturer, type OpenCard, type PersonalizedCard } from './support/cards.js';
import { sim } from './support/sim.js';

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
  expect((error as CardRefusedError).sw.toString(16)).toBe(sw.toString(16));
  expect(await snapshot(c)).toBe(before);
}

/** A raw protocol command (CLA 80, P1 = P2 = 00 unless given), for what the typed API refuses to build. */
async function raw(c: OpenCard, ins: number, data?: Uint8Array, options: { cla?: number; p1?: number; p2?: number } = {}): Promise<number> {
  const channel = new ApduChannel(c.pcsc);
  const { sw } = await channel.send(command(options.cla ?? 0x80, ins, options.p1 ?? 0, options.p2 ?? 0, data, 256));
  return sw;
}

async function rawUnchanged(c: OpenCard, sw: number, ins: number, data?: Uint8Array, options?: { cla?: number; p1?: number; p2?: number }): Promise<void> {
  const before = await snapshot(c);
  expect((await raw(c, ins, data, options)).toString(16)).toBe(sw.toString(16));
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

function linkPayload(certTag: number, cert: Uint8Array, keyTag: number, key: Uint8Array, sigTag: number, sig: Uint8Array): Uint8Array {
  return encodeProtocolTlvs([
    [certTag, cert],
    [keyTag, key],
    [sigTag, sig],
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
    const q = await openCardFresh(3);
    const counterfeit = secp256k1.utils.randomSecretKey();
    await personalize(q.card, testCardId(3, 'FAKE'), { privateKey: counterfeit, publicKey: publicKeyOf(counterfeit) });
    const verdict = await attest(q.card, trustedRoots({ trustTestRoot: true }));
    expect(verdict).toMatchObject({ genuine: false, reason: { code: 'CERTIFICATE_UNTRUSTED' } });
    await q.close();
  });

  test('PERSO_COMMIT refuses a manufacturer signature over something else, and an invalid manufacturer key', async () => {
    const q = await openCardFresh(3);
    await q.card.select();
    const identity = await q.card.persoGenerate(testCardId(3));
    const m = testManufacturer();
    const wrong = signMessage(new TextEncoder().encode('TWINCARD:CERT:01 but not this card'), m.privateKey);
    await refusedUnchanged(q, SW.CERT_INVALID, () => q.card.persoCommit(wrong, m.publicKey));
    const good = signMessage(certificateBody(testCardId(3), identity), m.privateKey);
    await refusedUnchanged(q, SW.POINT_INVALID, () => q.card.persoCommit(good, offCurve(m.publicKey)));
    await q.card.persoCommit(good, m.publicKey);
    expect((await q.card.read()).state).toBe('BLANK');
    await q.close();
  });
});

async function openCardFresh(k: number): Promise<OpenCard> {
  sim('wipe', k);
  const c = await openCard(service, k);
  await c.card.select();
  return c;
}

function certificateBody(cardId: Uint8Array, identityPublicKey: Uint8Array): Uint8Array {
  const prefix = new TextEncoder().encode('TWINCARD:CERT:01');
  const out = new Uint8Array(16 + 8 + 65);
  out.set(prefix);
  out.set(cardId, 16);
  out.set(identityPublicKey, 24);
  return out;
}

test('keys and ECDSA nonces come from the card RNG: distinct per card and per signature', async () => {
  // jCardSim's default randomness is an unseeded generator per object: every card had the same keys and the
  // ECDSA nonce equalled the private key (r = x(Q)). The fixture replaces it; this keeps it replaced.
  const a = await freshBlankCard(service, 0);
  const b = await freshBlankCard(service, 1);
  expect(toHex(a.perso.identityPublicKey)).not.toBe(toHex(b.perso.identityPublicKey));
  const wallet = await a.card.createWallet(PIN);
  expect(toHex(wallet)).not.toBe(toHex(a.perso.identityPublicKey));
  await a.card.verifyPin(PIN);
  const digest = new Uint8Array(32).fill(0x42);
  const one = await a.card.sign(digest, wallet);
  const two = await a.card.sign(digest, wallet);
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

  test('a BLANK card refuses every wallet and backup command (6985)', async () => {
    for (const ins of [0x20, 0x32, 0x50, 0x54, 0x56, 0x58, 0x5a]) {
      await rawUnchanged(c, SW.STATE, ins, ins === 0x20 ? PIN : ins === 0x32 ? new Uint8Array(32) : undefined);
    }
  });

  test('CREATE_WALLET makes a wallet on the card, once', async () => {
    wallet = await c.card.createWallet(PIN);
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
    await refusedUnchanged(c, SW.SECURITY, () => c.card.sign(new Uint8Array(32).fill(1), wallet));
    await c.card.verifyPin(PIN);
    const digest = randomBytes(32);
    const signed = await c.card.sign(digest, wallet);
    expect(secp256k1.verify(signed.compact, digest, wallet, { prehash: false, lowS: true })).toBe(true);
    expect(signed.signCounter).toBe(1);
    expect((await c.card.sign(digest, wallet)).signCounter).toBe(2);
  });

  test('a re-selected card has forgotten the access code', async () => {
    await c.card.select();
    await refusedUnchanged(c, SW.SECURITY, () => c.card.sign(new Uint8Array(32), wallet));
  });

  test('a card with a wallet refuses to be linked as a backup card (6985)', async () => {
    const other = await freshBlankCard(service, 1);
    await rawUnchanged(c, SW.STATE, 0x52, linkPayload(Tag.CERTIFICATE, other.perso.certificate, Tag.PRIMARY_EPHEMERAL_KEY, wallet, Tag.PRIMARY_LINK_SIGNATURE, new Uint8Array(70)));
    await other.close();
  });

  test('wrong access codes count down to a lock-out that even the right code cannot lift', async () => {
    await c.card.select();
    for (let left = 4; left >= 1; left--) {
      const e = await c.card.verifyPin(WRONG_PIN).catch((x: unknown) => x);
      expect(e).toBeInstanceOf(WrongPinError);
      expect((e as WrongPinError).triesLeft).toBe(left);
      expect((await c.card.read()).pinTriesLeft).toBe(left);
    }
    await expect(c.card.verifyPin(WRONG_PIN)).rejects.toBeInstanceOf(PinBlockedError);
    await expect(c.card.verifyPin(PIN)).rejects.toMatchObject({ sw: SW.PIN_BLOCKED });
    await expect(c.card.sign(new Uint8Array(32), wallet)).rejects.toMatchObject({ sw: SW.PIN_BLOCKED });
    await expect(c.card.backupStart()).rejects.toMatchObject({ sw: SW.PIN_BLOCKED });
    expect(await c.card.read()).toMatchObject({ state: 'WALLET', pinTriesLeft: 0, signCounter: 2 });
  });
});

describe('the on-card point check (section 1)', () => {
  let p: PersonalizedCard;
  let b: PersonalizedCard;
  let offer: LinkOffer;
  beforeAll(async () => {
    p = await freshBlankCard(service, 0);
    b = await freshBlankCard(service, 1);
    await p.card.createWallet(PIN);
    await p.card.verifyPin(PIN);
    offer = await p.card.backupStart();
  });
  afterAll(async () => {
    await p.close();
    await b.close();
  });

  /** LINK_PRIMARY checks points first, then the certificate, then the link signature over EP. */
  async function linkWith(ep: Uint8Array): Promise<number> {
    return raw(b, 0x52, linkPayload(Tag.CERTIFICATE, p.perso.certificate, Tag.PRIMARY_EPHEMERAL_KEY, ep, Tag.PRIMARY_LINK_SIGNATURE, offer.signature));
  }

  test('valid points pass it (then the signature, made for another EP, fails: 9A03)', async () => {
    const points = [...Array(12)].map(() => secp256k1.getPublicKey(secp256k1.utils.randomSecretKey(), false));
    points.push(secp256k1.Point.BASE.toBytes(false), secp256k1.Point.BASE.negate().toBytes(false));
    for (const point of points) expect([toHex(point), (await linkWith(point)).toString(16)]).toEqual([toHex(point), '9a03']);
    expect((await b.card.read()).state).toBe('BLANK');
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
    const bad: Uint8Array[] = [...Array(10)].map(() => offCurve(random().toBytes(false)));
    bad.push(enc(g.x, 0n), enc(0n, 0n), enc(p256 - 1n, p256 - 1n), enc(p256, g.y), withPrefix(0x06), withPrefix(0x05), withPrefix(0x00));
    // A coordinate plus p names the same point modulo p but is not a field element: only the x < p and y < p
    // checks catch it. p is within 2^33 of 2^256, so take the curve points with the smallest x and y.
    const fp = secp256k1.Point.Fp;
    for (let x = 1n; ; x++) {
      const y2 = fp.add(fp.pow(x, 3n), 7n);
      const y = (() => { try { return fp.sqrt(y2); } catch { return undefined; } })();
      if (y !== undefined && fp.eql(fp.sqr(y), y2)) {
        bad.push(enc(x + p256, y));
        break;
      }
    }
    for (const point of bad) expect([toHex(point), isValidPublicKey(point)]).toEqual([toHex(point), false]);
    expect(bad.length).toBeGreaterThanOrEqual(15);
    for (const point of bad) expect([toHex(point), (await linkWith(point)).toString(16)]).toEqual([toHex(point), '9a04']);
    expect((await b.card.read()).state).toBe('BLANK');
  });
});

describe('a backup from P to B1 and B2, with an attacker relaying it', () => {
  let p: PersonalizedCard;
  let b1: PersonalizedCard;
  let b2: PersonalizedCard;
  let q: PersonalizedCard;
  let wallet: Uint8Array;
  let offer: LinkOffer;
  let o1: LinkOffer;
  let o2: LinkOffer;
  let blob1: Uint8Array;
  let blob2: Uint8Array;
  /** A blob Q sealed for B2 in Q's own backup session: replayed later into B2 linked to P. */
  let staleBlob: Uint8Array;

  beforeAll(async () => {
    p = await freshBlankCard(service, 0);
    b1 = await freshBlankCard(service, 1);
    b2 = await freshBlankCard(service, 2);
    q = await freshBlankCard(service, 3, testCardId(3, 'QQQQ'));
    wallet = await p.card.createWallet(PIN);
  });
  afterAll(async () => {
    for (const c of [p, b1, b2, q]) await c.close();
  });

  test('BACKUP_START needs the access code, answers EP signed for linking, and the same EP when retried', async () => {
    await refusedUnchanged(p, SW.SECURITY, () => p.card.backupStart());
    await p.card.verifyPin(PIN);
    offer = await p.card.backupStart();
    const again = await p.card.backupStart();
    expect(toHex(again.ephemeralKey)).toBe(toHex(offer.ephemeralKey));
    expect(await p.card.read()).toMatchObject({ state: 'BACKUP_PRIMARY', backupCount: 0 });
  });

  test('out of order: no export, no finalize, no link of a card that is not a primary', async () => {
    await p.card.verifyPin(PIN);
    await refusedUnchanged(p, SW.BACKUP_NOT_LINKED, () => p.card.exportWallet(b1.perso.cardId));
    await refusedUnchanged(p, SW.BACKUP_INCOMPLETE, () => p.card.finalizeBackup());
    await rawUnchanged(b1, SW.STATE, 0x54, linkPayload(Tag.CERTIFICATE, p.perso.certificate, Tag.BACKUP_EPHEMERAL_KEY, offer.ephemeralKey, Tag.BACKUP_LINK_SIGNATURE, offer.signature));
    await rawUnchanged(b1, SW.STATE, 0x5a, encodeProtocolTlvs([[Tag.WALLET_BLOB, new Uint8Array(193)]]));
  });

  test('LINK_PRIMARY refuses a counterfeit primary certificate (9A01)', async () => {
    const counterfeit = secp256k1.utils.randomSecretKey();
    const cert = p.perso.certificate;
    const forged = issueCertificate(cert.slice(5, 13), cert.slice(15, 80), counterfeit);
    await refusedUnchanged(b1, SW.CERT_INVALID, () => b1.card.linkPrimary({ certificate: forged, ...offer }));
    const otherId = issueCertificate(testCardId(7), cert.slice(15, 80), testManufacturer().privateKey).slice();
    const tampered = flip(otherId, 6); // the id no longer matches what the manufacturer signed
    await refusedUnchanged(b1, SW.CERT_INVALID, () => b1.card.linkPrimary({ certificate: tampered, ...offer }));
  });

  test('LINK_PRIMARY refuses a genuine certificate of another card with P\'s link offer (9A03)', async () => {
    await refusedUnchanged(b1, SW.SIGNATURE_INVALID, () => b1.card.linkPrimary({ certificate: b2.perso.certificate, ...offer }));
  });

  test('LINK_PRIMARY refuses a signature made for another purpose (9A03)', async () => {
    const attestation = await p.card.attest(offer.ephemeralKey.slice(1, 33));
    await refusedUnchanged(b1, SW.SIGNATURE_INVALID, () =>
      b1.card.linkPrimary({ certificate: p.perso.certificate, ephemeralKey: offer.ephemeralKey, signature: attestation }),
    );
    const certSignature = p.perso.certificate.slice(82);
    await refusedUnchanged(b1, SW.SIGNATURE_INVALID, () =>
      b1.card.linkPrimary({ certificate: p.perso.certificate, ephemeralKey: offer.ephemeralKey, signature: certSignature }),
    );
  });

  test('LINK_PRIMARY refuses a substituted EP (9A03), an EP off the curve and a certified key off the curve (9A04)', async () => {
    const substitute = secp256k1.getPublicKey(secp256k1.utils.randomSecretKey(), false);
    await refusedUnchanged(b1, SW.SIGNATURE_INVALID, () => b1.card.linkPrimary({ certificate: p.perso.certificate, ...offer, ephemeralKey: substitute }));
    await refusedUnchanged(b1, SW.POINT_INVALID, () => b1.card.linkPrimary({ certificate: p.perso.certificate, ...offer, ephemeralKey: offCurve(offer.ephemeralKey) }));
    const badKeyCert = p.perso.certificate.slice();
    badKeyCert.set(offCurve(badKeyCert.slice(15, 80)), 15);
    await refusedUnchanged(b1, SW.POINT_INVALID, () => b1.card.linkPrimary({ certificate: badKeyCert, ...offer }));
  });

  test('LINK_PRIMARY refuses a card linking to itself (9A09)', async () => {
    await refusedUnchanged(b1, SW.SAME_CARD, () => b1.card.linkPrimary({ certificate: b1.perso.certificate, ...offer }));
  });

  test('LINK_PRIMARY refuses truncated, over-long, reordered and non-minimal TLVs (6A80) and chains over 512 bytes (6A84)', async () => {
    const good = linkPayload(Tag.CERTIFICATE, p.perso.certificate, Tag.PRIMARY_EPHEMERAL_KEY, offer.ephemeralKey, Tag.PRIMARY_LINK_SIGNATURE, offer.signature);
    await rawUnchanged(b1, SW.WRONG_DATA, 0x52, good.slice(0, -1));
    await rawUnchanged(b1, SW.WRONG_DATA, 0x52, Uint8Array.from([...good, 0x00]));
    await rawUnchanged(b1, SW.WRONG_DATA, 0x52, linkPayload(Tag.PRIMARY_EPHEMERAL_KEY, offer.ephemeralKey, Tag.CERTIFICATE, p.perso.certificate, Tag.PRIMARY_LINK_SIGNATURE, offer.signature));
    const nonMinimal = Uint8Array.from([...encodeProtocolTlvs([[Tag.CERTIFICATE, p.perso.certificate]]), Tag.PRIMARY_EPHEMERAL_KEY, 0x81, 0x41, ...offer.ephemeralKey, ...encodeProtocolTlvs([[Tag.PRIMARY_LINK_SIGNATURE, offer.signature]])]);
    await rawUnchanged(b1, SW.WRONG_DATA, 0x52, nonMinimal);
    const longCert = encodeProtocolTlvs([[Tag.CERTIFICATE, new Uint8Array(200)]]);
    await rawUnchanged(b1, SW.WRONG_DATA, 0x52, Uint8Array.from([...longCert, ...good.slice(good.indexOf(Tag.PRIMARY_EPHEMERAL_KEY, 150))]));
    await rawUnchanged(b1, SW.CHAIN_TOO_LONG, 0x52, new Uint8Array(600));
  });

  test('LINK_PRIMARY links B1 and B2; a retried link with the same EP keeps EB', async () => {
    o1 = await b1.card.linkPrimary({ certificate: p.perso.certificate, ...offer });
    const again = await b1.card.linkPrimary({ certificate: p.perso.certificate, ...offer });
    expect(toHex(again.ephemeralKey)).toBe(toHex(o1.ephemeralKey));
    o2 = await b2.card.linkPrimary({ certificate: p.perso.certificate, ...offer });
    expect(await b1.card.read()).toMatchObject({ state: 'BACKUP_LINKED' });
  });

  test('LINK_BACKUP refuses a swapped EB (9A03), an EB off the curve (9A04), P itself (9A09)', async () => {
    await p.card.verifyPin(PIN);
    await refusedUnchanged(p, SW.SIGNATURE_INVALID, () => p.card.linkBackup({ certificate: b1.perso.certificate, ...o2 }));
    await refusedUnchanged(p, SW.POINT_INVALID, () => p.card.linkBackup({ certificate: b1.perso.certificate, ...o1, ephemeralKey: offCurve(o1.ephemeralKey) }));
    await refusedUnchanged(p, SW.SAME_CARD, () => p.card.linkBackup({ certificate: p.perso.certificate, ...o1 }));
  });

  test('LINK_BACKUP refuses an EB and signature replayed from a link with another primary (9A03)', async () => {
    // Q, another genuine primary, links B2 first: B2's answer to Q is bound to Q's id and EQ.
    await q.card.createWallet(PIN);
    await q.card.verifyPin(PIN);
    const qOffer = await q.card.backupStart();
    const oldB2 = await b2.card.linkPrimary({ certificate: q.perso.certificate, ...qOffer });
    expect(await q.card.linkBackup({ certificate: b2.perso.certificate, ...oldB2 })).toBe(1);
    staleBlob = await q.card.exportWallet(b2.perso.cardId);
    await p.card.verifyPin(PIN);
    await refusedUnchanged(p, SW.SIGNATURE_INVALID, () => p.card.linkBackup({ certificate: b2.perso.certificate, ...oldB2 }));
    // B2 links back to P: a new EB, since EP differs from the one it held.
    o2 = await b2.card.linkPrimary({ certificate: p.perso.certificate, ...offer });
    expect(toHex(o2.ephemeralKey)).not.toBe(toHex(oldB2.ephemeralKey));
  });

  test('LINK_BACKUP takes two backup cards and no third (9A08)', async () => {
    await p.card.verifyPin(PIN);
    expect(await p.card.linkBackup({ certificate: b1.perso.certificate, ...o1 })).toBe(1);
    expect(await p.card.linkBackup({ certificate: b1.perso.certificate, ...o1 })).toBe(1); // a retried step
    expect(await p.card.linkBackup({ certificate: b2.perso.certificate, ...o2 })).toBe(2);
    const third = await freshBlankCard(service, 3, testCardId(3, 'THRD'));
    const o3 = await third.card.linkPrimary({ certificate: p.perso.certificate, ...offer });
    await refusedUnchanged(p, SW.TOO_MANY_BACKUPS, () => p.card.linkBackup({ certificate: third.perso.certificate, ...o3 }));
    q = third;
  });

  test('EXPORT_WALLET needs the access code in this selection, then seals a blob per linked card', async () => {
    await p.card.select();
    await refusedUnchanged(p, SW.SECURITY, () => p.card.exportWallet(b1.perso.cardId));
    await p.card.verifyPin(PIN);
    blob1 = await p.card.exportWallet(b1.perso.cardId);
    await refusedUnchanged(p, SW.BACKUP_INCOMPLETE, () => p.card.finalizeBackup());
    blob2 = await p.card.exportWallet(b2.perso.cardId);
    expect(blob1.length).toBe(193);
    expect(toHex(blob1.slice(1, 9))).toBe(toHex(p.perso.cardId));
    expect(toHex(blob1.slice(9, 17))).toBe(toHex(b1.perso.cardId));
    // No secret in clear: the wallet public key (part of the plaintext) does not appear in the blob.
    expect(toHex(blob1)).not.toContain(toHex(wallet.slice(1, 17)));
  });

  test('IMPORT_WALLET refuses a blob for another card (9A06), a tampered blob (9A05), a truncated one (6A80)', async () => {
    await refusedUnchanged(b1, SW.WRONG_RECIPIENT, () => b1.card.importWallet(blob2));
    await refusedUnchanged(b1, SW.WRONG_RECIPIENT, () => b1.card.importWallet(flip(blob1, 0)));
    for (const index of [17, 40, 100, 160, 170, 192]) {
      await refusedUnchanged(b1, SW.MAC_INVALID, () => b1.card.importWallet(flip(blob1, index)));
    }
    await rawUnchanged(b1, SW.WRONG_DATA, 0x5a, encodeProtocolTlvs([[Tag.WALLET_BLOB, blob1.slice(0, 192)]]));
    await rawUnchanged(b1, SW.WRONG_DATA, 0x5a, Uint8Array.from([...encodeProtocolTlvs([[Tag.WALLET_BLOB, blob1]]), 0x00]));
  });

  test('IMPORT_WALLET refuses a blob replayed from another session: 9A06, or 9A05 with its header rewritten', async () => {
    await refusedUnchanged(b2, SW.WRONG_RECIPIENT, () => b2.card.importWallet(staleBlob));
    const relabelled = staleBlob.slice();
    relabelled.set(p.perso.cardId, 1);
    await refusedUnchanged(b2, SW.MAC_INVALID, () => b2.card.importWallet(relabelled));
    // And a blob sealed for B1, relabelled for another card linked to P, fails that card's MAC.
    const misdirected = blob1.slice();
    misdirected.set(q.perso.cardId, 9);
    await refusedUnchanged(q, SW.MAC_INVALID, () => q.card.importWallet(misdirected));
  });

  test('IMPORT_WALLET stores the wallet; a retried import answers "already imported"; another blob is refused', async () => {
    const r1 = await b1.card.importWallet(blob1);
    expect(r1.alreadyImported).toBe(false);
    expect(toHex(r1.walletPublicKey)).toBe(toHex(wallet));
    const retry = await b1.card.importWallet(blob1);
    expect(retry.alreadyImported).toBe(true);
    await p.card.verifyPin(PIN);
    const reExported = await p.card.exportWallet(b1.perso.cardId);
    expect(toHex(reExported.slice(17, 33))).not.toBe(toHex(blob1.slice(17, 33))); // a fresh IV
    await refusedUnchanged(b1, SW.STATE, () => b1.card.importWallet(reExported));
    await b2.card.importWallet(blob2);
    expect(await b1.card.read()).toMatchObject({ state: 'BACKED_UP', walletOrigin: 'imported', pinTriesLeft: 5 });
  });

  test('FINALIZE_BACKUP ends the backup for good; a retried finalize answers the same', async () => {
    await p.card.verifyPin(PIN);
    expect(await p.card.finalizeBackup()).toBe(2);
    expect(await p.card.finalizeBackup()).toBe(2);
    expect(await p.card.read()).toMatchObject({ state: 'BACKED_UP', walletOrigin: 'created', backupCount: 2 });
  });

  test('after finalize: no second backup, no export, no link; clones refuse to be written again', async () => {
    await p.card.verifyPin(PIN);
    await refusedUnchanged(p, SW.STATE, () => p.card.backupStart());
    await refusedUnchanged(p, SW.STATE, () => p.card.exportWallet(b1.perso.cardId));
    await refusedUnchanged(p, SW.STATE, () => p.card.linkBackup({ certificate: b1.perso.certificate, ...o1 }));
    await refusedUnchanged(b1, SW.STATE, () => b1.card.linkPrimary({ certificate: p.perso.certificate, ...offer }));
    await refusedUnchanged(p, SW.STATE, () => p.card.importWallet(blob1));
    await b1.card.verifyPin(PIN);
    await refusedUnchanged(b1, SW.STATE, () => b1.card.finalizeBackup());
    await refusedUnchanged(p, SW.STATE, () => p.card.backupAbort());
    await refusedUnchanged(b1, SW.STATE, () => b1.card.backupAbort());
  });

  test('all three cards sign under one wallet public key with the shared access code', async () => {
    const digest = randomBytes(32);
    for (const c of [p, b1, b2]) {
      await c.card.select();
      await c.card.verifyPin(PIN);
      const signed = await c.card.sign(digest, wallet);
      expect(secp256k1.verify(signed.compact, digest, wallet, { prehash: false })).toBe(true);
      expect(signed.signCounter).toBe(1);
    }
  });
});

test('the TLV encoder used by these tests puts lengths in minimal form', () => {
  expect(toHex(encodeProtocolTlvs([[0x15, new Uint8Array(193)]]).slice(0, 3))).toBe('1581C1');
});

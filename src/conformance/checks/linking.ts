/**
 * Linking (BACKUP_START, LINK_PRIMARY, LINK_BACKUP) with the host as an active attacker: untrusted and
 * tampered certificates, the card's own certificate, substituted and replayed ephemeral keys, signatures
 * made for another purpose, and invalid curve points (Wycheproof's secp256k1 ECDH vectors and edge cases)
 * in every place a card receives a public key. Each refused command is followed by READ: nothing changed.
 * @module
 */
import { randomBytes } from '@noble/hashes/utils.js';
import { toHex } from '../../apdu/index.js';
import type { CardInfo } from '../../protocol/card.js';
import { parseCertificate } from '../../protocol/certificate.js';
import { Ins, IsoSw, TwincardSw } from '../../protocol/constants.js';
import { equalBytes, SECP256K1_P, verifyMessageSignature } from '../../protocol/crypto.js';
import { backupLinkMessage, primaryLinkMessage } from '../../protocol/messages.js';
import { SUITE_PIN } from '../harness.js';
import { randomKeyPair, SoftCard } from '../soft-card.js';
import type { InvalidPoint } from '../wycheproof.js';
import { be32, check, CLA, flip, linkData, needManufacturer, somePeer, type Check, type CheckContext, type Expect } from './common.js';

const P = SECP256K1_P;

/** Invalid points of our own, beside Wycheproof's: coordinates not below p, the zero point, other prefixes. */
export function edgePoints(): Array<{ name: string; point: Uint8Array }> {
  const g = randomKeyPair().publicKey;
  const xIsP = g.slice();
  xIsP.set(be32(P), 1);
  const yIsP = g.slice();
  yIsP.set(be32(P), 33);
  const xPlusP = g.slice(); // X + p still fits 32 bytes when X < 2^256 - p: the same point mod p, not reduced
  const x = BigInt('0x' + toHex(g.subarray(1, 33)));
  xPlusP.set(be32(x + P < 2n ** 256n ? x + P : P), 1);
  const prefix02 = g.slice();
  prefix02[0] = 0x02;
  const prefix06 = g.slice();
  prefix06[0] = 0x06;
  return [
    { name: 'x-is-p', point: xIsP },
    { name: 'y-is-p', point: yIsP },
    { name: 'x-plus-p', point: xPlusP },
    { name: 'zero', point: Uint8Array.of(0x04, ...new Uint8Array(64)) },
    { name: 'prefix-02', point: prefix02 },
    { name: 'prefix-06-hybrid', point: prefix06 },
  ];
}

/** Sends LINK_PRIMARY with these fields to a card the suite brought to BLANK; expects `want` and no change. */
async function linkPrimaryRefused(ctx: CheckContext, e: Expect, data: (info: CardInfo) => Uint8Array, want: number): Promise<void> {
  const before = await ctx.reach('BLANK');
  e.sw(await ctx.dut.send(CLA, Ins.LINK_PRIMARY, data(before), 256), want);
  await e.unchanged(ctx.dut, before);
}

/** Sends LINK_BACKUP (access code verified) to a card in BACKUP_PRIMARY; expects `want` and no change. */
async function linkBackupRefused(
  ctx: CheckContext,
  e: Expect,
  data: (info: CardInfo, ep: Uint8Array) => Uint8Array,
  want: number,
): Promise<void> {
  // Fresh: no backup card linked yet, so a card that wrongly accepts one is not also refused for want of a slot.
  const before = await ctx.reach('BACKUP_PRIMARY', { fresh: true });
  const ep = ctx.dut.known.primary?.ep;
  if (ep === undefined || before.cardId === undefined) throw new Error('set-up: no EP');
  await ctx.dut.verify();
  e.sw(await ctx.dut.send(CLA, Ins.LINK_BACKUP, data(before, ep), 256), want);
  await e.unchanged(ctx.dut, before);
}

function pointChecks(points: ReadonlyArray<{ name: string; point: Uint8Array }>): Check[] {
  const checks: Check[] = [];
  for (const { name, point } of points) {
    checks.push(
      check(
        { id: `invalid-point/link-primary-ep/${name}`, title: `LINK_PRIMARY with EP = ${name}, signed by a certified primary: 9A04`, category: 'invalid-point', destructive: false, needs: ['fresh-card'] },
        async (ctx, e) => {
          const primary = somePeer(ctx);
          await linkPrimaryRefused(ctx, e, () => {
            const o = primary.primaryOffer(point);
            return linkData('primary', o.certificate, o.ephemeralKey, o.signature);
          }, TwincardSw.POINT_INVALID);
        },
      ),
      check(
        { id: `invalid-point/link-backup-eb/${name}`, title: `LINK_BACKUP with EB = ${name}, signed by a certified backup card: 9A04`, category: 'invalid-point', destructive: false, needs: ['fresh-card'] },
        async (ctx, e) => {
          const backup = somePeer(ctx);
          await linkBackupRefused(ctx, e, (info, ep) => {
            const o = backup.backupOffer(info.cardId!, ep, point);
            return linkData('backup', o.certificate, o.ephemeralKey, o.signature);
          }, TwincardSw.POINT_INVALID);
        },
      ),
    );
  }
  return checks;
}

function certificateKeyChecks(points: ReadonlyArray<{ name: string; point: Uint8Array }>): Check[] {
  return points.map(({ name, point }) =>
    check(
      { id: `invalid-point/certificate-key/${name}`, title: `LINK_PRIMARY with a certificate (signed by the manufacturer) whose identity key is ${name}: 9A04`, category: 'invalid-point', destructive: false, needs: ['fresh-card', 'test-manufacturer'] },
      async (ctx, e) => {
        const m = needManufacturer(ctx);
        const id = randomBytes(8);
        const cert = SoftCard.certificateFor(id, point, m);
        const ep = randomKeyPair().publicKey;
        // Nobody holds the private key of an invalid point: any signature will do, the point check comes first.
        await linkPrimaryRefused(ctx, e, () => linkData('primary', cert, ep, SoftCard.create(m).sign(primaryLinkMessage(id, ep))), TwincardSw.POINT_INVALID);
      },
    ),
  );
}

export function linkingChecks(invalidPoints: readonly InvalidPoint[]): Check[] {
  const wycheproof = invalidPoints.map((p) => ({ name: `wycheproof-${p.tcId}`, point: p.point }));
  const edges = edgePoints();
  const certPoints = [...edges.slice(0, 2), ...wycheproof.filter((_, i) => i % 6 === 0)];
  return [
    // ----------------------------------------------------------------- the card as a backup card
    check(
      { id: 'link-primary/answer', title: 'LINK_PRIMARY from a certified primary: EB and a backup link signature over P.id || B.id || EP || EB; BLANK -> BACKUP_LINKED', category: 'linking', destructive: true, needs: ['fresh-card', 'test-manufacturer'] },
      async (ctx, e) => {
        const m = needManufacturer(ctx);
        const before = await ctx.reach('BLANK');
        const primary = SoftCard.create(m);
        const ep = randomKeyPair();
        const o = primary.primaryOffer(ep.publicKey);
        const r = await ctx.dut.send(CLA, Ins.LINK_PRIMARY, linkData('primary', o.certificate, o.ephemeralKey, o.signature), 256);
        if (!e.sw(r, IsoSw.OK)) return;
        const eb = r.data.subarray(2, 67);
        const sig = r.data.subarray(69);
        const key = parseCertificate(before.certificate!).identityPublicKey;
        let ok = false;
        try {
          ok = r.data[0] === 0x13 && r.data[67] === 0x14 && verifyMessageSignature(sig, backupLinkMessage(primary.cardId, before.cardId!, ep.publicKey, eb), key);
        } catch {
          ok = false;
        }
        e.that(ok, 'backup link signature verifies under the card identity key', 'answer malformed or signature does not verify');
        const after = await ctx.dut.snapshot();
        e.that(after.state === 'BACKUP_LINKED', 'state BACKUP_LINKED', `state ${after.state}`);
        if (ok) {
          const wallet = randomKeyPair();
          ctx.dut.known.linked = { primary, ephemeral: ep, eb: eb.slice(), secret: { walletPrivateKey: wallet.privateKey, walletPublicKey: wallet.publicKey, pin: SUITE_PIN } };
        }
      },
    ),
    check(
      { id: 'link-primary/retry', title: 'LINK_PRIMARY again with the same primary and EP: the same EB (a retried step)', category: 'linking', destructive: false, needs: ['fresh-card', 'test-manufacturer'] },
      async (ctx, e) => {
        needManufacturer(ctx);
        await ctx.reach('BACKUP_LINKED');
        const l = ctx.dut.known.linked!;
        const o = l.primary.primaryOffer(l.ephemeral.publicKey);
        const r = await ctx.dut.send(CLA, Ins.LINK_PRIMARY, linkData('primary', o.certificate, o.ephemeralKey, o.signature), 256);
        if (!e.sw(r, IsoSw.OK)) return;
        e.that(equalBytes(r.data.subarray(2, 67), l.eb), 'the same EB', 'another EB');
      },
    ),
    check(
      { id: 'link-primary/untrusted-certificate', title: 'LINK_PRIMARY with a certificate signed by another manufacturer: 9A01', category: 'attacker', destructive: false, needs: ['fresh-card'] },
      async (ctx, e) => {
        const o = SoftCard.create(randomKeyPair()).primaryOffer(randomKeyPair().publicKey);
        await linkPrimaryRefused(ctx, e, () => linkData('primary', o.certificate, o.ephemeralKey, o.signature), TwincardSw.CERT_INVALID);
      },
    ),
    check(
      { id: 'link-primary/tampered-certificate', title: 'LINK_PRIMARY with a certified primary whose certificate card id was changed: 9A01', category: 'attacker', destructive: false, needs: ['fresh-card', 'test-manufacturer'] },
      async (ctx, e) => {
        const o = SoftCard.create(needManufacturer(ctx)).primaryOffer(randomKeyPair().publicKey);
        await linkPrimaryRefused(ctx, e, () => linkData('primary', flip(o.certificate, 12), o.ephemeralKey, o.signature), TwincardSw.CERT_INVALID);
      },
    ),
    check(
      { id: 'link-primary/same-card', title: "LINK_PRIMARY with the card's own certificate: 9A09", category: 'attacker', destructive: false, needs: ['fresh-card'] },
      async (ctx, e) => {
        const stranger = SoftCard.create(randomKeyPair());
        await linkPrimaryRefused(ctx, e, (info) => linkData('primary', info.certificate!, randomKeyPair().publicKey, stranger.sign(randomBytes(8))), TwincardSw.SAME_CARD);
      },
    ),
    check(
      { id: 'link-primary/substituted-ep', title: 'LINK_PRIMARY with an EP other than the one the primary signed: 9A03', category: 'attacker', destructive: false, needs: ['fresh-card', 'test-manufacturer'] },
      async (ctx, e) => {
        const o = SoftCard.create(needManufacturer(ctx)).primaryOffer(randomKeyPair().publicKey);
        await linkPrimaryRefused(ctx, e, () => linkData('primary', o.certificate, randomKeyPair().publicKey, o.signature), TwincardSw.SIGNATURE_INVALID);
      },
    ),
    check(
      { id: 'link-primary/attest-signature', title: "LINK_PRIMARY whose link signature is the primary's ATTEST signature over EP's bytes: 9A03", category: 'attacker', destructive: false, needs: ['fresh-card', 'test-manufacturer'] },
      async (ctx, e) => {
        const primary = SoftCard.create(needManufacturer(ctx));
        const ep = randomKeyPair().publicKey;
        await linkPrimaryRefused(ctx, e, () => linkData('primary', primary.certificate, ep, primary.attestSignature(ep.subarray(0, 32))), TwincardSw.SIGNATURE_INVALID);
      },
    ),
    check(
      { id: 'link-primary/certificate-signature', title: "LINK_PRIMARY whose link signature is the manufacturer's certificate signature: 9A03", category: 'attacker', destructive: false, needs: ['fresh-card', 'test-manufacturer'] },
      async (ctx, e) => {
        const primary = SoftCard.create(needManufacturer(ctx));
        const certSig = parseCertificate(primary.certificate).signature;
        await linkPrimaryRefused(ctx, e, () => linkData('primary', primary.certificate, randomKeyPair().publicKey, certSig), TwincardSw.SIGNATURE_INVALID);
      },
    ),
    check(
      { id: 'link-primary/backup-link-signature', title: 'LINK_PRIMARY whose signature is a backup link signature (purpose LINK-B1) by the same key: 9A03', category: 'attacker', destructive: false, needs: ['fresh-card', 'test-manufacturer'] },
      async (ctx, e) => {
        const primary = SoftCard.create(needManufacturer(ctx));
        const ep = randomKeyPair().publicKey;
        await linkPrimaryRefused(ctx, e, (info) => linkData('primary', primary.certificate, ep, primary.sign(backupLinkMessage(primary.cardId, info.cardId!, ep, ep))), TwincardSw.SIGNATURE_INVALID);
      },
    ),
    check(
      { id: 'link-primary/signature-by-another-card', title: 'LINK_PRIMARY signed by another certified card: 9A03', category: 'attacker', destructive: false, needs: ['fresh-card', 'test-manufacturer'] },
      async (ctx, e) => {
        const m = needManufacturer(ctx);
        const primary = SoftCard.create(m);
        const other = SoftCard.create(m);
        const ep = randomKeyPair().publicKey;
        await linkPrimaryRefused(ctx, e, () => linkData('primary', primary.certificate, ep, other.sign(primaryLinkMessage(primary.cardId, ep))), TwincardSw.SIGNATURE_INVALID);
      },
    ),
    check(
      { id: 'link-primary/overwrite-wallet', title: 'LINK_PRIMARY from a certified primary into a card holding a wallet (WALLET): 6985, wallet kept', category: 'attacker', destructive: false, needs: ['fresh-card', 'test-manufacturer'] },
      async (ctx, e) => {
        const o = SoftCard.create(needManufacturer(ctx)).primaryOffer(randomKeyPair().publicKey);
        const before = await ctx.reach('WALLET');
        e.sw(await ctx.dut.send(CLA, Ins.LINK_PRIMARY, linkData('primary', o.certificate, o.ephemeralKey, o.signature), 256), IsoSw.CONDITIONS_NOT_SATISFIED);
        await e.unchanged(ctx.dut, before);
      },
    ),

    // ----------------------------------------------------------------- the card as the primary
    check(
      { id: 'backup-start/without-pin', title: 'BACKUP_START without VERIFY_PIN: 6982, still WALLET', category: 'access-code', destructive: false, needs: ['fresh-card'] },
      async (ctx, e) => {
        const before = await ctx.reach('WALLET');
        e.sw(await ctx.dut.send(CLA, Ins.BACKUP_START, undefined, 256), IsoSw.PIN_NOT_VERIFIED);
        await e.unchanged(ctx.dut, before);
      },
    ),
    check(
      { id: 'backup-start/data-refused', title: 'BACKUP_START with data: 6700, still WALLET', category: 'tlv', destructive: false, needs: ['fresh-card'] },
      async (ctx, e) => {
        const before = await ctx.reach('WALLET');
        await ctx.dut.verify();
        e.sw(await ctx.dut.send(CLA, Ins.BACKUP_START, Uint8Array.of(0), 256), IsoSw.WRONG_LENGTH);
        await e.unchanged(ctx.dut, before);
      },
    ),
    check(
      { id: 'backup-start/answer', title: 'BACKUP_START: EP and a primary link signature over P.id || EP; WALLET -> BACKUP_PRIMARY', category: 'linking', destructive: true, needs: ['fresh-card'] },
      async (ctx, e) => {
        const before = await ctx.reach('WALLET');
        await ctx.dut.verify();
        const r = await ctx.dut.send(CLA, Ins.BACKUP_START, undefined, 256);
        if (!e.sw(r, IsoSw.OK)) return;
        const ep = r.data.subarray(2, 67);
        let ok = false;
        try {
          const key = parseCertificate(before.certificate!).identityPublicKey;
          ok = r.data[0] === 0x11 && r.data[67] === 0x12 && verifyMessageSignature(r.data.subarray(69), primaryLinkMessage(before.cardId!, ep), key);
        } catch {
          ok = false;
        }
        e.that(ok, 'primary link signature verifies under the card identity key', 'answer malformed or signature does not verify');
        const after = await ctx.dut.snapshot();
        e.that(after.state === 'BACKUP_PRIMARY' && after.backupCount === 0, 'BACKUP_PRIMARY, 0 linked', `${after.state}, ${after.backupCount} linked`);
        if (ok) ctx.dut.known.primary = { ep: ep.slice(), links: 0 };
      },
    ),
    check(
      { id: 'backup-start/retry', title: 'BACKUP_START again in BACKUP_PRIMARY: the same EP', category: 'linking', destructive: false, needs: ['fresh-card'] },
      async (ctx, e) => {
        await ctx.reach('BACKUP_PRIMARY');
        await ctx.dut.verify();
        const r = await ctx.dut.send(CLA, Ins.BACKUP_START, undefined, 256);
        if (!e.sw(r, IsoSw.OK)) return;
        e.that(equalBytes(r.data.subarray(2, 67), ctx.dut.known.primary!.ep), 'the same EP', 'another EP');
      },
    ),
    check(
      { id: 'link-backup/without-pin', title: 'LINK_BACKUP without VERIFY_PIN: 6982', category: 'access-code', destructive: false, needs: ['fresh-card', 'test-manufacturer'] },
      async (ctx, e) => {
        const before = await ctx.reach('BACKUP_PRIMARY');
        const o = SoftCard.create(needManufacturer(ctx)).backupOffer(before.cardId!, ctx.dut.known.primary!.ep, randomKeyPair().publicKey);
        e.sw(await ctx.dut.send(CLA, Ins.LINK_BACKUP, linkData('backup', o.certificate, o.ephemeralKey, o.signature), 256), IsoSw.PIN_NOT_VERIFIED);
        await e.unchanged(ctx.dut, before);
      },
    ),
    check(
      { id: 'link-backup/untrusted-certificate', title: 'LINK_BACKUP with a certificate signed by another manufacturer: 9A01', category: 'attacker', destructive: false, needs: ['fresh-card'] },
      async (ctx, e) => {
        const b = SoftCard.create(randomKeyPair());
        await linkBackupRefused(ctx, e, (info, ep) => {
          const o = b.backupOffer(info.cardId!, ep, randomKeyPair().publicKey);
          return linkData('backup', o.certificate, o.ephemeralKey, o.signature);
        }, TwincardSw.CERT_INVALID);
      },
    ),
    check(
      { id: 'link-backup/same-card', title: "LINK_BACKUP with the card's own certificate: 9A09", category: 'attacker', destructive: false, needs: ['fresh-card'] },
      async (ctx, e) => {
        const any = SoftCard.create(randomKeyPair());
        await linkBackupRefused(ctx, e, (info) => linkData('backup', info.certificate!, randomKeyPair().publicKey, any.sign(randomBytes(8))), TwincardSw.SAME_CARD);
      },
    ),
    check(
      { id: 'link-backup/swapped-eb', title: "LINK_BACKUP with backup card 1's certificate and signature but backup card 2's EB: 9A03", category: 'attacker', destructive: false, needs: ['fresh-card', 'test-manufacturer'] },
      async (ctx, e) => {
        const m = needManufacturer(ctx);
        const b1 = SoftCard.create(m);
        const b2 = SoftCard.create(m);
        await linkBackupRefused(ctx, e, (info, ep) => {
          const o1 = b1.backupOffer(info.cardId!, ep, randomKeyPair().publicKey);
          const o2 = b2.backupOffer(info.cardId!, ep, randomKeyPair().publicKey);
          return linkData('backup', o1.certificate, o2.ephemeralKey, o1.signature);
        }, TwincardSw.SIGNATURE_INVALID);
      },
    ),
    check(
      { id: 'link-backup/swapped-signature', title: "LINK_BACKUP with backup card 1's certificate but backup card 2's EB and signature: 9A03", category: 'attacker', destructive: false, needs: ['fresh-card', 'test-manufacturer'] },
      async (ctx, e) => {
        const m = needManufacturer(ctx);
        const b1 = SoftCard.create(m);
        const b2 = SoftCard.create(m);
        await linkBackupRefused(ctx, e, (info, ep) => {
          const o2 = b2.backupOffer(info.cardId!, ep, randomKeyPair().publicKey);
          return linkData('backup', b1.certificate, o2.ephemeralKey, o2.signature);
        }, TwincardSw.SIGNATURE_INVALID);
      },
    ),
    check(
      { id: 'link-backup/replayed-eb', title: 'LINK_BACKUP with an EB and signature from an earlier session (signed over another EP): 9A03', category: 'attacker', destructive: false, needs: ['fresh-card', 'test-manufacturer'] },
      async (ctx, e) => {
        const b = SoftCard.create(needManufacturer(ctx));
        await linkBackupRefused(ctx, e, (info) => {
          const o = b.backupOffer(info.cardId!, randomKeyPair().publicKey, randomKeyPair().publicKey);
          return linkData('backup', o.certificate, o.ephemeralKey, o.signature);
        }, TwincardSw.SIGNATURE_INVALID);
      },
    ),
    check(
      { id: 'link-backup/other-primary', title: "LINK_BACKUP with a signature over another primary's id: 9A03", category: 'attacker', destructive: false, needs: ['fresh-card', 'test-manufacturer'] },
      async (ctx, e) => {
        const b = SoftCard.create(needManufacturer(ctx));
        await linkBackupRefused(ctx, e, (_info, ep) => {
          const o = b.backupOffer(randomBytes(8), ep, randomKeyPair().publicKey);
          return linkData('backup', o.certificate, o.ephemeralKey, o.signature);
        }, TwincardSw.SIGNATURE_INVALID);
      },
    ),
    check(
      { id: 'link-backup/attest-signature', title: "LINK_BACKUP whose signature is the backup card's ATTEST signature: 9A03", category: 'attacker', destructive: false, needs: ['fresh-card', 'test-manufacturer'] },
      async (ctx, e) => {
        const b = SoftCard.create(needManufacturer(ctx));
        const eb = randomKeyPair().publicKey;
        await linkBackupRefused(ctx, e, () => linkData('backup', b.certificate, eb, b.attestSignature(eb.subarray(0, 32))), TwincardSw.SIGNATURE_INVALID);
      },
    ),
    check(
      { id: 'link-backup/primary-link-signature', title: 'LINK_BACKUP whose signature is a primary link signature (purpose LINK-P1) over EB: 9A03', category: 'attacker', destructive: false, needs: ['fresh-card', 'test-manufacturer'] },
      async (ctx, e) => {
        const b = SoftCard.create(needManufacturer(ctx));
        const eb = randomKeyPair().publicKey;
        await linkBackupRefused(ctx, e, () => linkData('backup', b.certificate, eb, b.sign(primaryLinkMessage(b.cardId, eb))), TwincardSw.SIGNATURE_INVALID);
      },
    ),
    check(
      { id: 'link-backup/answer', title: 'LINK_BACKUP of two certified backup cards: 1 then 2 linked; the same card again: still 2; a third: 9A08', category: 'linking', destructive: true, needs: ['fresh-card', 'test-manufacturer'] },
      async (ctx, e) => {
        const m = needManufacturer(ctx);
        const info = await ctx.reach('BACKUP_PRIMARY', { fresh: true });
        const ep = ctx.dut.known.primary!.ep;
        await ctx.dut.verify();
        const offers = [SoftCard.create(m), SoftCard.create(m), SoftCard.create(m)].map((b) => b.backupOffer(info.cardId!, ep, randomKeyPair().publicKey));
        const send = (i: number) => {
          const o = offers[i]!;
          return ctx.dut.send(CLA, Ins.LINK_BACKUP, linkData('backup', o.certificate, o.ephemeralKey, o.signature), 256);
        };
        const count = (r: { data: Uint8Array }) => (r.data.length === 3 && r.data[0] === 0x08 && r.data[1] === 0x01 ? r.data[2] : -1);
        let r = await send(0);
        e.sw(r, IsoSw.OK);
        e.that(count(r) === 1, 'count 1', `count ${count(r)}`);
        ctx.dut.known.primary!.links = 1;
        r = await send(1);
        e.sw(r, IsoSw.OK);
        e.that(count(r) === 2, 'count 2', `count ${count(r)}`);
        ctx.dut.known.primary!.links = 2;
        r = await send(0);
        e.sw(r, IsoSw.OK);
        e.that(count(r) === 2, 'the same card again: count 2', `count ${count(r)}`);
        const before = await ctx.dut.snapshot();
        await ctx.dut.verify();
        e.sw(await send(2), TwincardSw.TOO_MANY_BACKUPS);
        await e.unchanged(ctx.dut, before);
      },
    ),
    ...pointChecks([...wycheproof, ...edges]),
    ...certificateKeyChecks(certPoints),
  ];
}

/**
 * Backups between two real cards (`--peer-reader`), every message relayed as a host does: the card under test
 * as the primary and as the backup card, and the attacks that need no TEST manufacturer because the peer's
 * own certified answers are the material: a tampered blob, a substituted EP, the peer's ATTEST signature
 * offered as a link signature, a swapped EB, and an EB with its signature replayed from an earlier session.
 * @module
 */
import { randomBytes } from '@noble/hashes/utils.js';
import { encodeProtocolTlvs } from '../../apdu/index.js';
import { Ins, IsoSw, Tag, TwincardSw } from '../../protocol/constants.js';
import { checkWalletSignature, equalBytes } from '../../protocol/crypto.js';
import { NotApplicable } from '../types.js';
import { SUITE_PIN, type CardUnderTest } from '../harness.js';
import { randomKeyPair } from '../soft-card.js';
import { check, CLA, flip, linkData, type Check, type CheckContext, type Expect } from './common.js';

function needPeer(ctx: CheckContext): CardUnderTest {
  if (ctx.peer === undefined) throw new NotApplicable('needs a second card: --peer-reader');
  return ctx.peer;
}

/** The card under test as primary (BACKUP_PRIMARY, access code verified), the peer linked to it as backup card, the blob exported. */
async function linkedPair(ctx: CheckContext, e: Expect) {
  const peer = needPeer(ctx);
  const p = await ctx.reach('WALLET');
  const b = await ctx.reachPeer('BLANK');
  await ctx.dut.verify();
  const start = await ctx.dut.card.backupStart();
  const eb = await peer.card.linkPrimary({ certificate: p.certificate!, ...start });
  const r = await ctx.dut.send(CLA, Ins.LINK_BACKUP, linkData('backup', b.certificate!, eb.ephemeralKey, eb.signature), 256);
  e.sw(r, IsoSw.OK);
  const blob = await ctx.dut.card.exportWallet(b.cardId!);
  return { peer, p, b, blob };
}

/** The peer as a primary that has started a backup: its certificate, EP and primary link signature. */
async function peerPrimary(ctx: CheckContext) {
  const peer = needPeer(ctx);
  const info = await ctx.reachPeer('BACKUP_PRIMARY');
  await peer.verify();
  const offer = await peer.card.backupStart();
  return { peer, info, offer };
}

export function peerChecks(): Check[] {
  return [
    check(
      { id: 'peer/substituted-ep', title: "LINK_PRIMARY with the peer primary's certificate and signature but another EP: 9A03", category: 'peer', destructive: false, needs: ['peer-card', 'fresh-card'] },
      async (ctx, e) => {
        const { info, offer } = await peerPrimary(ctx);
        const before = await ctx.reach('BLANK');
        e.sw(await ctx.dut.send(CLA, Ins.LINK_PRIMARY, linkData('primary', info.certificate!, randomKeyPair().publicKey, offer.signature), 256), TwincardSw.SIGNATURE_INVALID);
        await e.unchanged(ctx.dut, before);
      },
    ),
    check(
      { id: 'peer/attest-signature', title: "LINK_PRIMARY whose link signature is the peer's real ATTEST signature over EP's first 32 bytes: 9A03", category: 'peer', destructive: false, needs: ['peer-card', 'fresh-card'] },
      async (ctx, e) => {
        const { peer, info, offer } = await peerPrimary(ctx);
        const attest = await peer.card.attest(offer.ephemeralKey.subarray(0, 32));
        const before = await ctx.reach('BLANK');
        e.sw(await ctx.dut.send(CLA, Ins.LINK_PRIMARY, linkData('primary', info.certificate!, offer.ephemeralKey, attest), 256), TwincardSw.SIGNATURE_INVALID);
        await e.unchanged(ctx.dut, before);
      },
    ),
    check(
      { id: 'peer/swapped-eb', title: "LINK_BACKUP with the peer backup card's certificate and signature but another EB: 9A03", category: 'peer', destructive: true, needs: ['peer-card', 'fresh-card'] },
      async (ctx, e) => {
        const peer = needPeer(ctx);
        const p = await ctx.reach('BACKUP_PRIMARY', { fresh: true });
        const b = await ctx.reachPeer('BLANK');
        const eb = await peer.card.linkPrimary({ certificate: p.certificate!, ephemeralKey: ctx.dut.known.primary!.ep, signature: await primarySignature(ctx) });
        await ctx.dut.card.select();
        await ctx.dut.verify();
        e.sw(await ctx.dut.send(CLA, Ins.LINK_BACKUP, linkData('backup', b.certificate!, randomKeyPair().publicKey, eb.signature), 256), TwincardSw.SIGNATURE_INVALID);
        await e.unchanged(ctx.dut, p);
      },
    ),
    check(
      { id: 'peer/replayed-eb', title: "LINK_BACKUP with the peer's EB and signature from the primary's earlier backup session: 9A03", category: 'peer', destructive: true, needs: ['peer-card', 'fresh-card'] },
      async (ctx, e) => {
        const peer = needPeer(ctx);
        const first = await ctx.reach('BACKUP_PRIMARY', { fresh: true });
        const b = await ctx.reachPeer('BLANK');
        const old = await peer.card.linkPrimary({ certificate: first.certificate!, ephemeralKey: ctx.dut.known.primary!.ep, signature: await primarySignature(ctx) });
        // A new session on the card under test: same card id, a new EP (a reset card, personalized again).
        if (!ctx.dut.canReset) throw new NotApplicable('needs a second backup session on the same card: a card that can be reset (--sim-reset)');
        await ctx.dut.reset();
        const now = await ctx.reach('BACKUP_PRIMARY');
        await ctx.dut.verify();
        e.sw(await ctx.dut.send(CLA, Ins.LINK_BACKUP, linkData('backup', b.certificate!, old.ephemeralKey, old.signature), 256), TwincardSw.SIGNATURE_INVALID);
        await e.unchanged(ctx.dut, now);
      },
    ),
    check(
      { id: 'peer/tampered-blob', title: 'a real backup: the blob from the primary, one ciphertext byte flipped, into the peer: 9A05, the peer unchanged', category: 'peer', destructive: true, needs: ['peer-card', 'fresh-card'] },
      async (ctx, e) => {
        const { peer, blob } = await linkedPair(ctx, e);
        const before = await peer.snapshot();
        e.sw(await peer.send(CLA, Ins.IMPORT_WALLET, encodeProtocolTlvs([[Tag.WALLET_BLOB, flip(blob, 60)]]), 256), TwincardSw.MAC_INVALID);
        const after = await peer.snapshot();
        e.that(after.state === before.state && after.state === 'BACKUP_LINKED', 'peer still BACKUP_LINKED', `peer ${after.state}`);
      },
    ),
    check(
      { id: 'peer/backup-to-peer', title: 'a full backup to the peer card: the peer imports, holds the same wallet key, and signs with the same access code; the primary finalizes', category: 'peer', destructive: true, needs: ['peer-card', 'fresh-card'] },
      async (ctx, e) => {
        const { peer, p, blob } = await linkedPair(ctx, e);
        const imported = await peer.card.importWallet(blob);
        e.that(equalBytes(imported.walletPublicKey, p.walletPublicKey!), 'the peer holds the primary wallet key', 'the peer holds another key');
        e.sw(await ctx.dut.send(CLA, Ins.FINALIZE_BACKUP, undefined, 256), IsoSw.OK);
        await peer.card.select();
        await peer.card.verifyPin(SUITE_PIN);
        const digest = randomBytes(32);
        const s = await peer.send(CLA, Ins.SIGN, digest, 256);
        e.sw(s, IsoSw.OK);
        const der = s.data.subarray(2, 2 + (s.data[1] ?? 0));
        e.that(checkWalletSignature(der, digest, p.walletPublicKey!) !== undefined, "the peer's signature verifies under the primary wallet key", 'it does not');
        peer.known = { pin: SUITE_PIN };
      },
    ),
    check(
      { id: 'peer/backup-from-peer', title: 'a full backup from the peer card: the card under test links, imports, holds the peer wallet key and signs with its access code', category: 'peer', destructive: true, needs: ['peer-card', 'fresh-card'] },
      async (ctx, e) => {
        const { peer, info, offer } = await peerPrimary(ctx);
        const b = await ctx.reach('BLANK');
        const r = await ctx.dut.send(CLA, Ins.LINK_PRIMARY, linkData('primary', info.certificate!, offer.ephemeralKey, offer.signature), 256);
        if (!e.sw(r, IsoSw.OK)) return;
        const eb = { ephemeralKey: r.data.slice(2, 67), signature: r.data.slice(69) };
        await peer.card.select();
        await peer.verify();
        await peer.card.linkBackup({ certificate: b.certificate!, ...eb });
        const blob = await peer.card.exportWallet(b.cardId!);
        await peer.card.finalizeBackup();
        peer.known = { pin: SUITE_PIN };
        const imported = await ctx.dut.send(CLA, Ins.IMPORT_WALLET, encodeProtocolTlvs([[Tag.WALLET_BLOB, blob]]), 256);
        e.sw(imported, IsoSw.OK);
        ctx.dut.known = { pin: SUITE_PIN };
        const after = await ctx.dut.snapshot();
        e.that(after.state === 'BACKED_UP' && after.walletPublicKey !== undefined && equalBytes(after.walletPublicKey, info.walletPublicKey!),
          'BACKED_UP with the peer wallet key', `${after.state}, ${after.walletPublicKey === undefined ? 'no key' : 'another key'}`);
        await ctx.dut.verify();
        const digest = randomBytes(32);
        const s = await ctx.dut.send(CLA, Ins.SIGN, digest, 256);
        e.sw(s, IsoSw.OK);
        const der = s.data.subarray(2, 2 + (s.data[1] ?? 0));
        e.that(checkWalletSignature(der, digest, info.walletPublicKey!) !== undefined, 'its signature verifies under the peer wallet key', 'it does not');
      },
    ),
  ];
}

/** The card under test's primary link signature for its stored EP (BACKUP_START again: a retried step). */
async function primarySignature(ctx: CheckContext): Promise<Uint8Array> {
  await ctx.dut.card.select();
  await ctx.dut.verify();
  const offer = await ctx.dut.card.backupStart();
  return offer.signature;
}

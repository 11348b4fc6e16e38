/**
 * BACKUP_ABORT (section 6): a primary gives up a backup no wallet blob has left it for, and only that one:
 * after an export it is 9A0C and the backup can only be finalized (so BACKUP_COUNT stays true and the clones
 * at most two). In WALLET it changes nothing (a retried step).
 * @module
 */
import { Ins, IsoSw, TwincardSw } from '../../protocol/constants.js';
import { equalBytes } from '../../protocol/crypto.js';
import { openBlobAsBackup, randomKeyPair, SoftCard } from '../soft-card.js';
import { check, CLA, linkData, needManufacturer, type Check, type CheckContext } from './common.js';

/** Links one certified software backup card to the card under test (BACKUP_PRIMARY, access code verified). */
async function linkOne(ctx: CheckContext, cardId: Uint8Array, ep: Uint8Array): Promise<SoftCard> {
  const backup = SoftCard.create(needManufacturer(ctx));
  const o = backup.backupOffer(cardId, ep, randomKeyPair().publicKey);
  const r = await ctx.dut.send(CLA, Ins.LINK_BACKUP, linkData('backup', o.certificate, o.ephemeralKey, o.signature), 256);
  if (r.sw !== IsoSw.OK) throw new Error(`set-up: LINK_BACKUP answered ${r.sw.toString(16).toUpperCase()}`);
  return backup;
}

export function abortChecks(): Check[] {
  return [
    check(
      { id: 'backup-abort/without-pin', title: 'BACKUP_ABORT without VERIFY_PIN: 6982, still BACKUP_PRIMARY', category: 'access-code', destructive: false, needs: ['fresh-card'] },
      async (ctx, e) => {
        const before = await ctx.reach('BACKUP_PRIMARY');
        e.sw(await ctx.dut.send(CLA, Ins.BACKUP_ABORT, undefined, 256), IsoSw.PIN_NOT_VERIFIED);
        await e.unchanged(ctx.dut, before);
      },
    ),
    check(
      { id: 'backup-abort/data-refused', title: 'BACKUP_ABORT with data: 6700, still BACKUP_PRIMARY', category: 'tlv', destructive: false, needs: ['fresh-card'] },
      async (ctx, e) => {
        const before = await ctx.reach('BACKUP_PRIMARY');
        await ctx.dut.verify();
        e.sw(await ctx.dut.send(CLA, Ins.BACKUP_ABORT, Uint8Array.of(0), 256), IsoSw.WRONG_LENGTH);
        await e.unchanged(ctx.dut, before);
      },
    ),
    check(
      { id: 'backup-abort/in-wallet', title: 'BACKUP_ABORT in WALLET: 9000, nothing changed (a retried step)', category: 'linking', destructive: false, needs: ['fresh-card'] },
      async (ctx, e) => {
        const before = await ctx.reach('WALLET');
        await ctx.dut.verify();
        const r = await ctx.dut.send(CLA, Ins.BACKUP_ABORT, undefined, 256);
        e.sw(r, IsoSw.OK);
        e.that(r.data.length === 0, 'no data', `${r.data.length} bytes`);
        await e.unchanged(ctx.dut, before);
      },
    ),
    check(
      { id: 'backup-abort/after-export', title: 'BACKUP_ABORT after a blob was exported: 9A0C, still BACKUP_PRIMARY with its backup card linked', category: 'attacker', destructive: true, needs: ['fresh-card', 'test-manufacturer'] },
      async (ctx, e) => {
        const info = await ctx.reach('BACKUP_PRIMARY', { fresh: true });
        await ctx.dut.verify();
        const backup = await linkOne(ctx, info.cardId!, ctx.dut.known.primary!.ep);
        e.sw(await ctx.dut.send(CLA, Ins.EXPORT_WALLET, backup.cardId, 256), IsoSw.OK);
        const before = await ctx.dut.snapshot();
        await ctx.dut.verify();
        e.sw(await ctx.dut.send(CLA, Ins.BACKUP_ABORT, undefined, 256), TwincardSw.BACKUP_EXPORTED);
        await e.unchanged(ctx.dut, before);
      },
    ),
    check(
      { id: 'backup-abort/answer', title: 'BACKUP_ABORT with a backup card linked but not exported to: WALLET again, no link; the next BACKUP_START a new EP, and that session exports a blob that opens', category: 'linking', destructive: true, needs: ['fresh-card', 'test-manufacturer'] },
      async (ctx, e) => {
        const info = await ctx.reach('BACKUP_PRIMARY', { fresh: true });
        const oldEp = ctx.dut.known.primary!.ep;
        await ctx.dut.verify();
        await linkOne(ctx, info.cardId!, oldEp);
        const r = await ctx.dut.send(CLA, Ins.BACKUP_ABORT, undefined, 256);
        if (!e.sw(r, IsoSw.OK)) return;
        ctx.dut.known.primary = undefined;
        const after = await ctx.dut.snapshot();
        e.that(after.state === 'WALLET' && after.backupCount === 0, 'WALLET, 0 linked', `${after.state}, ${after.backupCount} linked`);
        e.that(after.walletPublicKey !== undefined && equalBytes(after.walletPublicKey, info.walletPublicKey!), 'the same wallet key', 'another wallet key');
        await ctx.dut.verify();
        const start = await ctx.dut.send(CLA, Ins.BACKUP_START, undefined, 256);
        e.sw(start, IsoSw.OK);
        e.that(start.data.length > 67 && !equalBytes(start.data.subarray(2, 67), oldEp), 'a new EP', 'the old EP again');
        if (start.sw !== IsoSw.OK) return;
        const ep = start.data.slice(2, 67);
        ctx.dut.known.primary = { ep, links: 0 };
        // The new session must work to the end: a card that lost the curve of its ephemeral key on abort fails here.
        const backup = SoftCard.create(needManufacturer(ctx));
        const eb = randomKeyPair();
        const o = backup.backupOffer(info.cardId!, ep, eb.publicKey);
        e.sw(await ctx.dut.send(CLA, Ins.LINK_BACKUP, linkData('backup', o.certificate, o.ephemeralKey, o.signature), 256), IsoSw.OK);
        ctx.dut.known.primary.links = 1;
        const x = await ctx.dut.send(CLA, Ins.EXPORT_WALLET, backup.cardId, 256);
        e.sw(x, IsoSw.OK);
        let outcome: string;
        try {
          const secret = openBlobAsBackup(x.data.slice(3), eb.privateKey, { primaryId: info.cardId!, backupId: backup.cardId, primaryEphemeralKey: ep, backupEphemeralKey: eb.publicKey });
          outcome = equalBytes(secret.walletPublicKey, info.walletPublicKey!) ? 'opened' : 'it holds another wallet key';
        } catch (error) {
          outcome = error instanceof Error ? error.message : String(error);
        }
        e.that(outcome === 'opened', 'the new session exports a blob the backup card opens', `the blob does not open: ${outcome}`);
      },
    ),
  ];
}

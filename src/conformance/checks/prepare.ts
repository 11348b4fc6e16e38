/**
 * The backup card's first step (section 6, BACKUP_PREPARE and BACKUP_CANCEL): the prepare signature covers
 * B.id ‖ EB under the certified identity key with the PREP-B2 prefix, a retry answers the same EB, a cancel
 * goes back to BLANK and the next prepare makes a new EB. Neither takes data.
 * @module
 */
import { equalBytes } from '../../protocol/crypto.js';
import { identityKey, parsePrepareAnswer, verifies } from '../harness.js';
import { Ins, prepareMessage, Sw, type ReadInfo } from '../wire.js';
import { check, refusalCheck, type Check } from './common.js';

/** The prepare signature verifies over B.id ‖ EB under the card's certified identity key (READ before). */
function signedByCard(offer: { eb: Uint8Array; signature: Uint8Array }, card: ReadInfo): boolean {
  return verifies(offer.signature, prepareMessage(card.cardId!, offer.eb), identityKey(card));
}

export function prepareChecks(): Check[] {
  return [
    refusalCheck(
      {
        id: 'prepare/data-refused',
        title: 'BACKUP_PREPARE with a data byte on a BLANK card: 6700, still BLANK',
        category: 'tlv',
        destructive: false,
        needs: ['fresh-card'],
      },
      { from: 'BLANK', sends: () => [{ ins: Ins.BACKUP_PREPARE, data: Uint8Array.of(0), ne: 256 }], want: Sw.WRONG_LENGTH },
    ),
    check(
      {
        id: 'cancel/in-blank',
        title: 'BACKUP_CANCEL on a BLANK card: 9000, no data, nothing changed (a retried step)',
        category: 'backup-card',
        destructive: false,
        needs: ['fresh-card'],
      },
      async (ctx, e) => {
        const before = await ctx.reach('BLANK');
        const r = await ctx.dut.cmd(Ins.BACKUP_CANCEL);
        e.sw(r, Sw.OK);
        e.that(r.data.length === 0, 'no data', `${r.data.length} bytes`);
        await e.unchanged(ctx.dut, before);
      },
    ),
    check(
      {
        id: 'prepare/answer',
        title:
          'BACKUP_PREPARE: 13 41 EB 14 LL <signature over "TWINCARD:PREP-B2" || B.id || ' +
          'EB under the certified key>; BLANK -> BACKUP_PENDING, nothing else changed',
        category: 'backup-card',
        destructive: true,
        needs: ['fresh-card'],
      },
      async (ctx, e) => {
        const before = await ctx.reach('BLANK');
        const r = await ctx.dut.cmd(Ins.BACKUP_PREPARE);
        if (!e.sw(r, Sw.OK)) return;
        const offer = parsePrepareAnswer(r.data);
        const ok = offer !== undefined && signedByCard(offer, before);
        e.that(
          ok,
          'prepare signature verifies over B.id || EB',
          offer === undefined ? 'answer not 13 41 <EB> 14 LL <sig>' : 'signature does not verify',
        );
        if (offer !== undefined) ctx.dut.known = { eb: offer.eb };
        const after = await ctx.dut.snapshot();
        e.that(after.state === 'BACKUP_PENDING', 'state BACKUP_PENDING', `state ${after.state}`);
        e.that(
          after.backupCount === 0 && after.walletPublicKey === undefined && after.signCounter === before.signCounter,
          'no wallet, count 0',
          'other fields changed',
        );
      },
    ),
    check(
      {
        id: 'prepare/retry',
        title: 'BACKUP_PREPARE again in BACKUP_PENDING: the same EB, a signature that verifies, nothing changed',
        category: 'backup-card',
        destructive: false,
        needs: ['fresh-card'],
      },
      async (ctx, e) => {
        const before = await ctx.reach('BACKUP_PENDING');
        const eb = ctx.dut.known.eb!;
        const r = await ctx.dut.cmd(Ins.BACKUP_PREPARE);
        if (!e.sw(r, Sw.OK)) return;
        const offer = parsePrepareAnswer(r.data);
        e.that(offer !== undefined && equalBytes(offer.eb, eb), 'the same EB', 'another EB (or a malformed answer)');
        e.that(offer !== undefined && signedByCard(offer, before), 'signature verifies', 'signature does not verify');
        await e.unchanged(ctx.dut, before);
      },
    ),
    check(
      {
        id: 'cancel/data-refused',
        title: 'BACKUP_CANCEL with a data byte in BACKUP_PENDING: 6700, still BACKUP_PENDING with the same EB',
        category: 'tlv',
        destructive: false,
        needs: ['fresh-card'],
      },
      async (ctx, e) => {
        const before = await ctx.reach('BACKUP_PENDING');
        e.sw(await ctx.dut.cmd(Ins.BACKUP_CANCEL, Uint8Array.of(0)), Sw.WRONG_LENGTH);
        await e.unchanged(ctx.dut, before);
        const again = parsePrepareAnswer((await ctx.dut.cmd(Ins.BACKUP_PREPARE)).data);
        e.that(again !== undefined && equalBytes(again.eb, ctx.dut.known.eb!), 'the same EB', 'EB changed');
      },
    ),
    check(
      {
        id: 'cancel/answer',
        title: 'BACKUP_CANCEL in BACKUP_PENDING: 9000, BLANK; then BACKUP_PREPARE makes a NEW EB',
        category: 'backup-card',
        destructive: false,
        needs: ['fresh-card'],
      },
      async (ctx, e) => {
        const before = await ctx.reach('BACKUP_PENDING');
        const old = ctx.dut.known.eb!;
        const r = await ctx.dut.cmd(Ins.BACKUP_CANCEL);
        e.sw(r, Sw.OK);
        ctx.dut.known = {};
        const mid = await ctx.dut.snapshot();
        e.that(mid.state === 'BLANK', 'state BLANK', `state ${mid.state}`);
        const p = await ctx.dut.cmd(Ins.BACKUP_PREPARE);
        e.sw(p, Sw.OK);
        const offer = parsePrepareAnswer(p.data);
        if (offer !== undefined) ctx.dut.known = { eb: offer.eb };
        e.that(offer !== undefined && !equalBytes(offer.eb, old), 'a new EB', 'the old EB again (or a malformed answer)');
        e.that(offer !== undefined && signedByCard(offer, before), 'signature verifies', 'signature does not verify');
      },
    ),
  ];
}

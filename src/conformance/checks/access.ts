/**
 * CHANGE_ACCESS_CODE and RESET (section 6), both wrapped: a wrong current code spends a try and changes
 * nothing else, malformed codes are 6A80, a change takes effect at once (the old code fails, tries back to 5,
 * the session's verification cleared), and RESET brings a wallet card back to BLANK with the same id and
 * certificate, the wallet, counters and backup record gone.
 * @module
 */
import { randomBytes } from '@noble/hashes/utils.js';
import { encodeProtocolTlvs } from '../../apdu/index.js';
import { equalBytes } from '../../protocol/crypto.js';
import { SUITE_PIN, type Target } from '../harness.js';
import { Ins, Sw, Tag, type ReadInfo } from '../wire.js';
import { check, CLA, refusalCheck, type Check, type CheckContext, type Expect } from './common.js';
import { changeCodeData, NEW_PIN } from './commands.js';

const WRONG_PIN = new TextEncoder().encode('00000000');

/** READ after a RESET: BLANK, the same id and certificate, no wallet, counters and record zero, 5 tries. */
function expectBlankAgain(e: Expect, before: ReadInfo, after: ReadInfo): void {
  e.that(after.state === 'BLANK', 'READ: BLANK', `READ: ${after.state}`);
  e.that(after.cardId !== undefined && equalBytes(after.cardId, before.cardId!), 'the same card id', 'another card id');
  e.that(
    after.certificate !== undefined && equalBytes(after.certificate, before.certificate!),
    'the same certificate',
    'another certificate',
  );
  e.that(
    after.walletPublicKey === undefined && after.walletOrigin === undefined && after.primaryId === undefined,
    'no wallet, origin or primary id',
    'wallet fields still there',
  );
  e.that(
    after.signCounter === 0 && after.backupCount === 0 && after.backupCardIds.length === 0,
    'sign counter 0, backup count 0, no ids',
    `counter ${after.signCounter}, backup count ${after.backupCount}`,
  );
  e.that(after.pinTriesLeft === 5, '5 tries', `${after.pinTriesLeft} tries`);
}

/** RESET from `target` (one signature made first where the card has a wallet it can use). */
async function resetFrom(ctx: CheckContext, e: Expect, target: Target): Promise<void> {
  await ctx.reach(target);
  await ctx.dut.verify();
  e.sw(await ctx.dut.send(CLA, Ins.SIGN, randomBytes(32), 256), Sw.OK);
  const before = await ctx.dut.snapshot();
  ctx.dut.recorder.clear();
  e.sw(await ctx.dut.send(CLA, Ins.RESET, SUITE_PIN), Sw.OK);
  ctx.dut.known = {};
  expectBlankAgain(e, before, await ctx.dut.snapshot());
  // The wallet is gone for good: SIGN needs a wallet state, and the old code verifies nothing.
  e.sw(await ctx.dut.send(CLA, Ins.SIGN, randomBytes(32), 256), Sw.CONDITIONS_NOT_SATISFIED);
}

export function accessChecks(): Check[] {
  return [
    check(
      {
        id: 'change-code/wrong-current',
        title:
          'CHANGE_ACCESS_CODE with a wrong current code: 63C4, a try spent and nothing else; the old code still verifies (5 tries again)',
        category: 'access-code',
        destructive: false,
        needs: ['fresh-card'],
      },
      async (ctx, e) => {
        const before = await ctx.reach('WALLET');
        e.sw(await ctx.dut.send(CLA, Ins.CHANGE_ACCESS_CODE, changeCodeData(WRONG_PIN, NEW_PIN)), 0x63c4);
        const mid = await ctx.dut.snapshot();
        e.that(mid.pinTriesLeft === 4, 'READ: 4 tries', `READ: ${mid.pinTriesLeft} tries`);
        e.sw(await ctx.dut.send(CLA, Ins.VERIFY_PIN, SUITE_PIN), Sw.OK);
        await e.unchanged(ctx.dut, before);
      },
    ),
    refusalCheck(
      {
        id: 'change-code/format',
        title:
          'CHANGE_ACCESS_CODE with a new code of 3 or 17 bytes, a current code of 3 bytes, the fields swapped or a trailing byte: ' +
          '6A80 each, no try spent',
        category: 'tlv',
        destructive: false,
        needs: ['fresh-card'],
      },
      {
        from: 'WALLET',
        sends: () =>
          [
            changeCodeData(SUITE_PIN, new Uint8Array(3).fill(0x37)),
            changeCodeData(SUITE_PIN, new Uint8Array(17).fill(0x37)),
            changeCodeData(new Uint8Array(3).fill(0x37), NEW_PIN),
            encodeProtocolTlvs([
              [Tag.NEW_ACCESS_CODE, NEW_PIN],
              [Tag.ACCESS_CODE, SUITE_PIN],
            ]),
            Uint8Array.of(...changeCodeData(SUITE_PIN, NEW_PIN), 0),
          ].map((data) => ({ ins: Ins.CHANGE_ACCESS_CODE, data })),
        want: Sw.WRONG_DATA,
      },
    ),
    check(
      {
        id: 'change-code/answer',
        title:
          'CHANGE_ACCESS_CODE after a wrong VERIFY_PIN: 9000, tries back to 5, the verification ' +
          'cleared (SIGN 6982); the old code is then 63C4 and the new one verifies; changed back',
        category: 'access-code',
        destructive: true,
        needs: ['fresh-card'],
      },
      async (ctx, e) => {
        const before = await ctx.reach('WALLET');
        await ctx.dut.openSession();
        e.sw(await ctx.dut.send(CLA, Ins.VERIFY_PIN, WRONG_PIN), 0x63c4);
        e.sw(await ctx.dut.send(CLA, Ins.CHANGE_ACCESS_CODE, changeCodeData(SUITE_PIN, NEW_PIN)), Sw.OK);
        ctx.dut.known.pin = NEW_PIN;
        e.sw(await ctx.dut.send(CLA, Ins.SIGN, randomBytes(32), 256), Sw.PIN_NOT_VERIFIED);
        const mid = await ctx.dut.snapshot();
        e.that(mid.pinTriesLeft === 5, 'READ: 5 tries', `READ: ${mid.pinTriesLeft} tries`);
        e.sw(await ctx.dut.send(CLA, Ins.VERIFY_PIN, SUITE_PIN), 0x63c4);
        e.sw(await ctx.dut.send(CLA, Ins.VERIFY_PIN, NEW_PIN), Sw.OK);
        e.sw(await ctx.dut.send(CLA, Ins.CHANGE_ACCESS_CODE, changeCodeData(NEW_PIN, SUITE_PIN)), Sw.OK);
        ctx.dut.known.pin = SUITE_PIN;
        e.sw(await ctx.dut.send(CLA, Ins.VERIFY_PIN, SUITE_PIN), Sw.OK);
        await e.unchanged(ctx.dut, before);
      },
    ),
    check(
      {
        id: 'reset/wrong-code',
        title: 'RESET with a wrong code on a WALLET card: 63C4, a try spent, the wallet still there; the right code then restores 5 tries',
        category: 'access-code',
        destructive: false,
        needs: ['fresh-card'],
      },
      async (ctx, e) => {
        const before = await ctx.reach('WALLET');
        e.sw(await ctx.dut.send(CLA, Ins.RESET, WRONG_PIN), 0x63c4);
        const mid = await ctx.dut.snapshot();
        e.that(mid.state === 'WALLET' && mid.pinTriesLeft === 4, 'READ: WALLET, 4 tries', `READ: ${mid.state}, ${mid.pinTriesLeft} tries`);
        e.sw(await ctx.dut.send(CLA, Ins.VERIFY_PIN, SUITE_PIN), Sw.OK);
        await e.unchanged(ctx.dut, before);
      },
    ),
    refusalCheck(
      {
        id: 'reset/code-length',
        title: 'RESET with a 3- or 17-byte code: 6700, no try spent',
        category: 'tlv',
        destructive: false,
        needs: ['fresh-card'],
      },
      { from: 'WALLET', sends: () => [3, 17].map((n) => ({ ins: Ins.RESET, data: new Uint8Array(n).fill(0x39) })), want: Sw.WRONG_LENGTH },
    ),
    check(
      {
        id: 'reset/wallet',
        title:
          'RESET on a WALLET card (one signature made): 9000; BLANK with the same ' +
          'id and certificate, no wallet, counter 0, 5 tries; SIGN then 6985',
        category: 'wallet',
        destructive: true,
        needs: ['fresh-card'],
      },
      (ctx, e) => resetFrom(ctx, e, 'WALLET'),
    ),
    check(
      {
        id: 'reset/backed-up-primary',
        title: 'RESET on a finalized primary: BLANK, backup count 0 and the ids gone, same id and certificate',
        category: 'wallet',
        destructive: true,
        needs: ['fresh-card', 'test-manufacturer'],
      },
      (ctx, e) => resetFrom(ctx, e, 'BACKED_UP_PRIMARY'),
    ),
    check(
      {
        id: 'reset/backed-up-backup',
        title: 'RESET on a card that imported its wallet: BLANK, no origin or primary id, same id and certificate',
        category: 'wallet',
        destructive: true,
        needs: ['fresh-card', 'test-manufacturer'],
      },
      (ctx, e) => resetFrom(ctx, e, 'BACKED_UP_BACKUP'),
    ),
  ];
}

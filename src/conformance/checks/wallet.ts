/**
 * The wallet commands and the access code: CREATE_WALLET, SIGN with its counter, VERIFY_PIN with its try
 * counter, the verification cleared by a new selection, and a brute force until the code is blocked.
 * @module
 */
import { randomBytes } from '@noble/hashes/utils.js';
import { Ins, Sw as IsoSw } from '../wire.js';
import { checkWalletSignature, equalBytes } from '../../protocol/crypto.js';
import { SUITE_PIN } from '../harness.js';
import { check, CLA, refusalCheck, verifyFirst, type Check } from './common.js';

const WRONG_PIN = new TextEncoder().encode('99999999');

/** SIGN with a fresh random digest of `length` bytes. */
const sign = (length: number) => ({ ins: Ins.SIGN, data: randomBytes(length), ne: 256 });

export function walletChecks(): Check[] {
  return [
    refusalCheck(
      {
        id: 'create-wallet/pin-length',
        title: 'CREATE_WALLET with a 3- or 17-byte access code is 6700, the card stays BLANK',
        category: 'tlv',
        destructive: false,
        needs: ['fresh-card'],
      },
      {
        from: 'BLANK',
        sends: () => [3, 17].map((n) => ({ ins: Ins.CREATE_WALLET, data: new Uint8Array(n).fill(0x31), ne: 256 })),
        want: IsoSw.WRONG_LENGTH,
      },
    ),
    check(
      {
        id: 'create-wallet/answer',
        title: 'CREATE_WALLET: BLANK -> WALLET, origin 01, 5 tries, the key READ shows',
        category: 'wallet',
        destructive: true,
        needs: ['fresh-card'],
      },
      async (ctx, e) => {
        await ctx.reach('BLANK');
        const r = await ctx.dut.send(CLA, Ins.CREATE_WALLET, SUITE_PIN, 256);
        if (!e.sw(r, IsoSw.OK)) return;
        ctx.dut.known = { pin: SUITE_PIN };
        const info = await ctx.dut.snapshot();
        e.that(info.state === 'WALLET', 'state WALLET', `state ${info.state}`);
        e.that(info.walletOrigin === 'created', 'origin created', `origin ${info.walletOrigin ?? 'none'}`);
        e.that(info.pinTriesLeft === 5, '5 PIN tries', `${info.pinTriesLeft} PIN tries`);
        const key = r.data.subarray(2);
        e.that(
          r.data[0] === 0x05 && r.data[1] === 0x41 && info.walletPublicKey !== undefined && equalBytes(key, info.walletPublicKey),
          'answer 05 41 <the wallet key READ shows>',
          'answer differs from READ',
        );
      },
    ),
    refusalCheck(
      {
        id: 'header/order-state-before-data',
        title: 'SIGN with a 5-byte digest on a BLANK card: 6985 (state before data)',
        category: 'header',
        destructive: false,
        needs: ['fresh-card'],
      },
      { from: 'BLANK', sends: () => [sign(5)], want: IsoSw.CONDITIONS_NOT_SATISFIED },
    ),
    refusalCheck(
      {
        id: 'sign/without-pin',
        title: 'SIGN without VERIFY_PIN in this selection is 6982, counter unchanged',
        category: 'access-code',
        destructive: false,
        needs: ['fresh-card'],
      },
      { from: 'WALLET', sends: () => [sign(32)], want: IsoSw.PIN_NOT_VERIFIED },
    ),
    refusalCheck(
      {
        id: 'sign/order-pin-before-data',
        title: 'SIGN with a 5-byte digest and no VERIFY_PIN: 6982 (access code before data)',
        category: 'header',
        destructive: false,
        needs: ['fresh-card'],
      },
      { from: 'WALLET', sends: () => [sign(5)], want: IsoSw.PIN_NOT_VERIFIED },
    ),
    refusalCheck(
      {
        id: 'sign/digest-length',
        title: 'SIGN with a 31- or 33-byte digest is 6700, counter unchanged',
        category: 'tlv',
        destructive: false,
        needs: ['fresh-card'],
      },
      { from: 'WALLET', setUp: verifyFirst, sends: () => [sign(31), sign(33)], want: IsoSw.WRONG_LENGTH },
    ),
    check(
      {
        id: 'sign/answer',
        title: 'SIGN: a signature over the digest under the wallet key, counter +1 each time',
        category: 'wallet',
        destructive: true,
        needs: ['fresh-card'],
      },
      async (ctx, e) => {
        const before = await ctx.reach('WALLET');
        await ctx.dut.verify();
        for (let i = 1; i <= 2; i++) {
          const digest = randomBytes(32);
          const r = await ctx.dut.send(CLA, Ins.SIGN, digest, 256);
          if (!e.sw(r, IsoSw.OK)) return;
          const sigLength = r.data[1] ?? 0;
          const der = r.data.subarray(2, 2 + sigLength);
          const counter = r.data.subarray(2 + sigLength);
          const ok =
            r.data[0] === 0x0b &&
            before.walletPublicKey !== undefined &&
            checkWalletSignature(der, digest, before.walletPublicKey) !== undefined;
          e.that(ok, `signature ${i} verifies under the wallet key`, `signature ${i} does not verify`);
          const n =
            counter.length === 6 && counter[0] === 0x07 && counter[1] === 0x04
              ? new DataView(counter.buffer, counter.byteOffset + 2, 4).getUint32(0)
              : -1;
          e.that(n === before.signCounter + i, `counter ${before.signCounter + i}`, `counter ${n}`);
        }
      },
    ),
    refusalCheck(
      {
        id: 'verify-pin/length',
        title: 'VERIFY_PIN with 3 or 17 bytes is 6700 and costs no try',
        category: 'tlv',
        destructive: false,
        needs: ['fresh-card'],
      },
      {
        from: 'WALLET',
        sends: () => [3, 17].map((n) => ({ ins: Ins.VERIFY_PIN, data: new Uint8Array(n).fill(0x39) })),
        want: IsoSw.WRONG_LENGTH,
      },
    ),
    check(
      {
        id: 'verify-pin/wrong-then-right',
        title: 'a wrong code is 63C4 and READ shows 4 tries; the right one is 9000 and restores 5',
        category: 'access-code',
        destructive: false,
        needs: ['fresh-card'],
      },
      async (ctx, e) => {
        const before = await ctx.reach('WALLET');
        e.that(before.pinTriesLeft === 5, 'starts with 5 tries', `starts with ${before.pinTriesLeft} tries`);
        e.sw(await ctx.dut.send(CLA, Ins.VERIFY_PIN, WRONG_PIN), 0x63c4);
        const mid = await ctx.dut.snapshot();
        e.that(mid.pinTriesLeft === 4, 'READ: 4 tries', `READ: ${mid.pinTriesLeft} tries`);
        e.sw(await ctx.dut.send(CLA, Ins.VERIFY_PIN, SUITE_PIN), IsoSw.OK);
        const after = await ctx.dut.snapshot();
        e.that(after.pinTriesLeft === 5, 'READ: 5 tries again', `READ: ${after.pinTriesLeft} tries`);
      },
    ),
    refusalCheck(
      {
        id: 'verify-pin/cleared-on-select',
        title: 'after VERIFY_PIN, a new SELECT clears it: SIGN is 6982',
        category: 'access-code',
        destructive: false,
        needs: ['fresh-card'],
      },
      {
        from: 'WALLET',
        setUp: async (ctx) => {
          await ctx.dut.verify();
          await ctx.dut.select();
        },
        sends: () => [sign(32)],
        want: IsoSw.PIN_NOT_VERIFIED,
      },
    ),
    check(
      {
        id: 'verify-pin/brute-force',
        title: 'five wrong codes: 63C4, 63C3, 63C2, 63C1, 63C0; then the RIGHT code and SIGN are 6983 and READ shows 0 tries',
        category: 'access-code',
        destructive: true,
        needs: ['fresh-card'],
      },
      async (ctx, e) => {
        const before = await ctx.reach('WALLET');
        for (let left = 4; left >= 0; left--) {
          const guess = new TextEncoder().encode(`0000${left}`);
          e.sw(await ctx.dut.send(CLA, Ins.VERIFY_PIN, guess), 0x63c0 | left);
        }
        e.sw(await ctx.dut.send(CLA, Ins.VERIFY_PIN, SUITE_PIN), IsoSw.PIN_BLOCKED);
        e.sw(await ctx.dut.send(CLA, Ins.SIGN, randomBytes(32), 256), IsoSw.PIN_BLOCKED);
        const after = await ctx.dut.snapshot();
        e.that(after.pinTriesLeft === 0, 'READ: 0 tries', `READ: ${after.pinTriesLeft} tries`);
        e.that(after.signCounter === before.signCounter, 'counter unchanged', `counter ${before.signCounter} -> ${after.signCounter}`);
      },
    ),
  ];
}

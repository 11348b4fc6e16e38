/**
 * Backups between two real cards (`--peer-reader`), every message relayed as a host does: the card under test
 * as the primary and as the backup card, and the attacks that need no TEST manufacturer because the peer's
 * own certified answers are the material: a tampered blob, a substituted EB, and a blob sealed to an EB the
 * peer has cancelled since (the primary cannot tell; the backup card must refuse it).
 * @module
 */
import { randomBytes } from '@noble/hashes/utils.js';
import { toHex } from '../../apdu/index.js';
import { checkWalletSignature, equalBytes } from '../../protocol/crypto.js';
import { exportData, importData, parseExportAnswer, parsePrepareAnswer, SUITE_PIN, type CardUnderTest } from '../harness.js';
import { randomKeyPair } from '../soft-card.js';
import { NotApplicable } from '../types.js';
import { Ins, Sw, type ReadInfo } from '../wire.js';
import { check, flip, type Check, type CheckContext, type Expect } from './common.js';

function needPeer(ctx: CheckContext): CardUnderTest {
  if (ctx.peer === undefined) throw new NotApplicable('needs a second card: --peer-reader');
  return ctx.peer;
}

/** BACKUP_PREPARE on a card, its offer (EB and signature) with its certificate. */
async function prepareOn(card: CardUnderTest, info: ReadInfo) {
  const r = await card.expectOk('BACKUP_PREPARE', Ins.BACKUP_PREPARE);
  const offer = parsePrepareAnswer(r.data);
  if (offer === undefined) throw new Error('BACKUP_PREPARE answer is not 13 41 <EB> 14 LL <signature>');
  card.known = { eb: offer.eb };
  return { certificate: info.certificate!, eb: offer.eb, signature: offer.signature };
}

/** BACKUP_EXPORT on a primary (its code verified here) for this offer; the answer split, or undefined with the SW recorded. */
async function exportOn(
  primary: CardUnderTest,
  info: ReadInfo,
  offer: { certificate: Uint8Array; eb: Uint8Array; signature: Uint8Array },
  e: Expect,
) {
  await primary.select();
  await primary.verify();
  const r = await primary.cmd(Ins.BACKUP_EXPORT, exportData(offer));
  if (!e.sw(r, Sw.OK)) return undefined;
  const x = parseExportAnswer(r.data);
  e.that(x !== undefined, 'an export answer 11 41 EP 12 LL seal 15 81 C1 blob', `an answer of ${r.data.length} bytes`);
  return x === undefined ? undefined : { certificate: info.certificate!, ...x };
}

/** SIGN on a card with the suite's code; whether it verifies under `walletKey`. */
async function signsWith(card: CardUnderTest, walletKey: Uint8Array): Promise<boolean> {
  await card.select();
  card.known.pin = SUITE_PIN;
  await card.verify();
  const digest = randomBytes(32);
  const s = await card.cmd(Ins.SIGN, digest);
  if (s.sw !== Sw.OK) return false;
  return checkWalletSignature(s.data.subarray(2, 2 + (s.data[1] ?? 0)), digest, walletKey) !== undefined;
}

type Offer = Awaited<ReturnType<typeof prepareOn>>;
type Sealed = NonNullable<Awaited<ReturnType<typeof exportOn>>>;

/** Every peer check relays between two real cards and changes both for good. */
function peerCheck(id: string, title: string, body: (ctx: CheckContext, e: Expect) => Promise<void>): Check {
  return check({ id, title, category: 'peer', destructive: true, needs: ['peer-card', 'fresh-card'] }, body);
}

/**
 * The card under test in WALLET exports to the peer, brought to BLANK and prepared by `offerOf` (default: one
 * BACKUP_PREPARE). Both READs and the sealed answer; undefined when the export failed (the SW is recorded).
 */
async function exportToPeer(ctx: CheckContext, e: Expect, offerOf: (peer: CardUnderTest, b: ReadInfo) => Promise<Offer> = prepareOn) {
  const peer = needPeer(ctx);
  const p = await ctx.reach('WALLET');
  const b = await ctx.reachPeer('BLANK');
  const sealed = await exportOn(ctx.dut, p, await offerOf(peer, b), e);
  return sealed === undefined ? undefined : { peer, p, b, sealed };
}

/** BACKUP_IMPORT of `sealed` on `card`, which must answer `sw` and, refusing, change nothing. */
async function importRefused(card: CardUnderTest, sealed: Sealed, sw: number, e: Expect): Promise<void> {
  const before = await card.snapshot();
  e.sw(await card.cmd(Ins.BACKUP_IMPORT, importData(sealed)), sw);
  await e.unchanged(card, before);
}

export function peerChecks(): Check[] {
  return [
    peerCheck(
      'peer/substituted-eb',
      "BACKUP_EXPORT with the peer backup card's certificate and prepare signature but another EB: 9A03, nothing changed",
      async (ctx, e) => {
        const peer = needPeer(ctx);
        const b = await ctx.reachPeer('BLANK');
        const offer = await prepareOn(peer, b);
        const before = await ctx.reach('WALLET');
        await ctx.dut.verify();
        e.sw(await ctx.dut.cmd(Ins.BACKUP_EXPORT, exportData({ ...offer, eb: randomKeyPair().publicKey })), Sw.SIGNATURE_INVALID);
        await e.unchanged(ctx.dut, before);
      },
    ),
    peerCheck(
      'peer/tampered-blob',
      'a real export to the peer, one ciphertext byte flipped on the way: the peer answers 9A05 and stays BACKUP_PENDING',
      async (ctx, e) => {
        const run = await exportToPeer(ctx, e);
        if (run !== undefined) await importRefused(run.peer, { ...run.sealed, blob: flip(run.sealed.blob, 60) }, Sw.MAC_INVALID, e);
      },
    ),
    peerCheck(
      'peer/stale-eb',
      'the peer prepares, cancels and prepares again; the card exports to the OLD EB (it cannot tell): ' +
        'the peer refuses that blob with 9A03 and stays BACKUP_PENDING',
      async (ctx, e) => {
        const run = await exportToPeer(ctx, e, async (peer, b) => {
          const old = await prepareOn(peer, b);
          await peer.expectOk('BACKUP_CANCEL', Ins.BACKUP_CANCEL);
          const now = await prepareOn(peer, b);
          e.that(!equalBytes(now.eb, old.eb), 'the peer has a new EB', 'the peer answered the old EB again');
          return old;
        });
        if (run !== undefined) await importRefused(run.peer, run.sealed, Sw.SIGNATURE_INVALID, e);
      },
    ),
    peerCheck(
      'peer/backup-to-peer',
      'a full backup to the peer (prepare, export, finalize, import): the peer holds the same wallet key, origin 02, ' +
        'and signs with the same access code; the card names it',
      async (ctx, e) => {
        const run = await exportToPeer(ctx, e);
        if (run === undefined) return;
        const { peer, p, b, sealed } = run;
        e.sw(await ctx.dut.cmd(Ins.BACKUP_FINALIZE), Sw.OK);
        const primary = await ctx.dut.snapshot();
        e.that(
          primary.state === 'BACKED_UP' && primary.backupCount === 1 && equalBytes(primary.backupCardIds[0]!, b.cardId!),
          'the card BACKED_UP naming the peer',
          `the card ${primary.state}, count ${primary.backupCount}`,
        );
        const r = await peer.cmd(Ins.BACKUP_IMPORT, importData(sealed));
        e.sw(r, Sw.OK);
        e.that(
          toHex(r.data) === `0541${toHex(p.walletPublicKey!)}170100`,
          "the peer answers the card's wallet key, 17 01 00",
          'another answer',
        );
        const after = await peer.snapshot();
        e.that(
          after.state === 'BACKED_UP' &&
            after.walletOrigin === 'imported' &&
            after.primaryId !== undefined &&
            equalBytes(after.primaryId, p.cardId!),
          'the peer BACKED_UP, origin 02, PRIMARY_ID the card',
          `the peer ${after.state}`,
        );
        e.that(await signsWith(peer, p.walletPublicKey!), "the peer's signature verifies under the card's wallet key", 'it does not');
        ctx.dut.known = {}; // the suite's own record of this primary's backups is not complete: reset it if needed again
      },
    ),
    peerCheck(
      'peer/backup-from-peer',
      'a full backup from the peer: the card under test prepares and imports, holds the peer wallet key and signs with its access code',
      async (ctx, e) => {
        const peer = needPeer(ctx);
        const p = await ctx.reachPeer('WALLET');
        const b = await ctx.reach('BLANK');
        const sealed = await exportOn(peer, p, await prepareOn(ctx.dut, b), e);
        if (sealed === undefined) return;
        await ctx.dut.select();
        e.sw(await ctx.dut.cmd(Ins.BACKUP_IMPORT, importData(sealed)), Sw.OK);
        const after = await ctx.dut.snapshot();
        e.that(
          after.state === 'BACKED_UP' && after.walletPublicKey !== undefined && equalBytes(after.walletPublicKey, p.walletPublicKey!),
          'BACKED_UP with the peer wallet key',
          `${after.state}, ${after.walletPublicKey === undefined ? 'no key' : 'another key'}`,
        );
        e.that(await signsWith(ctx.dut, p.walletPublicKey!), 'its signature verifies under the peer wallet key', 'it does not');
      },
    ),
  ];
}

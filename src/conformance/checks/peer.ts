/**
 * The backup between two real cards (`--peer-reader`): the card under test as the primary, the peer as the
 * backup card, every message relayed as a host does, plus the attacks only two real cards allow: a
 * tampered blob and the card's own link answer sent back to it.
 * @module
 */
import { randomBytes } from '@noble/hashes/utils.js';
import { encodeProtocolTlvs } from '../../apdu/index.js';
import { Ins, IsoSw, Tag, TwincardSw } from '../../protocol/constants.js';
import { checkWalletSignature, equalBytes } from '../../protocol/crypto.js';
import { NotApplicable } from '../types.js';
import { SUITE_PIN } from '../harness.js';
import { check, CLA, flip, linkData, type Check, type CheckContext, type Expect } from './common.js';

async function linkedPair(ctx: CheckContext, e: Expect) {
  const peer = ctx.peer;
  if (peer === undefined) throw new NotApplicable('needs a second card: --peer-reader');
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

export function peerChecks(): Check[] {
  return [
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
      { id: 'peer/backup', title: 'a full backup to the peer card: the peer imports, holds the same wallet key, and signs with the same access code; the primary finalizes', category: 'peer', destructive: true, needs: ['peer-card', 'fresh-card'] },
      async (ctx, e) => {
        const { peer, p, blob } = await linkedPair(ctx, e);
        const imported = await peer.card.importWallet(blob);
        e.that(equalBytes(imported.walletPublicKey, p.walletPublicKey!), 'the peer holds the primary wallet key', 'the peer holds another key');
        const f = await ctx.dut.send(CLA, Ins.FINALIZE_BACKUP, undefined, 256);
        e.sw(f, IsoSw.OK);
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
  ];
}

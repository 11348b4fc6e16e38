/**
 * Protocol TLV faults (section 2): a LINK_PRIMARY whose fields are right but whose encoding is not, sent
 * to a BLANK card, must be 6A80 and change nothing; command chaining past 512 bytes is 6A84.
 * @module
 */
import { concatBytes, randomBytes } from '@noble/hashes/utils.js';
import { Ins, IsoSw } from '../../protocol/constants.js';
import type { CertifiedLinkOffer } from '../../protocol/card.js';
import { randomKeyPair } from '../soft-card.js';
import { check, CLA, somePeer, type Check, type CheckContext, type Expect } from './common.js';

const tlv = (tag: number, value: Uint8Array, length?: Uint8Array) =>
  concatBytes(Uint8Array.of(tag), length ?? (value.length < 0x80 ? Uint8Array.of(value.length) : Uint8Array.of(0x81, value.length)), value);

interface Fault {
  readonly name: string;
  readonly title: string;
  build(o: CertifiedLinkOffer): Uint8Array;
}

const FAULTS: readonly Fault[] = [
  { name: 'empty', title: 'no data at all', build: () => new Uint8Array(0) },
  { name: 'truncated', title: 'the last byte cut off', build: (o) => good(o).subarray(0, good(o).length - 1) },
  { name: 'length-overruns', title: 'the last length one more than the bytes left', build: (o) => concatBytes(tlv(0x04, o.certificate), tlv(0x11, o.ephemeralKey), Uint8Array.of(0x12, o.signature.length + 1), o.signature) },
  { name: 'non-minimal-length-81', title: 'EP length as 81 41', build: (o) => concatBytes(tlv(0x04, o.certificate), tlv(0x11, o.ephemeralKey, Uint8Array.of(0x81, 0x41)), tlv(0x12, o.signature)) },
  { name: 'non-minimal-length-82', title: 'certificate length as 82 00 LL', build: (o) => concatBytes(tlv(0x04, o.certificate, Uint8Array.of(0x82, 0x00, o.certificate.length)), tlv(0x11, o.ephemeralKey), tlv(0x12, o.signature)) },
  { name: 'length-83', title: 'a length in the 83 form', build: (o) => concatBytes(tlv(0x04, o.certificate, Uint8Array.of(0x83, 0x00, 0x00, o.certificate.length)), tlv(0x11, o.ephemeralKey), tlv(0x12, o.signature)) },
  { name: 'unknown-tag', title: 'an unknown tag 16 between the fields', build: (o) => concatBytes(tlv(0x04, o.certificate), tlv(0x16, Uint8Array.of(0)), tlv(0x11, o.ephemeralKey), tlv(0x12, o.signature)) },
  { name: 'tag-00', title: 'a field with tag 00 at the end', build: (o) => concatBytes(good(o), Uint8Array.of(0x00, 0x00)) },
  { name: 'duplicate-tag', title: 'EP twice', build: (o) => concatBytes(tlv(0x04, o.certificate), tlv(0x11, o.ephemeralKey), tlv(0x11, o.ephemeralKey), tlv(0x12, o.signature)) },
  { name: 'missing-tag', title: 'no signature field', build: (o) => concatBytes(tlv(0x04, o.certificate), tlv(0x11, o.ephemeralKey)) },
  { name: 'wrong-order', title: 'EP before the certificate', build: (o) => concatBytes(tlv(0x11, o.ephemeralKey), tlv(0x04, o.certificate), tlv(0x12, o.signature)) },
  { name: 'trailing-byte', title: 'one byte after the last field', build: (o) => concatBytes(good(o), Uint8Array.of(0x00)) },
  { name: 'ep-64-bytes', title: 'a 64-byte EP', build: (o) => concatBytes(tlv(0x04, o.certificate), tlv(0x11, o.ephemeralKey.subarray(0, 64)), tlv(0x12, o.signature)) },
  { name: 'ep-66-bytes', title: 'a 66-byte EP', build: (o) => concatBytes(tlv(0x04, o.certificate), tlv(0x11, concatBytes(o.ephemeralKey, Uint8Array.of(0))), tlv(0x12, o.signature)) },
  { name: 'signature-7-bytes', title: 'a 7-byte signature field', build: (o) => concatBytes(tlv(0x04, o.certificate), tlv(0x11, o.ephemeralKey), tlv(0x12, o.signature.subarray(0, 7))) },
  { name: 'signature-73-bytes', title: 'a 73-byte signature field', build: (o) => concatBytes(tlv(0x04, o.certificate), tlv(0x11, o.ephemeralKey), tlv(0x12, concatBytes(o.signature, new Uint8Array(73 - o.signature.length)))) },
  { name: 'certificate-89-bytes', title: 'an 89-byte certificate field', build: (o) => concatBytes(tlv(0x04, o.certificate.subarray(0, 89)), tlv(0x11, o.ephemeralKey), tlv(0x12, o.signature)) },
  { name: 'certificate-fields-shuffled', title: 'a certificate whose card id and version fields are swapped', build: (o) => concatBytes(tlv(0x04, concatBytes(o.certificate.subarray(3, 13), o.certificate.subarray(0, 3), o.certificate.subarray(13))), tlv(0x11, o.ephemeralKey), tlv(0x12, o.signature)) },
];

function good(o: CertifiedLinkOffer): Uint8Array {
  return concatBytes(tlv(0x04, o.certificate), tlv(0x11, o.ephemeralKey), tlv(0x12, o.signature));
}

async function sendToBlank(ctx: CheckContext, e: Expect, data: Uint8Array, want: number): Promise<void> {
  const before = await ctx.reach('BLANK');
  e.sw(await ctx.dut.send(CLA, Ins.LINK_PRIMARY, data, 256), want);
  await e.unchanged(ctx.dut, before);
}

/** LINK_BACKUP with these bytes, access code verified, on a card in BACKUP_PRIMARY with no backup card linked. */
async function sendToPrimary(ctx: CheckContext, e: Expect, data: (cardId: Uint8Array, ep: Uint8Array) => Uint8Array, want: number): Promise<void> {
  const before = await ctx.reach('BACKUP_PRIMARY', { fresh: true });
  await ctx.dut.verify();
  e.sw(await ctx.dut.send(CLA, Ins.LINK_BACKUP, data(before.cardId!, ctx.dut.known.primary!.ep), 256), want);
  await e.unchanged(ctx.dut, before);
}

const BACKUP_FAULTS: ReadonlyArray<{ name: string; title: string; build(o: CertifiedLinkOffer): Uint8Array }> = [
  { name: 'truncated', title: 'the last byte cut off', build: (o) => goodBackup(o).subarray(0, goodBackup(o).length - 1) },
  { name: 'trailing-byte', title: 'one byte after the last field', build: (o) => concatBytes(goodBackup(o), Uint8Array.of(0)) },
  { name: 'duplicate-tag', title: 'EB twice', build: (o) => concatBytes(tlv(0x04, o.certificate), tlv(0x13, o.ephemeralKey), tlv(0x13, o.ephemeralKey), tlv(0x14, o.signature)) },
  { name: 'missing-tag', title: 'no signature field', build: (o) => concatBytes(tlv(0x04, o.certificate), tlv(0x13, o.ephemeralKey)) },
  { name: 'primary-tags', title: "the primary's tags 11/12 instead of 13/14", build: (o) => concatBytes(tlv(0x04, o.certificate), tlv(0x11, o.ephemeralKey), tlv(0x12, o.signature)) },
  { name: 'non-minimal-length-81', title: 'EB length as 81 41', build: (o) => concatBytes(tlv(0x04, o.certificate), tlv(0x13, o.ephemeralKey, Uint8Array.of(0x81, 0x41)), tlv(0x14, o.signature)) },
];

function goodBackup(o: CertifiedLinkOffer): Uint8Array {
  return concatBytes(tlv(0x04, o.certificate), tlv(0x13, o.ephemeralKey), tlv(0x14, o.signature));
}

export function tlvChecks(): Check[] {
  const checks: Check[] = FAULTS.map((f) =>
    check(
      { id: `tlv/link-primary/${f.name}`, title: `LINK_PRIMARY with ${f.title}: 6A80, nothing changed`, category: 'tlv', destructive: false, needs: ['fresh-card'] },
      (ctx, e) => sendToBlank(ctx, e, f.build(somePeer(ctx).primaryOffer(randomKeyPair().publicKey)), IsoSw.WRONG_DATA),
    ),
  );
  for (const f of BACKUP_FAULTS) {
    checks.push(
      check(
        { id: `tlv/link-backup/${f.name}`, title: `LINK_BACKUP with ${f.title}: 6A80, nothing changed`, category: 'tlv', destructive: false, needs: ['fresh-card'] },
        (ctx, e) => sendToPrimary(ctx, e, (id, ep) => f.build(somePeer(ctx).backupOffer(id, ep, randomKeyPair().publicKey)), IsoSw.WRONG_DATA),
      ),
    );
  }
  checks.push(
    check(
      { id: 'tlv/chained-over-512', title: 'LINK_PRIMARY chained to 513 bytes (255 + 255 + 3): 6A84, nothing changed', category: 'tlv', destructive: false, needs: ['fresh-card'] },
      (ctx, e) => sendToBlank(ctx, e, concatBytes(good(somePeer(ctx).primaryOffer(randomKeyPair().publicKey)), randomBytes(300)).subarray(0, 513), IsoSw.CHAIN_TOO_LONG),
    ),
    check(
      { id: 'tlv/chained-512', title: 'LINK_PRIMARY chained to exactly 512 bytes of well-formed fields plus junk: 6A80, not 6A84', category: 'tlv', destructive: false, needs: ['fresh-card'] },
      async (ctx, e) => {
        const g = good(somePeer(ctx).primaryOffer(randomKeyPair().publicKey));
        await sendToBlank(ctx, e, concatBytes(g, new Uint8Array(512 - g.length)), IsoSw.WRONG_DATA);
      },
    ),
    check(
      { id: 'tlv/lc-mismatch', title: 'READ whose Lc (05) promises more data than follows (2 bytes): 6700, and the card still answers', category: 'tlv', destructive: false, needs: [] },
      async ({ dut }, e) => {
        const before = await dut.snapshot();
        dut.recorder.clear();
        e.sw(await dut.raw(Uint8Array.of(CLA, Ins.READ, 0, 0, 0x05, 0x01, 0x02)), IsoSw.WRONG_LENGTH);
        await e.unchanged(dut, before);
      },
    ),
    check(
      { id: 'tlv/chain-then-other-command', title: 'a chain block of LINK_PRIMARY (CLA 90, 9000), then READ: READ answers normally', category: 'tlv', destructive: false, needs: [] },
      async ({ dut }, e) => {
        const before = await dut.snapshot();
        dut.recorder.clear();
        e.sw(await dut.raw(concatBytes(Uint8Array.of(0x90, Ins.LINK_PRIMARY, 0, 0, 16), randomBytes(16))), IsoSw.OK);
        const after = await dut.snapshot();
        e.that(after.state === before.state, 'READ answers, state unchanged', `state ${after.state}`);
      },
    ),
  );
  return checks;
}

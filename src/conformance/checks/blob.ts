/**
 * The wallet blob both ways. As a backup card: IMPORT_WALLET of tampered, truncated, misdirected and
 * replayed blobs, and of blobs that are authentic (right keys, right MAC) but whose plaintext a real primary
 * never makes (section 1.3: PIN length, zero padding, 1 <= d < n, a valid public key): 9A0A and nothing
 * stored. As a primary: EXPORT_WALLET opened by a software backup card (the KDF, the layout, the key that
 * matches READ), FINALIZE_BACKUP's conditions, and no second backup after it.
 * @module
 */
import { concatBytes, randomBytes } from '@noble/hashes/utils.js';
import { encodeProtocolTlvs, toHex } from '../../apdu/index.js';
import { BLOB_VERSION, Ins, IsoSw, Tag, TwincardSw } from '../../protocol/constants.js';
import { checkWalletSignature, equalBytes, publicKeyOf, SECP256K1_N } from '../../protocol/crypto.js';
import { blobFor, SUITE_PIN, type LinkedPrimary } from '../harness.js';
import { openBlobAsBackup, plaintextBytes, randomKeyPair, sealRawBlob, SoftCard, wellFormedPlaintext, type RawPlaintext } from '../soft-card.js';
import { be32, check, CLA, flip, linkData, needManufacturer, type Check, type CheckContext, type Expect } from './common.js';

function importData(blob: Uint8Array): Uint8Array {
  return encodeProtocolTlvs([[Tag.WALLET_BLOB, blob]]);
}

/** IMPORT_WALLET of a blob made from the link the card has now; expects `want` and no change. */
async function importRefused(ctx: CheckContext, e: Expect, make: (linked: LinkedPrimary, ownId: Uint8Array) => Uint8Array, want: number): Promise<void> {
  needManufacturer(ctx);
  const before = await ctx.reach('BACKUP_LINKED');
  const linked = ctx.dut.known.linked!;
  e.sw(await ctx.dut.send(CLA, Ins.IMPORT_WALLET, importData(make(linked, before.cardId!)), 256), want);
  await e.unchanged(ctx.dut, before);
}


/** Plaintexts that are authentic but not well-formed: each must be 9A0A with nothing stored. */
function malformedPlaintexts(): Array<{ name: string; title: string; make: (p: RawPlaintext) => RawPlaintext }> {
  const pinField = (len: number) => {
    const f = new Uint8Array(16);
    f.fill(0x37, 0, Math.min(len, 16));
    return f;
  };
  return [
    { name: 'pin-length-0', title: 'PIN length 0', make: (p) => ({ ...p, pinLength: 0, pinField: new Uint8Array(16) }) },
    { name: 'pin-length-3', title: 'PIN length 3', make: (p) => ({ ...p, pinLength: 3, pinField: pinField(3) }) },
    { name: 'pin-length-17', title: 'PIN length 17', make: (p) => ({ ...p, pinLength: 17, pinField: pinField(16) }) },
    { name: 'pin-not-zero-padded', title: 'a non-zero byte after the PIN in its 16-byte field', make: (p) => ({ ...p, pinField: Uint8Array.from(p.pinField, (b, i) => (i === 15 ? 0x01 : b)) }) },
    { name: 'padding-not-zero', title: 'a non-zero byte in the 14 bytes of padding', make: (p) => ({ ...p, padding: Uint8Array.from({ length: 14 }, (_, i) => (i === 13 ? 0x01 : 0)) }) },
    { name: 'd-zero', title: 'd = 0', make: (p) => ({ ...p, d: new Uint8Array(32) }) },
    { name: 'd-equals-n', title: 'd = n', make: (p) => ({ ...p, d: be32(SECP256K1_N) }) },
    { name: 'd-above-n', title: 'd = 2^256 - 1', make: (p) => ({ ...p, d: new Uint8Array(32).fill(0xff) }) },
    { name: 'public-key-off-curve', title: 'a wallet public key off the curve', make: (p) => ({ ...p, walletPublicKey: flip(p.walletPublicKey, 64) }) },
    { name: 'public-key-prefix-02', title: 'a wallet public key with prefix 02', make: (p) => ({ ...p, walletPublicKey: Uint8Array.of(0x02, ...p.walletPublicKey.subarray(1)) }) },
  ];
}

export function blobChecks(): Check[] {
  const checks: Check[] = [
    // ----------------------------------------------------------------- IMPORT_WALLET, refused
    check(
      { id: 'import/tampered-tag', title: 'IMPORT_WALLET with the last tag byte flipped: 9A05, nothing stored', category: 'attacker', destructive: false, needs: ['fresh-card', 'test-manufacturer'] },
      (ctx, e) => importRefused(ctx, e, (l, id) => flip(blobFor(l, id), -1), TwincardSw.MAC_INVALID),
    ),
    check(
      { id: 'import/tampered-ciphertext', title: 'IMPORT_WALLET with a ciphertext byte flipped: 9A05 (MAC before decryption)', category: 'attacker', destructive: false, needs: ['fresh-card', 'test-manufacturer'] },
      (ctx, e) => importRefused(ctx, e, (l, id) => flip(blobFor(l, id), 17 + 16 + 40), TwincardSw.MAC_INVALID),
    ),
    check(
      { id: 'import/tampered-iv', title: 'IMPORT_WALLET with an IV byte flipped: 9A05', category: 'attacker', destructive: false, needs: ['fresh-card', 'test-manufacturer'] },
      (ctx, e) => importRefused(ctx, e, (l, id) => flip(blobFor(l, id), 17 + 3), TwincardSw.MAC_INVALID),
    ),
    check(
      { id: 'import/header-version', title: 'IMPORT_WALLET of a blob with header version 02: 9A06', category: 'attacker', destructive: false, needs: ['fresh-card', 'test-manufacturer'] },
      (ctx, e) => importRefused(ctx, e, (l, id) => blobFor(l, id, undefined, concatBytes(Uint8Array.of(0x02), l.primary.cardId, id)), TwincardSw.WRONG_RECIPIENT),
    ),
    check(
      { id: 'import/other-recipient', title: 'IMPORT_WALLET of a blob whose header names another backup card: 9A06', category: 'attacker', destructive: false, needs: ['fresh-card', 'test-manufacturer'] },
      (ctx, e) => importRefused(ctx, e, (l, id) => blobFor(l, id, undefined, concatBytes(Uint8Array.of(BLOB_VERSION), l.primary.cardId, flip(id, 7))), TwincardSw.WRONG_RECIPIENT),
    ),
    check(
      { id: 'import/other-primary', title: 'IMPORT_WALLET of a blob whose header names another primary: 9A06', category: 'attacker', destructive: false, needs: ['fresh-card', 'test-manufacturer'] },
      (ctx, e) => importRefused(ctx, e, (l, id) => blobFor(l, id, undefined, concatBytes(Uint8Array.of(BLOB_VERSION), flip(l.primary.cardId, 7), id)), TwincardSw.WRONG_RECIPIENT),
    ),
    check(
      { id: 'import/misdirected', title: "IMPORT_WALLET of the blob the same primary made for backup card B2: 9A06", category: 'attacker', destructive: false, needs: ['fresh-card', 'test-manufacturer'] },
      (ctx, e) =>
        importRefused(ctx, e, (l) => {
          const b2 = SoftCard.create(needManufacturer(ctx));
          const eb2 = randomKeyPair();
          return sealRawBlob({
            ephemeralPrivate: l.ephemeral.privateKey,
            transcript: { primaryId: l.primary.cardId, backupId: b2.cardId, primaryEphemeralKey: l.ephemeral.publicKey, backupEphemeralKey: eb2.publicKey },
            plaintext: plaintextBytes(wellFormedPlaintext(l.secret)),
          });
        }, TwincardSw.WRONG_RECIPIENT),
    ),
    check(
      { id: 'import/misdirected-relabelled', title: "IMPORT_WALLET of B2's blob with the header rewritten to name this card: 9A05", category: 'attacker', destructive: false, needs: ['fresh-card', 'test-manufacturer'] },
      (ctx, e) =>
        importRefused(ctx, e, (l, id) => {
          const b2 = SoftCard.create(needManufacturer(ctx));
          const eb2 = randomKeyPair();
          const blob = sealRawBlob({
            ephemeralPrivate: l.ephemeral.privateKey,
            transcript: { primaryId: l.primary.cardId, backupId: b2.cardId, primaryEphemeralKey: l.ephemeral.publicKey, backupEphemeralKey: eb2.publicKey },
            plaintext: plaintextBytes(wellFormedPlaintext(l.secret)),
          });
          blob.set(id, 9);
          return blob;
        }, TwincardSw.MAC_INVALID),
    ),
    check(
      { id: 'import/replayed-old-session', title: 'IMPORT_WALLET of a blob from an earlier link (the card linked again since): 9A05', category: 'attacker', destructive: false, needs: ['fresh-card', 'test-manufacturer'] },
      async (ctx, e) => {
        needManufacturer(ctx);
        const first = await ctx.reach('BACKUP_LINKED');
        const old = ctx.dut.known.linked!;
        const oldBlob = blobFor(old, first.cardId!);
        // The same primary links again with a new EP: the card makes a new eB, so the old blob's keys are gone.
        const ep = randomKeyPair();
        const o = old.primary.primaryOffer(ep.publicKey);
        const r = await ctx.dut.send(CLA, Ins.LINK_PRIMARY, linkData('primary', o.certificate, o.ephemeralKey, o.signature), 256);
        if (!e.sw(r, IsoSw.OK)) return;
        e.that(!equalBytes(r.data.subarray(2, 67), old.eb), 'a new EB for the new EP', 'the old EB again');
        ctx.dut.known.linked = { ...old, ephemeral: ep, eb: r.data.slice(2, 67) };
        const before = await ctx.dut.snapshot();
        e.sw(await ctx.dut.send(CLA, Ins.IMPORT_WALLET, importData(oldBlob), 256), TwincardSw.MAC_INVALID);
        await e.unchanged(ctx.dut, before);
      },
    ),
    check(
      { id: 'import/truncated', title: 'IMPORT_WALLET with a 192-byte blob (15 81 C0): 6A80', category: 'tlv', destructive: false, needs: ['fresh-card', 'test-manufacturer'] },
      (ctx, e) => importRefused(ctx, e, (l, id) => blobFor(l, id).subarray(0, 192), IsoSw.WRONG_DATA),
    ),
    check(
      { id: 'import/over-long', title: 'IMPORT_WALLET with a 194-byte blob (15 81 C2): 6A80', category: 'tlv', destructive: false, needs: ['fresh-card', 'test-manufacturer'] },
      (ctx, e) => importRefused(ctx, e, (l, id) => concatBytes(blobFor(l, id), Uint8Array.of(0)), IsoSw.WRONG_DATA),
    ),
    check(
      { id: 'import/wrong-tag', title: 'IMPORT_WALLET with the blob under tag 16 instead of 15: 6A80', category: 'tlv', destructive: false, needs: ['fresh-card', 'test-manufacturer'] },
      async (ctx, e) => {
        needManufacturer(ctx);
        const before = await ctx.reach('BACKUP_LINKED');
        const data = importData(blobFor(ctx.dut.known.linked!, before.cardId!));
        data[0] = 0x16;
        e.sw(await ctx.dut.send(CLA, Ins.IMPORT_WALLET, data, 256), IsoSw.WRONG_DATA);
        await e.unchanged(ctx.dut, before);
      },
    ),
    check(
      { id: 'import/non-minimal-length', title: 'IMPORT_WALLET with the blob length as 82 00 C1: 6A80', category: 'tlv', destructive: false, needs: ['fresh-card', 'test-manufacturer'] },
      async (ctx, e) => {
        needManufacturer(ctx);
        const before = await ctx.reach('BACKUP_LINKED');
        const data = concatBytes(Uint8Array.of(0x15, 0x82, 0x00, 0xc1), blobFor(ctx.dut.known.linked!, before.cardId!));
        e.sw(await ctx.dut.send(CLA, Ins.IMPORT_WALLET, data, 256), IsoSw.WRONG_DATA);
        await e.unchanged(ctx.dut, before);
      },
    ),
  ];
  for (const m of malformedPlaintexts()) {
    checks.push(
      check(
        { id: `import/blob-invalid/${m.name}`, title: `IMPORT_WALLET of an authentic blob with ${m.title}: 9A0A, nothing stored`, category: 'import', destructive: false, needs: ['fresh-card', 'test-manufacturer'] },
        (ctx, e) => importRefused(ctx, e, (l, id) => blobFor(l, id, plaintextBytes(m.make(wellFormedPlaintext(l.secret)))), TwincardSw.BLOB_INVALID),
      ),
    );
  }
  checks.push(
    // ----------------------------------------------------------------- IMPORT_WALLET, accepted
    check(
      { id: 'import/answer', title: 'IMPORT_WALLET of a good blob: 05 <wallet key> 17 00; BACKED_UP, origin 02; the PIN and the key work', category: 'import', destructive: true, needs: ['fresh-card', 'test-manufacturer'] },
      async (ctx, e) => {
        needManufacturer(ctx);
        const before = await ctx.reach('BACKUP_LINKED');
        const linked = ctx.dut.known.linked!;
        const blob = blobFor(linked, before.cardId!);
        const r = await ctx.dut.send(CLA, Ins.IMPORT_WALLET, importData(blob), 256);
        if (!e.sw(r, IsoSw.OK)) return;
        ctx.dut.known = { pin: linked.secret.pin, importedBlob: blob, linked };
        const want = `0541${toHex(linked.secret.walletPublicKey)}170100`;
        e.that(toHex(r.data) === want, 'answer 05 41 <wallet key> 17 01 00', `answer ${toHex(r.data).slice(0, 20)}...`);
        const after = await ctx.dut.snapshot();
        e.that(after.state === 'BACKED_UP' && after.walletOrigin === 'imported', 'BACKED_UP, origin imported', `${after.state}, origin ${after.walletOrigin ?? 'none'}`);
        e.that(after.pinTriesLeft === 5, '5 tries', `${after.pinTriesLeft} tries`);
        await ctx.dut.verify();
        const digest = randomBytes(32);
        const s = await ctx.dut.send(CLA, Ins.SIGN, digest, 256);
        e.sw(s, IsoSw.OK);
        const der = s.data.subarray(2, 2 + (s.data[1] ?? 0));
        e.that(checkWalletSignature(der, digest, linked.secret.walletPublicKey) !== undefined, 'SIGN verifies under the imported key', 'SIGN does not verify under the imported key');
      },
    ),
    check(
      { id: 'import/retry', title: 'IMPORT_WALLET of the same blob again: 17 01 01, nothing changed', category: 'import', destructive: false, needs: ['fresh-card', 'test-manufacturer'] },
      async (ctx, e) => {
        const before = await ctx.reach('BACKED_UP_BACKUP');
        const blob = ctx.dut.known.importedBlob;
        if (blob === undefined) throw new Error('set-up: the imported blob is not known');
        const r = await ctx.dut.send(CLA, Ins.IMPORT_WALLET, importData(blob), 256);
        e.sw(r, IsoSw.OK);
        e.that(r.data[r.data.length - 1] === 0x01 && r.data.length === 70, 'IMPORT_RESULT 01', `answer of ${r.data.length} bytes ending ${r.data[r.data.length - 1]}`);
        await e.unchanged(ctx.dut, before);
      },
    ),
    check(
      { id: 'import/second-blob', title: 'IMPORT_WALLET of another authentic blob (same link, new IV) into a card that imported: 6985', category: 'attacker', destructive: false, needs: ['fresh-card', 'test-manufacturer'] },
      async (ctx, e) => {
        const before = await ctx.reach('BACKED_UP_BACKUP');
        const linked = ctx.dut.known.linked;
        const blob = linked === undefined ? concatBytes(Uint8Array.of(1), randomBytes(192)) : blobFor(linked, before.cardId!);
        e.sw(await ctx.dut.send(CLA, Ins.IMPORT_WALLET, importData(blob), 256), IsoSw.CONDITIONS_NOT_SATISFIED);
        await e.unchanged(ctx.dut, before);
      },
    ),

    // ----------------------------------------------------------------- the card as primary: export and finalize
    check(
      { id: 'export/without-pin', title: 'EXPORT_WALLET without VERIFY_PIN: 6982', category: 'access-code', destructive: false, needs: ['fresh-card'] },
      async (ctx, e) => {
        const before = await ctx.reach('BACKUP_PRIMARY');
        e.sw(await ctx.dut.send(CLA, Ins.EXPORT_WALLET, randomBytes(8), 256), IsoSw.PIN_NOT_VERIFIED);
        await e.unchanged(ctx.dut, before);
      },
    ),
    check(
      { id: 'finalize/without-pin', title: 'FINALIZE_BACKUP without VERIFY_PIN: 6982', category: 'access-code', destructive: false, needs: ['fresh-card'] },
      async (ctx, e) => {
        const before = await ctx.reach('BACKUP_PRIMARY');
        e.sw(await ctx.dut.send(CLA, Ins.FINALIZE_BACKUP, undefined, 256), IsoSw.PIN_NOT_VERIFIED);
        await e.unchanged(ctx.dut, before);
      },
    ),
    check(
      { id: 'export/not-linked', title: 'EXPORT_WALLET for a card id that is not linked: 9A07', category: 'export', destructive: false, needs: ['fresh-card'] },
      async (ctx, e) => {
        const before = await ctx.reach('BACKUP_PRIMARY');
        await ctx.dut.verify();
        e.sw(await ctx.dut.send(CLA, Ins.EXPORT_WALLET, randomBytes(8), 256), TwincardSw.BACKUP_NOT_LINKED);
        await e.unchanged(ctx.dut, before);
      },
    ),
    check(
      { id: 'export/id-length', title: 'EXPORT_WALLET with a 7-byte id: 6700', category: 'tlv', destructive: false, needs: ['fresh-card'] },
      async (ctx, e) => {
        const before = await ctx.reach('BACKUP_PRIMARY');
        await ctx.dut.verify();
        e.sw(await ctx.dut.send(CLA, Ins.EXPORT_WALLET, randomBytes(7), 256), IsoSw.WRONG_LENGTH);
        await e.unchanged(ctx.dut, before);
      },
    ),
    check(
      { id: 'finalize/nothing-linked', title: 'FINALIZE_BACKUP with no backup card linked: 9A0B', category: 'export', destructive: false, needs: ['fresh-card'] },
      async (ctx, e) => {
        const before = await ctx.reach('BACKUP_PRIMARY', { fresh: true });
        await ctx.dut.verify();
        e.sw(await ctx.dut.send(CLA, Ins.FINALIZE_BACKUP, undefined, 256), TwincardSw.BACKUP_INCOMPLETE);
        await e.unchanged(ctx.dut, before);
      },
    ),
    check(
      { id: 'export/answer', title: 'EXPORT_WALLET: a blob a certified backup card opens (KDF, MAC, layout), with the wallet key READ shows and the access code; again: new IV, same plaintext; FINALIZE before export was 9A0B, after it BACKED_UP', category: 'export', destructive: true, needs: ['fresh-card', 'test-manufacturer'] },
      async (ctx, e) => {
        const m = needManufacturer(ctx);
        const info = await ctx.reach('BACKUP_PRIMARY', { fresh: true });
        const ep = ctx.dut.known.primary!.ep;
        const backup = SoftCard.create(m);
        const eb = randomKeyPair();
        await ctx.dut.verify();
        const o = backup.backupOffer(info.cardId!, ep, eb.publicKey);
        e.sw(await ctx.dut.send(CLA, Ins.LINK_BACKUP, linkData('backup', o.certificate, o.ephemeralKey, o.signature), 256), IsoSw.OK);
        const early = await ctx.dut.send(CLA, Ins.FINALIZE_BACKUP, undefined, 256);
        e.that(early.sw === TwincardSw.BACKUP_INCOMPLETE, 'FINALIZE before export: 9A0B', `FINALIZE before export: ${early.sw.toString(16).toUpperCase()}`);
        const transcript = { primaryId: info.cardId!, backupId: backup.cardId, primaryEphemeralKey: ep, backupEphemeralKey: eb.publicKey };
        const blobs: Uint8Array[] = [];
        for (let i = 0; i < 2; i++) {
          const r = await ctx.dut.send(CLA, Ins.EXPORT_WALLET, backup.cardId, 256);
          if (!e.sw(r, IsoSw.OK)) return;
          e.that(r.data.length === 196 && r.data[0] === 0x15 && r.data[1] === 0x81 && r.data[2] === 0xc1, 'answer 15 81 C1 <193 bytes>', `answer of ${r.data.length} bytes`);
          blobs.push(r.data.slice(3));
        }
        for (const [i, blob] of blobs.entries()) {
          try {
            const secret = openBlobAsBackup(blob, eb.privateKey, transcript);
            e.that(equalBytes(publicKeyOf(secret.walletPrivateKey), info.walletPublicKey!) && equalBytes(secret.walletPublicKey, info.walletPublicKey!),
              `blob ${i + 1}: d·G = the wallet key READ shows`, `blob ${i + 1}: the key inside is not the wallet key`);
            e.that(equalBytes(secret.pin, SUITE_PIN), `blob ${i + 1}: the access code`, `blob ${i + 1}: another access code`);
          } catch (error) {
            e.that(false, `blob ${i + 1} opens`, `blob ${i + 1}: ${(error as Error).message}`);
          }
        }
        e.that(blobs.length === 2 && !equalBytes(blobs[0]!.subarray(17, 33), blobs[1]!.subarray(17, 33)), 'a new IV each export', 'the same IV twice');
        const f = await ctx.dut.send(CLA, Ins.FINALIZE_BACKUP, undefined, 256);
        e.sw(f, IsoSw.OK);
        e.that(toHex(f.data) === '080101', 'answer 08 01 01', `answer ${toHex(f.data)}`);
        ctx.dut.known.primary = undefined;
        const after = await ctx.dut.snapshot();
        e.that(after.state === 'BACKED_UP' && after.backupCount === 1 && after.walletOrigin === 'created', 'BACKED_UP, 1 backup, origin created', `${after.state}, ${after.backupCount} backups, origin ${after.walletOrigin ?? 'none'}`);
      },
    ),
    check(
      { id: 'finalize/relinked-not-exported', title: 'a backup card exported to, then linked again with a new EB: its export no longer counts, FINALIZE_BACKUP is 9A0B', category: 'export', destructive: true, needs: ['fresh-card', 'test-manufacturer'] },
      async (ctx, e) => {
        const m = needManufacturer(ctx);
        const info = await ctx.reach('BACKUP_PRIMARY', { fresh: true });
        const ep = ctx.dut.known.primary!.ep;
        const backup = SoftCard.create(m);
        await ctx.dut.verify();
        const link = async () => {
          const o = backup.backupOffer(info.cardId!, ep, randomKeyPair().publicKey);
          return ctx.dut.send(CLA, Ins.LINK_BACKUP, linkData('backup', o.certificate, o.ephemeralKey, o.signature), 256);
        };
        e.sw(await link(), IsoSw.OK);
        e.sw(await ctx.dut.send(CLA, Ins.EXPORT_WALLET, backup.cardId, 256), IsoSw.OK);
        e.sw(await link(), IsoSw.OK);
        const before = await ctx.dut.snapshot();
        await ctx.dut.verify();
        e.sw(await ctx.dut.send(CLA, Ins.FINALIZE_BACKUP, undefined, 256), TwincardSw.BACKUP_INCOMPLETE);
        await e.unchanged(ctx.dut, before);
      },
    ),
    check(
      { id: 'finalize/retry', title: 'FINALIZE_BACKUP again on a finalized primary: 9000, the same count, nothing changed', category: 'export', destructive: false, needs: ['fresh-card', 'test-manufacturer'] },
      async (ctx, e) => {
        const before = await ctx.reach('BACKED_UP_PRIMARY');
        await ctx.dut.verify();
        const r = await ctx.dut.send(CLA, Ins.FINALIZE_BACKUP, undefined, 256);
        e.sw(r, IsoSw.OK);
        e.that(r.data.length === 3 && r.data[2] === before.backupCount, `count ${before.backupCount}`, `answer ${toHex(r.data)}`);
        await e.unchanged(ctx.dut, before);
      },
    ),
    check(
      { id: 'attack/second-backup-after-finalize', title: 'BACKUP_START on a finalized primary, access code verified: 6985, no new ephemeral key', category: 'attacker', destructive: false, needs: ['fresh-card', 'test-manufacturer'] },
      async (ctx, e) => {
        const before = await ctx.reach('BACKED_UP_PRIMARY');
        await ctx.dut.verify();
        e.sw(await ctx.dut.send(CLA, Ins.BACKUP_START, undefined, 256), IsoSw.CONDITIONS_NOT_SATISFIED);
        await e.unchanged(ctx.dut, before);
      },
    ),
    check(
      { id: 'attack/backup-of-a-backup', title: 'BACKUP_START on a backup card that imported, access code verified: 6985', category: 'attacker', destructive: false, needs: ['fresh-card', 'test-manufacturer'] },
      async (ctx, e) => {
        const before = await ctx.reach('BACKED_UP_BACKUP');
        await ctx.dut.verify();
        e.sw(await ctx.dut.send(CLA, Ins.BACKUP_START, undefined, 256), IsoSw.CONDITIONS_NOT_SATISFIED);
        await e.unchanged(ctx.dut, before);
      },
    ),
  );
  return checks;
}


/**
 * The card as a backup card receiving a wallet (section 6, BACKUP_IMPORT), with a software primary
 * certified by the TEST key as a hostile sender: untrusted and own certificates, blob headers of another
 * version or naming other cards, seal signatures over a stale EB (after BACKUP_CANCEL and a new prepare),
 * another card's id, another EP or made for another purpose, tampered blobs, a blob keyed to another EB, and
 * blobs that are authentic but malformed inside (9A0A, nothing stored); the check order; then the import, its
 * repeat and a second blob (6985). Invariant I3 is what most of these hold the card to.
 * @module
 */
import { concatBytes, randomBytes, utf8ToBytes } from '@noble/hashes/utils.js';
import { toHex } from '../../apdu/index.js';
import { checkWalletSignature, equalBytes, SECP256K1_N } from '../../protocol/crypto.js';
import { exportData, importData, parsePrepareAnswer, SUITE_PIN } from '../harness.js';
import {
  plaintextBytes,
  randomKeyPair,
  randomWallet,
  SoftCard,
  wellFormedPlaintext,
  type RawPlaintext,
  type SealedExport,
} from '../soft-card.js';
import { BLOB_VERSION, Ins, Prefix, sealMessage, Sw } from '../wire.js';
import type { InvalidPoint } from '../wycheproof.js';
import { be32, check, flip, needManufacturer, somePeer, type Check, type CheckContext, type Expect } from './common.js';
import { edgePoints } from './points.js';

/** What a hostile primary builds from: the card's id and current EB, a certified primary and a wallet. */
interface Pending {
  readonly cardId: Uint8Array;
  readonly eb: Uint8Array;
  readonly primary: SoftCard;
  readonly plaintext: Uint8Array;
}

/** BACKUP_IMPORT of what `make` builds, to a BACKUP_PENDING card: `want`, nothing changed. */
async function importRefused(
  ctx: CheckContext,
  e: Expect,
  make: (p: Pending) => SealedExport | Uint8Array,
  want: number,
  options: { trusted?: boolean } = {},
): Promise<void> {
  const primary =
    options.trusted === false
      ? SoftCard.create(randomKeyPair())
      : options.trusted === true
        ? SoftCard.create(needManufacturer(ctx))
        : somePeer(ctx);
  const before = await ctx.reach('BACKUP_PENDING');
  const built = make({
    cardId: before.cardId!,
    eb: ctx.dut.known.eb!,
    primary,
    plaintext: plaintextBytes(wellFormedPlaintext(randomWallet(SUITE_PIN))),
  });
  e.sw(await ctx.dut.cmd(Ins.BACKUP_IMPORT, built instanceof Uint8Array ? built : importData(built)), want);
  await e.unchanged(ctx.dut, before);
}

const header = (version: number, primaryId: Uint8Array, backupId: Uint8Array) => concatBytes(Uint8Array.of(version), primaryId, backupId);

/** A correct export from `p.primary`, then `change` applied to it. */
const sealed = (p: Pending, change: (s: SealedExport) => SealedExport = (s) => s) => change(p.primary.seal(p.cardId, p.eb, p.plaintext));

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
    {
      name: 'pin-not-zero-padded',
      title: 'a non-zero byte after the PIN in its 16-byte field',
      make: (p) => ({ ...p, pinField: Uint8Array.from(p.pinField, (b, i) => (i === 15 ? 0x01 : b)) }),
    },
    {
      name: 'padding-not-zero',
      title: 'a non-zero byte in the 14 bytes of padding',
      make: (p) => ({ ...p, padding: Uint8Array.from({ length: 14 }, (_, i) => (i === 13 ? 0x01 : 0)) }),
    },
    { name: 'd-zero', title: 'd = 0', make: (p) => ({ ...p, d: new Uint8Array(32) }) },
    { name: 'd-equals-n', title: 'd = n', make: (p) => ({ ...p, d: be32(SECP256K1_N) }) },
    { name: 'd-above-n', title: 'd = 2^256 - 1', make: (p) => ({ ...p, d: new Uint8Array(32).fill(0xff) }) },
    {
      name: 'public-key-off-curve',
      title: 'a wallet public key off the curve',
      make: (p) => ({ ...p, walletPublicKey: flip(p.walletPublicKey, 64) }),
    },
    {
      name: 'public-key-prefix-02',
      title: 'a wallet public key with prefix 02',
      make: (p) => ({ ...p, walletPublicKey: Uint8Array.of(0x02, ...p.walletPublicKey.subarray(1)) }),
    },
  ];
}

const TRUSTED = { trusted: true } as const;

export function importChecks(invalidPoints: readonly InvalidPoint[]): Check[] {
  const wycheproof = invalidPoints.map((p) => ({ name: `wycheproof-${p.tcId}`, point: p.point }));
  const edges = edgePoints();
  const checks: Check[] = [
    check(
      {
        id: 'import/untrusted-certificate',
        title: 'BACKUP_IMPORT from a primary certified by another manufacturer: 9A01, nothing changed',
        category: 'attacker',
        destructive: false,
        needs: ['fresh-card'],
      },
      (ctx, e) => importRefused(ctx, e, (p) => sealed(p), Sw.CERT_INVALID, { trusted: false }),
    ),
    check(
      {
        id: 'import/tampered-certificate',
        title: 'BACKUP_IMPORT from a certified primary whose certificate card id was changed: 9A01',
        category: 'attacker',
        destructive: false,
        needs: ['fresh-card', 'test-manufacturer'],
      },
      (ctx, e) =>
        importRefused(ctx, e, (p) => sealed(p, (s) => ({ ...s, certificate: flip(s.certificate, 12) })), Sw.CERT_INVALID, TRUSTED),
    ),
    check(
      {
        id: 'import/same-card',
        title: "BACKUP_IMPORT with the card's own certificate as the primary's: 9A09",
        category: 'attacker',
        destructive: false,
        needs: ['fresh-card'],
      },
      async (ctx, e) => {
        const before = await ctx.reach('BACKUP_PENDING');
        const s = SoftCard.create(randomKeyPair()).seal(
          before.cardId!,
          ctx.dut.known.eb!,
          new Uint8Array(128),
          header(BLOB_VERSION, before.cardId!, before.cardId!),
        );
        e.sw(await ctx.dut.cmd(Ins.BACKUP_IMPORT, importData({ ...s, certificate: before.certificate! })), Sw.SAME_CARD);
        await e.unchanged(ctx.dut, before);
      },
    ),
    check(
      {
        id: 'import/header-version-01',
        title: 'BACKUP_IMPORT of a blob whose header version is 01 (version 1), MAC right: 9A06',
        category: 'attacker',
        destructive: false,
        needs: ['fresh-card', 'test-manufacturer'],
      },
      (ctx, e) =>
        importRefused(
          ctx,
          e,
          (p) => p.primary.seal(p.cardId, p.eb, p.plaintext, header(0x01, p.primary.cardId, p.cardId)),
          Sw.WRONG_RECIPIENT,
          TRUSTED,
        ),
    ),
    check(
      {
        id: 'import/other-recipient',
        title: 'BACKUP_IMPORT of a blob whose header names another backup card: 9A06',
        category: 'attacker',
        destructive: false,
        needs: ['fresh-card', 'test-manufacturer'],
      },
      (ctx, e) =>
        importRefused(
          ctx,
          e,
          (p) => p.primary.seal(p.cardId, p.eb, p.plaintext, header(BLOB_VERSION, p.primary.cardId, flip(p.cardId, 7))),
          Sw.WRONG_RECIPIENT,
          TRUSTED,
        ),
    ),
    check(
      {
        id: 'import/other-primary',
        title: "BACKUP_IMPORT of a blob whose header names another primary than the certificate's: 9A06",
        category: 'attacker',
        destructive: false,
        needs: ['fresh-card', 'test-manufacturer'],
      },
      (ctx, e) =>
        importRefused(
          ctx,
          e,
          (p) => p.primary.seal(p.cardId, p.eb, p.plaintext, header(BLOB_VERSION, flip(p.primary.cardId, 7), p.cardId)),
          Sw.WRONG_RECIPIENT,
          TRUSTED,
        ),
    ),
    check(
      {
        id: 'import/stale-eb',
        title: 'BACKUP_IMPORT of a blob sealed to the EB from before BACKUP_CANCEL and a new BACKUP_PREPARE: 9A03, nothing changed',
        category: 'attacker',
        destructive: false,
        needs: ['fresh-card', 'test-manufacturer'],
      },
      async (ctx, e) => {
        const primary = SoftCard.create(needManufacturer(ctx));
        const first = await ctx.reach('BACKUP_PENDING');
        const old = ctx.dut.known.eb!;
        const stale = primary.seal(first.cardId!, old, plaintextBytes(wellFormedPlaintext(randomWallet(SUITE_PIN))));
        e.sw(await ctx.dut.cmd(Ins.BACKUP_CANCEL), Sw.OK);
        ctx.dut.known = {};
        const p = await ctx.dut.cmd(Ins.BACKUP_PREPARE);
        e.sw(p, Sw.OK);
        const offer = parsePrepareAnswer(p.data);
        if (offer !== undefined) ctx.dut.known = { eb: offer.eb };
        e.that(offer !== undefined && !equalBytes(offer.eb, old), 'a new EB after cancel and prepare', 'the old EB again');
        const before = await ctx.dut.snapshot();
        e.sw(await ctx.dut.cmd(Ins.BACKUP_IMPORT, importData(stale)), Sw.SIGNATURE_INVALID);
        await e.unchanged(ctx.dut, before);
      },
    ),
    check(
      {
        id: 'import/seal-other-card',
        title: "BACKUP_IMPORT whose seal signature covers another backup card's id (header and blob for this card): 9A03",
        category: 'attacker',
        destructive: false,
        needs: ['fresh-card', 'test-manufacturer'],
      },
      (ctx, e) =>
        importRefused(
          ctx,
          e,
          (p) => sealed(p, (s) => ({ ...s, signature: p.primary.sign(sealMessage(p.primary.cardId, flip(p.cardId, 0), p.eb, s.ep)) })),
          Sw.SIGNATURE_INVALID,
          TRUSTED,
        ),
    ),
    check(
      {
        id: 'import/seal-other-ep',
        title: 'BACKUP_IMPORT whose seal signature covers another EP: 9A03',
        category: 'attacker',
        destructive: false,
        needs: ['fresh-card', 'test-manufacturer'],
      },
      (ctx, e) =>
        importRefused(
          ctx,
          e,
          (p) =>
            sealed(p, (s) => ({
              ...s,
              signature: p.primary.sign(sealMessage(p.primary.cardId, p.cardId, p.eb, randomKeyPair().publicKey)),
            })),
          Sw.SIGNATURE_INVALID,
          TRUSTED,
        ),
    ),
    check(
      {
        id: 'import/seal-by-another-card',
        title: 'BACKUP_IMPORT whose seal signature is made by another certified card: 9A03',
        category: 'attacker',
        destructive: false,
        needs: ['fresh-card', 'test-manufacturer'],
      },
      (ctx, e) =>
        importRefused(
          ctx,
          e,
          (p) =>
            sealed(p, (s) => ({
              ...s,
              signature: SoftCard.create(needManufacturer(ctx), p.primary.cardId).sign(sealMessage(p.primary.cardId, p.cardId, p.eb, s.ep)),
            })),
          Sw.SIGNATURE_INVALID,
          TRUSTED,
        ),
    ),
    check(
      {
        id: 'import/seal-prepare-purpose',
        title: 'BACKUP_IMPORT whose seal signature has the PREP-B2 prefix over the same bytes (another purpose): 9A03',
        category: 'attacker',
        destructive: false,
        needs: ['fresh-card', 'test-manufacturer'],
      },
      (ctx, e) =>
        importRefused(
          ctx,
          e,
          (p) =>
            sealed(p, (s) => ({
              ...s,
              signature: p.primary.sign(concatBytes(utf8ToBytes(Prefix.PREPARE), p.primary.cardId, p.cardId, p.eb, s.ep)),
            })),
          Sw.SIGNATURE_INVALID,
          TRUSTED,
        ),
    ),
    check(
      {
        id: 'import/tampered-tag',
        title: 'BACKUP_IMPORT with the last tag byte flipped: 9A05, nothing stored',
        category: 'attacker',
        destructive: false,
        needs: ['fresh-card', 'test-manufacturer'],
      },
      (ctx, e) => importRefused(ctx, e, (p) => sealed(p, (s) => ({ ...s, blob: flip(s.blob, -1) })), Sw.MAC_INVALID, TRUSTED),
    ),
    check(
      {
        id: 'import/tampered-ciphertext',
        title: 'BACKUP_IMPORT with a ciphertext byte flipped: 9A05 (MAC before decryption)',
        category: 'attacker',
        destructive: false,
        needs: ['fresh-card', 'test-manufacturer'],
      },
      (ctx, e) => importRefused(ctx, e, (p) => sealed(p, (s) => ({ ...s, blob: flip(s.blob, 17 + 16 + 40) })), Sw.MAC_INVALID, TRUSTED),
    ),
    check(
      {
        id: 'import/tampered-iv',
        title: 'BACKUP_IMPORT with an IV byte flipped: 9A05',
        category: 'attacker',
        destructive: false,
        needs: ['fresh-card', 'test-manufacturer'],
      },
      (ctx, e) => importRefused(ctx, e, (p) => sealed(p, (s) => ({ ...s, blob: flip(s.blob, 17 + 3) })), Sw.MAC_INVALID, TRUSTED),
    ),
    check(
      {
        id: 'import/blob-for-another-eb',
        title: "BACKUP_IMPORT of a blob keyed to another EB, with a seal that is right for this card's EB: 9A05",
        category: 'attacker',
        destructive: false,
        needs: ['fresh-card', 'test-manufacturer'],
      },
      (ctx, e) =>
        importRefused(
          ctx,
          e,
          (p) => {
            const elsewhere = p.primary.seal(p.cardId, randomKeyPair().publicKey, p.plaintext);
            return { ...elsewhere, signature: p.primary.sign(sealMessage(p.primary.cardId, p.cardId, p.eb, elsewhere.ep)) };
          },
          Sw.MAC_INVALID,
          TRUSTED,
        ),
    ),
    ...malformedPlaintexts().map((m) =>
      check(
        {
          id: `import/blob-invalid/${m.name}`,
          title: `BACKUP_IMPORT of an authentic blob with ${m.title}: 9A0A, nothing stored`,
          category: 'import',
          destructive: false,
          needs: ['fresh-card', 'test-manufacturer'],
        },
        (ctx, e) =>
          importRefused(
            ctx,
            e,
            (p) => p.primary.seal(p.cardId, p.eb, plaintextBytes(m.make(wellFormedPlaintext(randomWallet(SUITE_PIN))))),
            Sw.BLOB_INVALID,
            TRUSTED,
          ),
      ),
    ),

    // ----------------------------------------------------------------- the order of BACKUP_IMPORT's checks
    check(
      {
        id: 'order/import/format-before-point',
        title: 'BACKUP_IMPORT with an invalid EP and a trailing byte: 6A80 (format before points)',
        category: 'check-order',
        destructive: false,
        needs: ['fresh-card'],
      },
      (ctx, e) =>
        importRefused(
          ctx,
          e,
          (p) => concatBytes(importData(sealed(p, (s) => ({ ...s, ep: edges[3]!.point }))), Uint8Array.of(0)),
          Sw.WRONG_DATA,
        ),
    ),
    check(
      {
        id: 'order/import/point-before-certificate',
        title: 'BACKUP_IMPORT with an invalid EP from an untrusted primary: 9A04 (points before the certificate)',
        category: 'check-order',
        destructive: false,
        needs: ['fresh-card'],
      },
      (ctx, e) =>
        importRefused(ctx, e, (p) => sealed(p, (s) => ({ ...s, ep: wycheproof[0]?.point ?? edges[0]!.point })), Sw.POINT_INVALID, {
          trusted: false,
        }),
    ),
    check(
      {
        id: 'order/import/certificate-before-same-card',
        title: "BACKUP_IMPORT with the card's own certificate, its signature altered: 9A01 (certificate before same card)",
        category: 'check-order',
        destructive: false,
        needs: ['fresh-card'],
      },
      async (ctx, e) => {
        const before = await ctx.reach('BACKUP_PENDING');
        const s = SoftCard.create(randomKeyPair()).seal(before.cardId!, ctx.dut.known.eb!, new Uint8Array(128));
        e.sw(await ctx.dut.cmd(Ins.BACKUP_IMPORT, importData({ ...s, certificate: flip(before.certificate!, -1) })), Sw.CERT_INVALID);
        await e.unchanged(ctx.dut, before);
      },
    ),
    check(
      {
        id: 'order/import/same-card-before-header',
        title: "BACKUP_IMPORT with the card's own certificate and a header naming another card: 9A09 (same card before the header)",
        category: 'check-order',
        destructive: false,
        needs: ['fresh-card'],
      },
      async (ctx, e) => {
        const before = await ctx.reach('BACKUP_PENDING');
        const s = SoftCard.create(randomKeyPair()).seal(
          before.cardId!,
          ctx.dut.known.eb!,
          new Uint8Array(128),
          header(0x01, randomBytes(8), randomBytes(8)),
        );
        e.sw(await ctx.dut.cmd(Ins.BACKUP_IMPORT, importData({ ...s, certificate: before.certificate! })), Sw.SAME_CARD);
        await e.unchanged(ctx.dut, before);
      },
    ),
    check(
      {
        id: 'order/import/header-before-seal',
        title: 'BACKUP_IMPORT with a header naming another card and a seal that does not verify: 9A06 (header before the seal)',
        category: 'check-order',
        destructive: false,
        needs: ['fresh-card', 'test-manufacturer'],
      },
      (ctx, e) =>
        importRefused(
          ctx,
          e,
          (p) => ({
            ...p.primary.seal(p.cardId, p.eb, p.plaintext, header(BLOB_VERSION, p.primary.cardId, flip(p.cardId, 7))),
            signature: p.primary.sign(randomBytes(8)),
          }),
          Sw.WRONG_RECIPIENT,
          TRUSTED,
        ),
    ),
    check(
      {
        id: 'order/import/seal-before-mac',
        title: 'BACKUP_IMPORT with a seal over a stale EB and a flipped tag: 9A03 (the seal before the MAC)',
        category: 'check-order',
        destructive: false,
        needs: ['fresh-card', 'test-manufacturer'],
      },
      (ctx, e) =>
        importRefused(
          ctx,
          e,
          (p) => {
            const s = p.primary.seal(p.cardId, randomKeyPair().publicKey, p.plaintext);
            return { ...s, blob: flip(s.blob, -1) };
          },
          Sw.SIGNATURE_INVALID,
          TRUSTED,
        ),
    ),
    check(
      {
        id: 'order/import/mac-before-plaintext',
        title: 'BACKUP_IMPORT with d = 0 inside and a flipped tag: 9A05 (the MAC before the plaintext)',
        category: 'check-order',
        destructive: false,
        needs: ['fresh-card', 'test-manufacturer'],
      },
      (ctx, e) =>
        importRefused(
          ctx,
          e,
          (p) => {
            const bad = p.plaintext.slice();
            bad.fill(0, 0, 32);
            const s = p.primary.seal(p.cardId, p.eb, bad);
            return { ...s, blob: flip(s.blob, -1) };
          },
          Sw.MAC_INVALID,
          TRUSTED,
        ),
    ),
    ...[...wycheproof, ...edges].map(({ name, point }) =>
      check(
        {
          id: `invalid-point/import-ep/${name}`,
          title: `BACKUP_IMPORT with EP = ${name}, sealed by a certified primary: 9A04`,
          category: 'invalid-point',
          destructive: false,
          needs: ['fresh-card'],
        },
        (ctx, e) =>
          importRefused(
            ctx,
            e,
            (p) => sealed(p, (s) => ({ ...s, ep: point, signature: p.primary.sign(sealMessage(p.primary.cardId, p.cardId, p.eb, point)) })),
            Sw.POINT_INVALID,
          ),
      ),
    ),

    // ----------------------------------------------------------------- the import, its repeat, a second blob
    check(
      {
        id: 'import/answer',
        title:
          'BACKUP_IMPORT of a good export: 05 41 <wallet key> 17 01 00; BACKED_UP, origin 02, ' +
          "PRIMARY_ID the primary's; the card signs with the primary's wallet key and access code",
        category: 'import',
        destructive: true,
        needs: ['fresh-card', 'test-manufacturer'],
      },
      async (ctx, e) => {
        const primary = SoftCard.create(needManufacturer(ctx));
        const before = await ctx.reach('BACKUP_PENDING');
        const wallet = randomWallet(SUITE_PIN);
        const s = primary.seal(before.cardId!, ctx.dut.known.eb!, plaintextBytes(wellFormedPlaintext(wallet)));
        const r = await ctx.dut.cmd(Ins.BACKUP_IMPORT, importData(s));
        if (!e.sw(r, Sw.OK)) return;
        ctx.dut.known = { pin: SUITE_PIN, imported: { primary, wallet, sealed: s } };
        const want = `0541${toHex(wallet.publicKey)}170100`;
        e.that(toHex(r.data) === want, 'answer 05 41 <wallet key> 17 01 00', `answer ${toHex(r.data).slice(0, 24)}...`);
        const after = await ctx.dut.snapshot();
        e.that(
          after.state === 'BACKED_UP' && after.walletOrigin === 'imported',
          'BACKED_UP, origin imported',
          `${after.state}, origin ${after.walletOrigin ?? 'none'}`,
        );
        e.that(
          after.primaryId !== undefined && equalBytes(after.primaryId, primary.cardId),
          'PRIMARY_ID = the primary',
          'another PRIMARY_ID',
        );
        e.that(
          after.pinTriesLeft === 5 && after.backupCount === 0,
          '5 tries, backup count 0',
          `${after.pinTriesLeft} tries, count ${after.backupCount}`,
        );
        await ctx.dut.verify();
        const digest = randomBytes(32);
        const sig = await ctx.dut.cmd(Ins.SIGN, digest);
        e.sw(sig, Sw.OK);
        const der = sig.data.subarray(2, 2 + (sig.data[1] ?? 0));
        e.that(
          checkWalletSignature(der, digest, wallet.publicKey) !== undefined,
          "SIGN verifies under the primary's wallet key",
          'SIGN does not verify under the imported key',
        );
      },
    ),
    check(
      {
        id: 'import/retry',
        title: 'BACKUP_IMPORT of the same export again: 05 41 <wallet key> 17 01 01, nothing changed',
        category: 'import',
        destructive: false,
        needs: ['fresh-card', 'test-manufacturer'],
      },
      async (ctx, e) => {
        const before = await ctx.reach('BACKED_UP_BACKUP');
        const imported = ctx.dut.known.imported!;
        const r = await ctx.dut.cmd(Ins.BACKUP_IMPORT, importData(imported.sealed));
        e.sw(r, Sw.OK);
        e.that(
          toHex(r.data) === `0541${toHex(imported.wallet.publicKey)}170101`,
          'answer 05 41 <wallet key> 17 01 01',
          `answer ${toHex(r.data).slice(-8)} (${r.data.length} bytes)`,
        );
        await e.unchanged(ctx.dut, before);
      },
    ),
    check(
      {
        id: 'import/second-blob',
        title:
          'BACKUP_IMPORT of another authentic export (same primary and wallet, a new EP) into a card that imported: 6985, nothing changed',
        category: 'attacker',
        destructive: false,
        needs: ['fresh-card', 'test-manufacturer'],
      },
      async (ctx, e) => {
        const before = await ctx.reach('BACKED_UP_BACKUP');
        const { primary, wallet } = ctx.dut.known.imported!;
        // Sealed to a fresh key: the card's eB is gone, so no export can be sealed to it any more.
        const s = primary.seal(before.cardId!, randomKeyPair().publicKey, plaintextBytes(wellFormedPlaintext(wallet)));
        e.sw(await ctx.dut.cmd(Ins.BACKUP_IMPORT, importData(s)), Sw.CONDITIONS_NOT_SATISFIED);
        await e.unchanged(ctx.dut, before);
      },
    ),
    check(
      {
        id: 'invariant/i5-no-export',
        title: 'I5: a card that imported, code verified: BACKUP_EXPORT to a certified card and BACKUP_FINALIZE are 6985, nothing changed',
        category: 'invariant',
        destructive: false,
        needs: ['fresh-card', 'test-manufacturer'],
      },
      async (ctx, e) => {
        const before = await ctx.reach('BACKED_UP_BACKUP');
        const b = SoftCard.create(needManufacturer(ctx));
        await ctx.dut.verify();
        e.sw(await ctx.dut.cmd(Ins.BACKUP_EXPORT, exportData(b.prepare(randomKeyPair().publicKey))), Sw.CONDITIONS_NOT_SATISFIED);
        e.sw(await ctx.dut.cmd(Ins.BACKUP_FINALIZE), Sw.CONDITIONS_NOT_SATISFIED);
        await e.unchanged(ctx.dut, before);
      },
    ),
  ];
  return checks;
}

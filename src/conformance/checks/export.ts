/**
 * The card as the primary (section 6, BACKUP_EXPORT and BACKUP_FINALIZE) with the host as an active
 * attacker: untrusted, tampered and own certificates, prepare signatures over another EB, another id or made
 * for another purpose, invalid EB points (Wycheproof), a third card; the check order when a command has two
 * faults; the happy path opened by a software backup card (KDF, MAC, layout, the wallet key READ shows, the
 * seal signature); and invariant I2: once a blob has left, READ names its card and no command lowers that.
 * @module
 */
import { concatBytes, randomBytes, utf8ToBytes } from '@noble/hashes/utils.js';
import { toHex } from '../../apdu/index.js';
import { equalBytes } from '../../protocol/crypto.js';
import { exportData, identityKey, importData, parseExportAnswer, sameIds, SUITE_PIN, verifies, type SoftBackup } from '../harness.js';
import { openBlob, randomKeyPair, SoftCard } from '../soft-card.js';
import { Ins, parseCertificate, Prefix, prepareMessage, sealMessage, Sw, type ReadInfo } from '../wire.js';
import type { InvalidPoint } from '../wycheproof.js';
import { edgePoints } from './points.js';
import {
  check,
  exportRefused,
  flip,
  needManufacturer,
  refusalCheck,
  somePeer,
  swHex,
  verifyFirst,
  type Check,
  type CheckContext,
  type Expect,
} from './common.js';

/** A new certified software backup card with its ephemeral pair. */
/** BACKUP_FINALIZE as a correct host sends it (wrapped, Le 256). */
const FINALIZE = { ins: Ins.BACKUP_FINALIZE, ne: 256 } as const;

function newBackup(ctx: CheckContext): SoftBackup {
  return { card: SoftCard.create(needManufacturer(ctx)), eb: randomKeyPair() };
}

/** BACKUP_EXPORT to a software backup card (access code verified in this selection). */
async function exportTo(ctx: CheckContext, b: SoftBackup) {
  return ctx.dut.cmd(Ins.BACKUP_EXPORT, exportData(b.card.prepare(b.eb.publicKey)));
}

/**
 * Checks an export answer as the backup card would: the seal signature over P.id ‖ B.id ‖ EB ‖ EP under the
 * card's certified key, and the blob opening with eB to the wallet key READ shows and the suite's access code.
 * @returns EP, or undefined when something failed (recorded in `e`).
 */
function checkExport(e: Expect, data: Uint8Array, info: ReadInfo, b: SoftBackup, label: string): Uint8Array | undefined {
  const x = parseExportAnswer(data);
  if (
    !e.that(
      x !== undefined,
      `${label}: answer 11 41 EP 12 LL seal 15 81 C1 blob`,
      `${label}: answer of ${data.length} bytes not in that form`,
    ) ||
    x === undefined
  )
    return undefined;
  e.that(
    verifies(x.signature, sealMessage(info.cardId!, b.card.cardId, b.eb.publicKey, x.ep), identityKey(info)),
    `${label}: the seal signature verifies over P.id || B.id || EB || EP`,
    `${label}: the seal signature does not verify`,
  );
  try {
    const w = openBlob(x.blob, b.eb, { primaryId: info.cardId!, backupId: b.card.cardId, ep: x.ep, eb: b.eb.publicKey });
    e.that(
      equalBytes(w.publicKey, info.walletPublicKey!),
      `${label}: the blob carries the wallet key READ shows`,
      `${label}: the blob carries another wallet key`,
    );
    e.that(equalBytes(w.pin, SUITE_PIN), `${label}: the blob carries the access code`, `${label}: the blob carries another access code`);
    w.privateKey.fill(0);
  } catch (error) {
    e.that(false, `${label}: the blob opens with eB`, `${label}: ${(error as Error).message}`);
  }
  return x.ep;
}

/** READ names exactly these backup cards, in this order. */
function expectRecord(e: Expect, info: ReadInfo, backups: readonly SoftBackup[], label = 'READ'): void {
  const want = backups.map((b) => b.card.cardId);
  e.that(
    info.backupCount === want.length && sameIds(info.backupCardIds, want),
    `${label}: BACKUP_COUNT ${want.length}, BACKUP_CARD_IDS ${want.map((x) => toHex(x)).join(' ') || 'absent'}`,
    `${label}: BACKUP_COUNT ${info.backupCount}, BACKUP_CARD_IDS ${info.backupCardIds.map((x) => toHex(x)).join(' ') || 'absent'}`,
  );
}

/** A BACKUP_EXPORTING card with two backup cards recorded (the second exported here when needed). */
async function fullPrimary(ctx: CheckContext): Promise<ReadInfo> {
  let info = await ctx.reach('BACKUP_EXPORTING');
  const known = ctx.dut.known.exportedTo!;
  if (info.backupCount < 2) {
    const b = newBackup(ctx);
    await ctx.dut.verify();
    const r = await exportTo(ctx, b);
    if (r.sw !== Sw.OK) throw new Error(`set-up: BACKUP_EXPORT to a second card answered ${swHex(r.sw)}`);
    known.push(b);
    info = await ctx.dut.snapshot();
  }
  ctx.dut.recorder.clear();
  return info;
}

/** A prepare offer with these fields, from a certified software backup card. */
function offerData(certificate: Uint8Array, eb: Uint8Array, signature: Uint8Array): Uint8Array {
  return exportData({ certificate, eb, signature });
}

function signatureChecks(): Check[] {
  const cases: ReadonlyArray<{ id: string; title: string; make: (ctx: CheckContext) => Uint8Array }> = [
    {
      id: 'prepare-other-eb',
      title: 'a prepare signature over another EB',
      make: (ctx) => {
        const b = SoftCard.create(needManufacturer(ctx));
        return offerData(b.certificate, randomKeyPair().publicKey, b.prepare(randomKeyPair().publicKey).signature);
      },
    },
    {
      id: 'prepare-other-id',
      title: "a prepare signature over another card's id (the same EB)",
      make: (ctx) => {
        const b = SoftCard.create(needManufacturer(ctx));
        const eb = randomKeyPair().publicKey;
        return offerData(b.certificate, eb, b.sign(prepareMessage(randomBytes(8), eb)));
      },
    },
    {
      id: 'prepare-seal-purpose',
      title: 'the same bytes signed with the SEAL-P2 prefix (another purpose)',
      make: (ctx) => {
        const b = SoftCard.create(needManufacturer(ctx));
        const eb = randomKeyPair().publicKey;
        return offerData(b.certificate, eb, b.sign(concatBytes(utf8ToBytes(Prefix.SEAL), b.cardId, eb)));
      },
    },
    {
      id: 'prepare-attest-purpose',
      title: "the backup card's ATTEST signature over EB's first 32 bytes",
      make: (ctx) => {
        const b = SoftCard.create(needManufacturer(ctx));
        const eb = randomKeyPair().publicKey;
        return offerData(b.certificate, eb, b.attestSignature(eb.subarray(0, 32)));
      },
    },
    {
      id: 'prepare-certificate-signature',
      title: "the manufacturer's certificate signature as the prepare signature",
      make: (ctx) => {
        const b = SoftCard.create(needManufacturer(ctx));
        return offerData(b.certificate, randomKeyPair().publicKey, parseCertificate(b.certificate).signature);
      },
    },
    {
      id: 'prepare-by-another-card',
      title: 'a prepare signature made by another certified card',
      make: (ctx) => {
        const m = needManufacturer(ctx);
        const b = SoftCard.create(m);
        const eb = randomKeyPair().publicKey;
        const other = SoftCard.create(m, b.cardId);
        return offerData(b.certificate, eb, other.prepare(eb).signature);
      },
    },
  ];
  return cases.map((c) =>
    check(
      {
        id: `export/${c.id}`,
        title: `BACKUP_EXPORT with ${c.title}: 9A03, nothing changed`,
        category: 'attacker',
        destructive: false,
        needs: ['fresh-card', 'test-manufacturer'],
      },
      (ctx, e) => exportRefused(ctx, e, c.make(ctx), Sw.SIGNATURE_INVALID),
    ),
  );
}

export function exportChecks(invalidPoints: readonly InvalidPoint[]): Check[] {
  const wycheproof = invalidPoints.map((p) => ({ name: `wycheproof-${p.tcId}`, point: p.point }));
  const edges = edgePoints();
  const certPoints = [...edges.slice(0, 2), ...wycheproof.filter((_, i) => i % 6 === 0)];
  return [
    check(
      {
        id: 'export/without-pin',
        title: 'BACKUP_EXPORT to a certified backup card without VERIFY_PIN: 6982, still WALLET',
        category: 'access-code',
        destructive: false,
        needs: ['fresh-card'],
      },
      async (ctx, e) => {
        const before = await ctx.reach('WALLET');
        e.sw(await ctx.dut.cmd(Ins.BACKUP_EXPORT, exportData(somePeer(ctx).prepare(randomKeyPair().publicKey))), Sw.PIN_NOT_VERIFIED);
        await e.unchanged(ctx.dut, before);
      },
    ),
    check(
      {
        id: 'export/untrusted-certificate',
        title: 'BACKUP_EXPORT with a certificate signed by another manufacturer: 9A01, nothing changed',
        category: 'attacker',
        destructive: false,
        needs: ['fresh-card'],
      },
      (ctx, e) => exportRefused(ctx, e, exportData(SoftCard.create(randomKeyPair()).prepare(randomKeyPair().publicKey)), Sw.CERT_INVALID),
    ),
    check(
      {
        id: 'export/tampered-certificate',
        title: 'BACKUP_EXPORT with a certified backup card whose certificate card id was changed: 9A01',
        category: 'attacker',
        destructive: false,
        needs: ['fresh-card', 'test-manufacturer'],
      },
      (ctx, e) => {
        const o = SoftCard.create(needManufacturer(ctx)).prepare(randomKeyPair().publicKey);
        return exportRefused(ctx, e, exportData({ ...o, certificate: flip(o.certificate, 12) }), Sw.CERT_INVALID);
      },
    ),
    check(
      {
        id: 'export/same-card',
        title: "BACKUP_EXPORT with the card's own certificate (and a signature that does not verify: 9A09 comes first): 9A09",
        category: 'attacker',
        destructive: false,
        needs: ['fresh-card'],
      },
      async (ctx, e) => {
        const before = await ctx.reach('WALLET');
        await ctx.dut.verify();
        const data = offerData(before.certificate!, randomKeyPair().publicKey, SoftCard.create(randomKeyPair()).sign(randomBytes(8)));
        e.sw(await ctx.dut.cmd(Ins.BACKUP_EXPORT, data), Sw.SAME_CARD);
        await e.unchanged(ctx.dut, before);
      },
    ),
    ...signatureChecks(),

    // ----------------------------------------------------------------- the order of BACKUP_EXPORT's checks
    check(
      {
        id: 'order/export/pin-before-format',
        title: 'BACKUP_EXPORT with a trailing byte and no VERIFY_PIN: 6982 (access code before data)',
        category: 'check-order',
        destructive: false,
        needs: ['fresh-card'],
      },
      async (ctx, e) => {
        const before = await ctx.reach('WALLET');
        e.sw(
          await ctx.dut.cmd(Ins.BACKUP_EXPORT, concatBytes(exportData(somePeer(ctx).prepare(randomKeyPair().publicKey)), Uint8Array.of(0))),
          Sw.PIN_NOT_VERIFIED,
        );
        await e.unchanged(ctx.dut, before);
      },
    ),
    check(
      {
        id: 'order/export/format-before-point',
        title: 'BACKUP_EXPORT with an invalid EB and a trailing byte: 6A80 (format before points)',
        category: 'check-order',
        destructive: false,
        needs: ['fresh-card'],
      },
      (ctx, e) => exportRefused(ctx, e, concatBytes(exportData(somePeer(ctx).prepare(edges[3]!.point)), Uint8Array.of(0)), Sw.WRONG_DATA),
    ),
    check(
      {
        id: 'order/export/point-before-certificate',
        title: 'BACKUP_EXPORT with an invalid EB from an untrusted card: 9A04 (points before the certificate)',
        category: 'check-order',
        destructive: false,
        needs: ['fresh-card'],
      },
      (ctx, e) =>
        exportRefused(
          ctx,
          e,
          exportData(SoftCard.create(randomKeyPair()).prepare(wycheproof[0]?.point ?? edges[0]!.point)),
          Sw.POINT_INVALID,
        ),
    ),
    check(
      {
        id: 'order/export/certificate-before-same-card',
        title: "BACKUP_EXPORT with the card's own certificate, its signature altered: 9A01 (certificate before same card)",
        category: 'check-order',
        destructive: false,
        needs: ['fresh-card'],
      },
      async (ctx, e) => {
        const before = await ctx.reach('WALLET');
        await ctx.dut.verify();
        const data = offerData(
          flip(before.certificate!, -1),
          randomKeyPair().publicKey,
          SoftCard.create(randomKeyPair()).sign(randomBytes(8)),
        );
        e.sw(await ctx.dut.cmd(Ins.BACKUP_EXPORT, data), Sw.CERT_INVALID);
        await e.unchanged(ctx.dut, before);
      },
    ),
    check(
      {
        id: 'order/export/signature-before-count',
        title: 'BACKUP_EXPORT to a third card with a bad prepare signature, two recorded: 9A03 (signature before the count)',
        category: 'check-order',
        destructive: false,
        needs: ['fresh-card', 'test-manufacturer'],
      },
      async (ctx, e) => {
        const before = await fullPrimary(ctx);
        const b = newBackup(ctx);
        await ctx.dut.verify();
        e.sw(
          await ctx.dut.cmd(
            Ins.BACKUP_EXPORT,
            offerData(b.card.certificate, b.eb.publicKey, b.card.prepare(randomKeyPair().publicKey).signature),
          ),
          Sw.SIGNATURE_INVALID,
        );
        await e.unchanged(ctx.dut, before);
      },
    ),
    check(
      {
        id: 'order/export/point-before-count',
        title: 'BACKUP_EXPORT to a third card with an invalid EB, two recorded: 9A04 (points before the count)',
        category: 'check-order',
        destructive: false,
        needs: ['fresh-card', 'test-manufacturer'],
      },
      async (ctx, e) => {
        const before = await fullPrimary(ctx);
        await ctx.dut.verify();
        e.sw(await ctx.dut.cmd(Ins.BACKUP_EXPORT, exportData(newBackup(ctx).card.prepare(edges[2]!.point))), Sw.POINT_INVALID);
        await e.unchanged(ctx.dut, before);
      },
    ),

    // ----------------------------------------------------------------- invalid points
    ...[...wycheproof, ...edges].map(({ name, point }) =>
      check(
        {
          id: `invalid-point/export-eb/${name}`,
          title: `BACKUP_EXPORT with EB = ${name}, signed by a certified backup card: 9A04`,
          category: 'invalid-point',
          destructive: false,
          needs: ['fresh-card'],
        },
        (ctx, e) => exportRefused(ctx, e, exportData(somePeer(ctx).prepare(point)), Sw.POINT_INVALID),
      ),
    ),
    ...certPoints.map(({ name, point }) =>
      check(
        {
          id: `invalid-point/certificate-key/${name}`,
          title:
            `BACKUP_EXPORT with a certificate (signed by the manufacturer) whose identity key is ` +
            `${name}: 9A03 (certified keys are not curve-checked; the prepare signature cannot verify)`,
          category: 'invalid-point',
          destructive: false,
          needs: ['fresh-card', 'test-manufacturer'],
        },
        (ctx, e) => {
          const m = needManufacturer(ctx);
          const id = randomBytes(8);
          // Section 1 and BACKUP_EXPORT's order: EB valid, the certificate verifies, not the card's own id, then
          // the prepare signature under the certified identity key, which no signature verifies under an
          // invalid point: 9A03, never a point check (9A04) and never a success.
          const eb = randomKeyPair().publicKey;
          return exportRefused(
            ctx,
            e,
            offerData(SoftCard.certificateFor(id, point, m), eb, SoftCard.create(m).sign(prepareMessage(id, eb))),
            Sw.SIGNATURE_INVALID,
          );
        },
      ),
    ),

    // ----------------------------------------------------------------- exports that go through
    check(
      {
        id: 'export/answer',
        title:
          'BACKUP_EXPORT to a certified backup card: EP, a seal signature over P.id || B.id || EB || EP, a blob ' +
          'the backup card opens with the wallet key READ shows; WALLET -> BACKUP_EXPORTING naming the card',
        category: 'export',
        destructive: true,
        needs: ['fresh-card', 'test-manufacturer'],
      },
      async (ctx, e) => {
        const before = await ctx.reach('WALLET');
        const b = newBackup(ctx);
        await ctx.dut.verify();
        const r = await exportTo(ctx, b);
        if (!e.sw(r, Sw.OK)) return;
        ctx.dut.known.exportedTo = [b];
        checkExport(e, r.data, before, b, 'export');
        const after = await ctx.dut.snapshot();
        e.that(after.state === 'BACKUP_EXPORTING', 'state BACKUP_EXPORTING', `state ${after.state}`);
        expectRecord(e, after, [b]);
        e.that(
          equalBytes(after.walletPublicKey!, before.walletPublicKey!) && after.walletOrigin === 'created',
          'the same wallet, origin created',
          'the wallet changed',
        );
      },
    ),
    check(
      {
        id: 'export/to-recorded-card',
        title:
          'BACKUP_EXPORT twice more to the recorded card: each a new EP and a blob that opens to the same wallet; count and ids unchanged',
        category: 'export',
        destructive: false,
        needs: ['fresh-card', 'test-manufacturer'],
      },
      async (ctx, e) => {
        const before = await ctx.reach('BACKUP_EXPORTING', { fresh: true });
        const b = ctx.dut.known.exportedTo![0]!;
        await ctx.dut.verify();
        const eps: Uint8Array[] = [];
        for (const label of ['again', 'and again']) {
          const r = await exportTo(ctx, b);
          if (!e.sw(r, Sw.OK)) return;
          const ep = checkExport(e, r.data, before, b, label);
          if (ep !== undefined) eps.push(ep);
        }
        e.that(eps.length === 2 && !equalBytes(eps[0]!, eps[1]!), 'a new EP each export', 'the same EP twice');
        await e.unchanged(ctx.dut, before);
      },
    ),
    check(
      {
        id: 'export/second-card',
        title: 'BACKUP_EXPORT to a second backup card: a blob that opens; count 2, ids in the order exported to',
        category: 'export',
        destructive: true,
        needs: ['fresh-card', 'test-manufacturer'],
      },
      async (ctx, e) => {
        const before = await ctx.reach('BACKUP_EXPORTING', { fresh: true });
        const known = ctx.dut.known.exportedTo!;
        const b = newBackup(ctx);
        await ctx.dut.verify();
        const r = await exportTo(ctx, b);
        if (!e.sw(r, Sw.OK)) return;
        known.push(b);
        checkExport(e, r.data, before, b, 'second card');
        expectRecord(e, await ctx.dut.snapshot(), known);
      },
    ),
    check(
      {
        id: 'export/third-card',
        title: 'BACKUP_EXPORT to a third certified backup card, two recorded: 9A08, nothing changed',
        category: 'attacker',
        destructive: false,
        needs: ['fresh-card', 'test-manufacturer'],
      },
      async (ctx, e) => {
        const before = await fullPrimary(ctx);
        await ctx.dut.verify();
        e.sw(await exportTo(ctx, newBackup(ctx)), Sw.TOO_MANY_BACKUPS);
        await e.unchanged(ctx.dut, before);
      },
    ),
    check(
      {
        id: 'export/recorded-card-when-full',
        title: 'BACKUP_EXPORT to the first recorded card, two recorded: 9000, a blob that opens, count and ids unchanged',
        category: 'export',
        destructive: false,
        needs: ['fresh-card', 'test-manufacturer'],
      },
      async (ctx, e) => {
        const before = await fullPrimary(ctx);
        const b = ctx.dut.known.exportedTo![0]!;
        await ctx.dut.verify();
        const r = await exportTo(ctx, b);
        if (e.sw(r, Sw.OK)) checkExport(e, r.data, before, b, 'recorded card');
        await e.unchanged(ctx.dut, before);
      },
    ),

    // ----------------------------------------------------------------- I2: nothing lowers the record
    check(
      {
        id: 'invariant/i2-exporting',
        title:
          'I2 on a primary a blob has left: CANCEL, PREPARE, IMPORT, CREATE_WALLET, PERSO_GENERATE and BACKUP_ABORT ' +
          '(5E) with the code verified are refused; re-export keeps the count; READ names the cards after every step',
        category: 'invariant',
        destructive: false,
        needs: ['fresh-card', 'test-manufacturer'],
      },
      async (ctx, e) => {
        const before = await ctx.reach('BACKUP_EXPORTING');
        await i2Sequence(ctx, e, before);
        await e.unchanged(ctx.dut, before);
      },
    ),

    // ----------------------------------------------------------------- BACKUP_FINALIZE
    refusalCheck(
      {
        id: 'finalize/in-wallet',
        title: 'BACKUP_FINALIZE in WALLET with the code verified (no blob has left): 6985, nothing changed',
        category: 'finalize',
        destructive: false,
        needs: ['fresh-card'],
      },
      { from: 'WALLET', setUp: verifyFirst, sends: () => [FINALIZE], want: Sw.CONDITIONS_NOT_SATISFIED },
    ),
    refusalCheck(
      {
        id: 'finalize/without-pin',
        title: 'BACKUP_FINALIZE in BACKUP_EXPORTING without VERIFY_PIN: 6982, nothing changed',
        category: 'access-code',
        destructive: false,
        needs: ['fresh-card', 'test-manufacturer'],
      },
      { from: 'BACKUP_EXPORTING', sends: () => [FINALIZE], want: Sw.PIN_NOT_VERIFIED },
    ),
    check(
      {
        id: 'finalize/answer',
        title: 'BACKUP_FINALIZE: 08 01 <count>; BACKUP_EXPORTING -> BACKED_UP, origin 01, the same count and ids',
        category: 'finalize',
        destructive: true,
        needs: ['fresh-card', 'test-manufacturer'],
      },
      async (ctx, e) => {
        const before = await ctx.reach('BACKUP_EXPORTING');
        await ctx.dut.verify();
        const r = await ctx.dut.cmd(Ins.BACKUP_FINALIZE);
        if (!e.sw(r, Sw.OK)) return;
        e.that(toHex(r.data) === `08010${before.backupCount}`, `answer 08 01 0${before.backupCount}`, `answer ${toHex(r.data)}`);
        const after = await ctx.dut.snapshot();
        e.that(
          after.state === 'BACKED_UP' && after.walletOrigin === 'created',
          'BACKED_UP, origin created',
          `${after.state}, origin ${after.walletOrigin ?? 'none'}`,
        );
        expectRecord(e, after, ctx.dut.known.exportedTo!);
      },
    ),
    check(
      {
        id: 'finalize/retry',
        title: 'BACKUP_FINALIZE again on a finalized primary: 9000, the same count, nothing changed',
        category: 'finalize',
        destructive: false,
        needs: ['fresh-card', 'test-manufacturer'],
      },
      async (ctx, e) => {
        const before = await ctx.reach('BACKED_UP_PRIMARY');
        await ctx.dut.verify();
        const r = await ctx.dut.cmd(Ins.BACKUP_FINALIZE);
        e.sw(r, Sw.OK);
        e.that(toHex(r.data) === `08010${before.backupCount}`, `answer 08 01 0${before.backupCount}`, `answer ${toHex(r.data)}`);
        await e.unchanged(ctx.dut, before);
      },
    ),
    check(
      {
        id: 'finalize/export-after',
        title: 'BACKUP_EXPORT after BACKUP_FINALIZE, code verified, to the recorded card and to a new one: 6985 each, nothing changed',
        category: 'attacker',
        destructive: false,
        needs: ['fresh-card', 'test-manufacturer'],
      },
      async (ctx, e) => {
        const before = await ctx.reach('BACKED_UP_PRIMARY');
        await ctx.dut.verify();
        e.sw(await exportTo(ctx, ctx.dut.known.exportedTo![0]!), Sw.CONDITIONS_NOT_SATISFIED);
        e.sw(await exportTo(ctx, newBackup(ctx)), Sw.CONDITIONS_NOT_SATISFIED);
        await e.unchanged(ctx.dut, before);
      },
    ),
    check(
      {
        id: 'invariant/i2-backed-up',
        title:
          'I2 and I4 on a finalized primary: CANCEL, PREPARE, IMPORT, CREATE_WALLET, PERSO_GENERATE, BACKUP_ABORT (5E) and ' +
          'EXPORT with the code verified are refused; FINALIZE again keeps the count; READ names the cards after every step',
        category: 'invariant',
        destructive: false,
        needs: ['fresh-card', 'test-manufacturer'],
      },
      async (ctx, e) => {
        const before = await ctx.reach('BACKED_UP_PRIMARY');
        await i2Sequence(ctx, e, before);
        await e.unchanged(ctx.dut, before);
      },
    ),
  ];
}

/**
 * Every command a host could try to lower a primary's record with, the code verified before each: refused
 * (or, for a re-export or re-finalize, the same count); READ after each step still names every recorded card.
 */
async function i2Sequence(ctx: CheckContext, e: Expect, before: ReadInfo): Promise<void> {
  const recorded = ctx.dut.known.exportedTo!;
  const m = needManufacturer(ctx);
  const exporting = before.state === 'BACKUP_EXPORTING';
  const steps: ReadonlyArray<readonly [string, () => Promise<{ sw: number }>, readonly number[]]> = [
    ['BACKUP_CANCEL', () => ctx.dut.cmd(Ins.BACKUP_CANCEL), [Sw.CONDITIONS_NOT_SATISFIED]],
    ['BACKUP_PREPARE', () => ctx.dut.cmd(Ins.BACKUP_PREPARE), [Sw.CONDITIONS_NOT_SATISFIED]],
    [
      'BACKUP_IMPORT',
      () =>
        ctx.dut.cmd(Ins.BACKUP_IMPORT, importData(SoftCard.create(m).seal(before.cardId!, randomKeyPair().publicKey, new Uint8Array(128)))),
      [Sw.CONDITIONS_NOT_SATISFIED],
    ],
    ['CREATE_WALLET', () => ctx.dut.cmd(Ins.CREATE_WALLET, SUITE_PIN), [Sw.CONDITIONS_NOT_SATISFIED]],
    ['PERSO_GENERATE', () => ctx.dut.cmd(Ins.PERSO_GENERATE, randomBytes(8)), [Sw.CONDITIONS_NOT_SATISFIED]],
    ['v1 BACKUP_ABORT (5E)', () => ctx.dut.cmd(0x5e), [Sw.INS_NOT_SUPPORTED]],
    ['BACKUP_EXPORT to a recorded card', () => exportTo(ctx, recorded[0]!), exporting ? [Sw.OK] : [Sw.CONDITIONS_NOT_SATISFIED]],
    // On a finalized primary FINALIZE again is a retried step (same count); before it, it would be the step forward.
    ...(exporting ? [] : [['BACKUP_FINALIZE', () => ctx.dut.cmd(Ins.BACKUP_FINALIZE), [Sw.OK]] as const]),
  ];
  for (const [name, send, want] of steps) {
    await ctx.dut.verify();
    const r = await send();
    e.that(want.includes(r.sw), `${name}: SW ${want.map(swHex).join(' or ')}`, `${name}: SW ${swHex(r.sw)}`);
    const now = await ctx.dut.snapshot();
    e.that(
      now.state === before.state &&
        now.backupCount === before.backupCount &&
        sameIds(
          now.backupCardIds,
          recorded.map((b) => b.card.cardId),
        ),
      `after ${name}: ${before.state}, count ${before.backupCount}, the same ids`,
      `after ${name}: ${now.state}, count ${now.backupCount}, ${now.backupCardIds.length} ids`,
    );
  }
}

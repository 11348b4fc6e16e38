/**
 * The v2 backup through the real stack (pcsclite -> pcscd -> vpcd -> jCardSim running the reference applet):
 * backup cards first, the primary once, then the imports (2N + 1 steps). A wallet created on card 0 ends up
 * on cards 1 (and 2), all sign one digest under one key, and the primary's record names exactly them. Then
 * a person tapping cards on what behaves like one reader, presenting every kind of wrong card on the way;
 * a counterfeit card; and a host that exports to a card of its own behind the journal's back.
 */
import { jest } from '@jest/globals';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { toHex, type ApduTransport } from '../../src/apdu/index.js';
import { runBackup, type BackupEvent } from '../../src/flow/backup-runner.js';
import { NoMatchingCardError, PcscCardSource, type CardRequest } from '../../src/flow/card-source.js';
import { loadJournal } from '../../src/flow/journal.js';
import { BackupCardError } from '../../src/protocol/backup.js';
import { newJournal, nextStep } from '../../src/protocol/backup-model.js';
import { TwincardCard, type CardInfo } from '../../src/protocol/card.js';
import { parseCertificate } from '../../src/protocol/certificate.js';
import { personalize } from '../../src/protocol/factory.js';
import { keyPairFromPem } from '../../src/protocol/keys.js';
import { trustedRoots } from '../../src/protocol/roots.js';
import { PcscService } from '../../src/readers/index.js';
import {
  cardIdFor,
  expectBackedUp,
  freshCards,
  HookedTransport,
  insertCard,
  PIN,
  pullCard,
  readCard,
  ScriptedSource,
  withCard,
  openSessionOn,
} from './support/backup-cards.js';
import { cardOffset, readerForCard, repoRoot } from './support/sim.js';

const OTHER_ROOT = {
  public: join(repoRoot, 'fixtures', 'test-manufacturer', 'other-public-key.pem'),
  private: join(repoRoot, 'fixtures', 'test-manufacturer', 'other-private-key.pem'),
  test: join(repoRoot, 'fixtures', 'test-manufacturer', 'public-key.pem'),
};

/** `sim.sh root K PEM`: card k wiped and installed again with that root (protocol.md 6, Installation). */
function simRootOf(k: number, pem: string): void {
  execFileSync(join(repoRoot, 'scripts', 'sim.sh'), ['root', String(k + cardOffset), pem, '--force'], { encoding: 'utf8' });
}

jest.setTimeout(60_000);

const roots = trustedRoots({ trustTestRoot: true });
let service: PcscService;
let dir: string;

beforeAll(async () => {
  service = PcscService.open();
  await service.waitForReaders({ timeoutMs: 5000 });
  dir = await mkdtemp(join(tmpdir(), 'twincard-backup-'));
});

afterAll(async () => {
  service.close();
  await rm(dir, { recursive: true, force: true });
});

/** READ, as comparable text. */
const snapshot = (info: CardInfo): string => JSON.stringify(info, (_k, v: unknown) => (v instanceof Uint8Array ? toHex(v) : v));

test.each([
  [1, ['prepare-backup-1', 'export-primary', 'import-1']],
  [2, ['prepare-backup-1', 'prepare-backup-2', 'export-primary', 'import-1', 'import-2']],
] as const)(
  'bench 1+%i: one pass, 2N + 1 steps; every card signs under one key; the primary names exactly its backup cards',
  async (n, steps) => {
    const backups = n === 1 ? [1] : [1, 2];
    const wallet = await freshCards(service, [0, ...backups], 0);
    const journalPath = join(dir, `bench-${n}.json`);
    const events: BackupEvent[] = [];
    // Backup cards first, the order a v2 backup takes them: no card is read for a step it cannot serve.
    const source = new PcscCardSource(service, [...backups, 0].map(readerForCard), { mode: 'bench', waitMs: 5000 });
    const started = performance.now();
    const final = await runBackup(newJournal(n), { source, journalPath, roots, pin: PIN, onEvent: (e) => events.push(e) });
    const ms = performance.now() - started;
    await source.close();
    console.log(`full 1+${n} v2 backup through pcscd (bench mode): ${ms.toFixed(0)} ms`);

    expect(nextStep(final)).toEqual({ kind: 'done' });
    expect(events.flatMap((e) => (e.type === 'step-done' ? [e.step] : []))).toEqual(steps);
    expect(events.flatMap((e) => (e.type === 'checkpoint' ? [`${e.step}:${e.name}`] : []))).toEqual([
      ...backups.map((_, i) => `prepare-backup-${i + 1}:claimed`),
      ...backups.map((_, i) => `export-primary:exported-${i + 1}`),
    ]);
    expect(events.some((e) => e.type === 'card-refused' || e.type === 'card-lost')).toBe(false);
    // The journal on disk is the last step's, and holds no secret: no PIN anywhere in it.
    const onDisk = await readFile(journalPath, 'utf8');
    expect(onDisk).not.toContain(toHex(PIN));
    expect(await loadJournal(journalPath)).toEqual(final);
    expect(final.backups.map((b) => toHex(b.cardId))).toEqual(backups.map((k) => toHex(cardIdFor(k))));

    await expectBackedUp(service, 0, backups, wallet);
    const primary = await readCard(service, 0);
    expect(primary.backupCardIds.map(toHex)).toEqual(backups.map((k) => toHex(cardIdFor(k))));
    for (const k of backups) expect(toHex((await readCard(service, k)).primaryId!)).toBe(toHex(cardIdFor(0)));
  },
);

test('a finished backup is final: a new backup of that primary stops at the primary, named, and the card refuses to export', async () => {
  const wallet = await freshCards(service, [0, 1, 3], 0);
  const first = new PcscCardSource(service, [0, 1].map(readerForCard), { mode: 'bench', waitMs: 5000 });
  await runBackup(newJournal(1), { source: first, journalPath: join(dir, 'final-1.json'), roots, pin: PIN });
  await first.close();
  await expectBackedUp(service, 0, [1], wallet);
  const primaryBefore = snapshot(await readCard(service, 0));

  // Card 3 is blank: it is prepared; then the primary is refused (finished backup), untouched.
  const again = new PcscCardSource(service, [0, 3].map(readerForCard), { mode: 'bench', waitMs: 5000 });
  const refusals: string[] = [];
  const journalPath = join(dir, 'final-2.json');
  const error = await runBackup(newJournal(1), {
    source: again,
    journalPath,
    roots,
    pin: PIN,
    onEvent: (e) => e.type === 'card-refused' && refusals.push(`${e.reason}: ${e.message}`),
  }).catch((e: unknown) => e);
  await again.close();
  expect(error).toBeInstanceOf(NoMatchingCardError);
  // prepare-backup-1: the primary (finished backup), then card 3 prepared; export-primary: the primary again
  // (card 3, now known as backup card 1, is not offered for it).
  expect(refusals.map((r) => r.split(':')[0])).toEqual(['OTHER_BACKUP', 'OTHER_BACKUP']);
  expect(refusals[1]).toContain(`is already backed up (BACKED_UP, to card(s) ${toHex(cardIdFor(1))})`);
  expect(snapshot(await readCard(service, 0))).toBe(primaryBefore);
  // The card refuses whatever a host sends: no BACKUP_EXPORT after finalize, even with the code.
  const journal = (await loadJournal(journalPath))!;
  const prepared = journal.backups[0]!;
  if (prepared.stage !== 'prepared') throw new Error(`expected card 3 prepared, got ${prepared.stage}`);
  await withCard(service, 0, async (card) => {
    await card.select();
    await openSessionOn(card);
    await card.verifyPin(PIN);
    await expect(
      card.backupExport({ certificate: prepared.certificate, ephemeralKey: prepared.ephemeralKey, signature: prepared.prepareSignature }),
    ).rejects.toMatchObject({ name: 'CardRefusedError', sw: 0x6985 });
  });
  expect(snapshot(await readCard(service, 0))).toBe(primaryBefore);
  // Card 3 waits, BACKUP_PENDING; cancelling it makes it blank again.
  await withCard(service, 3, async (card) => {
    await card.select();
    expect((await card.read()).state).toBe('BACKUP_PENDING');
    await card.backupCancel();
    expect((await card.read()).state).toBe('BLANK');
  });
});

test('taps: every wrong card is refused with its reason and left unchanged; the right ones complete the backup', async () => {
  const wallet = await freshCards(service, [0, 1, 2, 3], 0);
  // Card 3 is prepared for some other backup (BACKUP_PENDING with an EB this journal never saw).
  await withCard(service, 3, async (card) => {
    await card.select();
    await card.backupPrepare();
  });
  const strangerBefore = snapshot(await readCard(service, 3));
  const ks = [0, 1, 2, 3];
  for (const k of ks) await pullCard(service, k);
  // What the person taps for each request, in order (one physical reader: the previous card leaves first).
  const taps = [
    0, // prepare-backup-1: the primary -> HAS_WALLET
    3, // a card pending for another backup -> PENDING_ELSEWHERE
    1, // backup card 1
    1, // prepare-backup-2: backup card 1 again -> SAME_BACKUP_TWICE
    2, // backup card 2
    2, // export-primary: a backup card -> BACKUP_PRESENTED
    3, // the pending stranger -> NO_WALLET
    0, // the primary
    3, // import: the stranger -> STRANGER
    2, // backup card 2 first: accepted out of order
    1, // backup card 1
  ];
  let onReader: number | undefined;
  const prompts: string[] = [];
  const script = async (request: CardRequest) => {
    prompts.push(request.prompt);
    const k = taps.shift();
    if (k === undefined) throw new Error(`no more taps scripted, asked: ${request.prompt}`);
    if (onReader !== undefined) await pullCard(service, onReader);
    await insertCard(service, k);
    onReader = k;
  };
  const inner = new PcscCardSource(service, ks.map(readerForCard), { mode: 'tap', waitMs: 10_000 });
  const source = new ScriptedSource(inner, script);
  const refusals: string[] = [];
  const done: string[] = [];
  const final = await runBackup(newJournal(2), {
    source,
    journalPath: join(dir, 'taps.json'),
    roots,
    pin: PIN,
    onEvent: (e) => {
      if (e.type === 'card-refused') refusals.push(e.reason);
      if (e.type === 'step-done') done.push(e.step);
    },
  });
  await source.close();
  expect(taps).toEqual([]);
  expect(refusals).toEqual(['HAS_WALLET', 'PENDING_ELSEWHERE', 'SAME_BACKUP_TWICE', 'BACKUP_PRESENTED', 'NO_WALLET', 'STRANGER']);
  expect(done).toEqual(['prepare-backup-1', 'prepare-backup-2', 'export-primary', 'import-2', 'import-1']);
  expect([...new Set(prompts)]).toEqual([
    'Tap 1 of 5: backup card 1 of 2 (a blank card)',
    'Tap 2 of 5: backup card 2 of 2 (a blank card)',
    'Tap 3 of 5: the primary card (the one that holds the wallet)',
    'Tap 4 of 5: backup card 1 of 2 again (it receives the wallet)',
    'Tap 5 of 5: backup card 1 of 2 again (it receives the wallet)',
  ]);
  expect(nextStep(final)).toEqual({ kind: 'done' });
  for (const k of ks) if (k !== onReader) await insertCard(service, k);

  await expectBackedUp(service, 0, [1, 2], wallet); // PIN tries still 5 on all: no VERIFY_PIN went to a wrong card
  expect(snapshot(await readCard(service, 3))).toBe(strangerBefore);
});

test('a counterfeit backup card (certificate from an untrusted manufacturer) is named at its own step, unchanged', async () => {
  const wallet = await freshCards(service, [0, 2, 3], 0);
  // Card 1 is installed with another root and personalized by that (rogue) factory: a real card, a valid
  // certificate, the wrong root. (The root is fixed at installation: a TEST card refuses the rogue's signature.)
  simRootOf(1, OTHER_ROOT.public);
  await withCard(service, 1, async (card) => {
    await personalize(card, cardIdFor(1), keyPairFromPem(readFileSync(OTHER_ROOT.private, 'utf8')));
  });
  const journalPath = join(dir, 'counterfeit.json');
  const source = new PcscCardSource(service, [1, 2, 0].map(readerForCard), { mode: 'bench', waitMs: 5000 });
  const error = await runBackup(newJournal(2), { source, journalPath, roots, pin: PIN }).catch((e: unknown) => e);
  await source.close();
  expect(error).toBeInstanceOf(BackupCardError);
  expect(error).toMatchObject({ fault: 'CERTIFICATE_UNTRUSTED', step: 'prepare-backup-1', role: { kind: 'backup', index: 0 } });
  expect(toHex((error as BackupCardError).cardId)).toBe(toHex(cardIdFor(1)));
  expect((error as Error).message).toContain(`backup card 1 of 2 (card ${toHex(cardIdFor(1))})`);
  // Nothing was saved for it (the claim comes after the certificate check), and it was only read.
  const left = await loadJournal(journalPath);
  expect(left?.backups ?? []).toEqual([]);
  expect((await readCard(service, 1)).state).toBe('BLANK');
  // The same backup continues with genuine blank cards (cards 2 and 3).
  const genuine = new PcscCardSource(service, [0, 2, 3].map(readerForCard), { mode: 'bench', waitMs: 5000 });
  const final = await runBackup(left ?? newJournal(2), { source: genuine, journalPath, roots, pin: PIN });
  await genuine.close();
  expect(final.backups.map((b) => toHex(b.cardId))).toEqual([toHex(cardIdFor(2)), toHex(cardIdFor(3))]);
  await expectBackedUp(service, 0, [2, 3], wallet);
  simRootOf(1, OTHER_ROOT.test); // card 1 back to the TEST root for the tests that follow
});

test('a host that exports to a card of its own just before FINALIZE: the primary counts it, and the backup says so', async () => {
  const wallet = await freshCards(service, [0, 1, 3], 0);
  // The malware's own blank card, prepared out of band.
  const offer3 = await withCard(service, 3, async (card) => {
    await card.select();
    const info = await card.read();
    return { certificate: info.certificate!, ...(await card.backupPrepare()) };
  });
  // On the primary's connection, right before FINALIZE (INS 64), it relays one more BACKUP_EXPORT.
  let injected = false;
  const source = new PcscCardSource(service, [0, 1].map(readerForCard), {
    mode: 'bench',
    waitMs: 5000,
    wrap: (card): ApduTransport => {
      const hooked: ApduTransport = new HookedTransport(card, async (apdu) => {
        if (injected || apdu[1] !== 0x64) return;
        injected = true;
        // Malware that knows the code opens its own session on the primary (replacing the host's), exports.
        const rogue = new TwincardCard(card);
        const info = await rogue.read();
        await rogue.openSession(parseCertificate(info.certificate!));
        await rogue.verifyPin(PIN);
        await rogue.backupExport(offer3);
      });
      return hooked;
    },
  });
  const error = await runBackup(newJournal(1), { source, journalPath: join(dir, 'injected.json'), roots, pin: PIN }).catch(
    (e: unknown) => e,
  );
  await source.close();
  expect(injected).toBe(true);
  // The host's FINALIZE meets a session that is no longer its own: 6988, nothing finalized.
  expect(error).toMatchObject({ name: 'CardRefusedError', sw: 0x6988 });
  const primary = await readCard(service, 0);
  expect({ state: primary.state, ids: primary.backupCardIds.map(toHex) }).toEqual({
    state: 'BACKUP_EXPORTING',
    ids: [toHex(cardIdFor(1)), toHex(cardIdFor(3))],
  });
  // The resumed backup reads the primary first and names the card it does not know, before sending it anything.
  const resumed = new PcscCardSource(service, [0, 1].map(readerForCard), { mode: 'bench', waitMs: 5000 });
  const again = await runBackup((await loadJournal(join(dir, 'injected.json')))!, {
    source: resumed,
    journalPath: join(dir, 'injected.json'),
    roots,
    pin: PIN,
  }).catch((e: unknown) => e);
  await resumed.close();
  expect(again).toBeInstanceOf(BackupCardError);
  expect(again).toMatchObject({ fault: 'UNKNOWN_BACKUP_CARD', step: 'export-primary' });
  expect((again as Error).message).toContain(toHex(cardIdFor(3)));
  expect(toHex(primary.walletPublicKey!)).toBe(toHex(wallet));
});

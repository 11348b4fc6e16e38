/**
 * The backup through the real stack (pcsclite -> pcscd -> vpcd -> jCardSim running the reference applet):
 * a wallet created on card 0 ends up on cards 1 and 2, all three sign one digest under one key, and a
 * fourth card can never be added. Then the same with a person tapping cards on what behaves like one
 * reader, presenting every kind of wrong card on the way.
 */
import { jest } from '@jest/globals';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { toHex } from '../../src/apdu/index.js';
import { runBackup, type BackupEvent } from '../../src/flow/backup-runner.js';
import { NoMatchingCardError, PcscCardSource, type CardRequest } from '../../src/flow/card-source.js';
import { loadJournal, newJournal, nextStep } from '../../src/flow/journal.js';
import { BackupCardError } from '../../src/protocol/backup.js';
import { publicKeyOf } from '../../src/protocol/crypto.js';
import { CardRefusedError } from '../../src/protocol/errors.js';
import { personalize } from '../../src/protocol/factory.js';
import { trustedRoots } from '../../src/protocol/roots.js';
import { PcscService } from '../../src/readers/index.js';
import {
  cardIdFor,
  control,
  expectBackedUp,
  freshCards,
  insertCard,
  PIN,
  pullCard,
  readCard,
  ScriptedSource,
  withCard,
} from './support/backup-cards.js';
import { readerForCard } from './support/sim.js';

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

test('bench: card 0 backed up to cards 1 and 2 in one pass; three signatures under one key; a 4th card refused', async () => {
  const wallet = await freshCards(service, [0, 1, 2, 3], 0);
  const journalPath = join(dir, 'bench.json');
  const events: BackupEvent[] = [];
  const source = new PcscCardSource(service, [0, 1, 2].map(readerForCard), { mode: 'bench', waitMs: 5000 });
  const started = performance.now();
  const final = await runBackup(newJournal(2), { source, journalPath, roots, pin: PIN, onEvent: (e) => events.push(e) });
  const ms = performance.now() - started;
  await source.close();
  console.log(`full 1+2 backup through pcscd (bench mode): ${ms.toFixed(0)} ms`);

  expect(nextStep(final)).toEqual({ kind: 'done' });
  expect(events.filter((e) => e.type === 'step-done').map((e) => (e.type === 'step-done' ? e.step : ''))).toEqual([
    'start-primary',
    'link-backup-1',
    'link-backup-2',
    'finish-primary',
    'import-1',
    'import-2',
  ]);
  expect(events.some((e) => e.type === 'card-refused' || e.type === 'card-lost')).toBe(false);
  // The journal on disk is the last step's, and holds no secret: no PIN anywhere in it.
  const onDisk = await readFile(journalPath, 'utf8');
  expect(onDisk).not.toContain(toHex(PIN));
  expect(await loadJournal(journalPath)).toEqual(final);
  expect(final.backups.map((b) => toHex(b.cardId))).toEqual([toHex(cardIdFor(1)), toHex(cardIdFor(2))]);

  await expectBackedUp(service, 0, [1, 2], wallet);

  // A fourth card: the host refuses (the primary is BACKED_UP, card 3 holds no wallet) ...
  const again = new PcscCardSource(service, [0, 3].map(readerForCard), { mode: 'bench', waitMs: 5000 });
  const refusals: string[] = [];
  await expect(
    runBackup(newJournal(1), {
      source: again,
      journalPath: join(dir, 'fourth.json'),
      roots,
      pin: PIN,
      onEvent: (e) => e.type === 'card-refused' && refusals.push(e.reason),
    }),
  ).rejects.toThrow(NoMatchingCardError);
  await again.close();
  expect(refusals).toEqual(['OTHER_BACKUP', 'NO_WALLET']);
  // ... and so does the primary itself, whatever a host sends: no second BACKUP_START, no LINK_BACKUP.
  await withCard(service, 0, async (card) => {
    await card.select();
    await card.verifyPin(PIN);
    await expect(card.backupStart()).rejects.toMatchObject({ name: 'CardRefusedError', sw: 0x6985 });
  });
  const card3 = await readCard(service, 3);
  expect(card3.state).toBe('BLANK');
  const primary = await readCard(service, 0);
  expect({ state: primary.state, backupCount: primary.backupCount, signCounter: primary.signCounter }).toEqual({
    state: 'BACKED_UP',
    backupCount: 2,
    signCounter: 1,
  });
});

test('taps: every wrong card is refused with its reason and left unchanged; the right ones complete the backup', async () => {
  const wallet = await freshCards(service, [0, 1, 2, 3], 0);
  const ks = [0, 1, 2, 3];
  for (const k of ks) await pullCard(service, k);
  // What the person taps for each request, in order (one physical reader: the previous card leaves first).
  const taps = [
    1, // start-primary: a blank card -> NO_WALLET
    0, // the primary
    0, // link-backup-1: the primary again -> PRIMARY_PRESENTED
    1, // backup card 1
    1, // link-backup-2: backup card 1 again -> SAME_BACKUP_TWICE
    2, // backup card 2
    2, // finish-primary: a backup card -> BACKUP_PRESENTED
    3, // a stranger's card -> STRANGER
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
  expect(refusals).toEqual(['NO_WALLET', 'PRIMARY_PRESENTED', 'SAME_BACKUP_TWICE', 'BACKUP_PRESENTED', 'STRANGER', 'STRANGER']);
  expect(done).toEqual(['start-primary', 'link-backup-1', 'link-backup-2', 'finish-primary', 'import-2', 'import-1']);
  expect(prompts[0]).toBe('Tap the primary card (the card holding the wallet)');
  expect(prompts).toContain('Tap backup card 2 of 2 (a blank card)');
  expect(nextStep(final)).toEqual({ kind: 'done' });
  for (const k of ks) if (k !== onReader) await insertCard(service, k);

  await expectBackedUp(service, 0, [1, 2], wallet); // PIN tries still 5 on all: no VERIFY_PIN went to a wrong card
  const stranger = await readCard(service, 3);
  expect({ state: stranger.state, pinTriesLeft: stranger.pinTriesLeft, backupCount: stranger.backupCount }).toEqual({
    state: 'BLANK',
    pinTriesLeft: 5,
    backupCount: 0,
  });

  // A card from another (finished) backup is refused as a backup card of a new one: card 3 gets a
  // wallet and starts its own backup; backup card 1 of the first backup is presented.
  await withCard(service, 3, async (card) => {
    await card.select();
    await card.createWallet(PIN);
  });
  const bench = new PcscCardSource(service, [3, 1].map(readerForCard), { mode: 'bench', waitMs: 5000 });
  const second: string[] = [];
  await expect(
    runBackup(newJournal(1), {
      source: bench,
      journalPath: join(dir, 'other.json'),
      roots,
      pin: PIN,
      onEvent: (e) => e.type === 'card-refused' && second.push(e.reason),
    }),
  ).rejects.toThrow(NoMatchingCardError);
  await bench.close();
  expect(second).toEqual(['OTHER_BACKUP']);
  expect((await readCard(service, 1)).state).toBe('BACKED_UP');
  // And the card itself refuses a link even when a host skips the checks.
  await withCard(service, 1, async (card) => {
    await card.select();
    const journal = (await loadJournal(join(dir, 'other.json')))!;
    const primary = journal.primary!;
    await expect(
      card.linkPrimary({ certificate: primary.certificate, ephemeralKey: primary.ephemeralKey!, signature: primary.linkSignature! }),
    ).rejects.toBeInstanceOf(CardRefusedError);
  });
});

test('a counterfeit backup card (certificate from an untrusted manufacturer) is named at its own step, unchanged', async () => {
  const wallet = await freshCards(service, [0, 2, 3], 0);
  // Card 1 is personalized by a rogue factory: a real card, a valid certificate, the wrong root.
  await control(1, 'wipe');
  const rogue = randomBytes(32);
  await withCard(service, 1, async (card) => {
    await personalize(card, cardIdFor(1), { privateKey: rogue, publicKey: publicKeyOf(rogue) });
  });
  const journalPath = join(dir, 'counterfeit.json');
  const source = new PcscCardSource(service, [0, 1, 2].map(readerForCard), { mode: 'bench', waitMs: 5000 });
  const error = await runBackup(newJournal(2), { source, journalPath, roots, pin: PIN }).catch((e: unknown) => e);
  await source.close();
  expect(error).toBeInstanceOf(BackupCardError);
  expect(error).toMatchObject({ fault: 'CERTIFICATE_UNTRUSTED', step: 'link-backup-1', role: { kind: 'backup', index: 0 } });
  expect(toHex((error as BackupCardError).cardId)).toBe(toHex(cardIdFor(1)));
  expect((error as Error).message).toContain(`backup card 1 of 2 (card ${toHex(cardIdFor(1))})`);
  // The journal stops at the last good step; the counterfeit card was read, nothing more.
  const left = await loadJournal(journalPath);
  expect(nextStep(left!)).toEqual({ kind: 'link-backup', index: 0 });
  expect((await readCard(service, 1)).state).toBe('BLANK');
  // The card would have refused anyway: its manufacturer key does not certify the primary (9A01).
  await withCard(service, 1, async (card) => {
    await card.select();
    const primary = left!.primary!;
    await expect(
      card.linkPrimary({ certificate: primary.certificate, ephemeralKey: primary.ephemeralKey!, signature: primary.linkSignature! }),
    ).rejects.toMatchObject({ sw: 0x9a01 });
  });
  expect((await readCard(service, 1)).state).toBe('BLANK');
  // The same backup continues from its journal with genuine blank cards (cards 2 and 3).
  const genuine = new PcscCardSource(service, [0, 2, 3].map(readerForCard), { mode: 'bench', waitMs: 5000 });
  const final = await runBackup(left!, { source: genuine, journalPath, roots, pin: PIN });
  await genuine.close();
  expect(final.backups.map((b) => toHex(b.cardId))).toEqual([toHex(cardIdFor(2)), toHex(cardIdFor(3))]);
  await expectBackedUp(service, 0, [2, 3], wallet);
});

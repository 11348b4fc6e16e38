/**
 * The pull matrix: a 1+2 v2 backup through pcscd, with the card pulled at EVERY APDU of every step (GET
 * RESPONSE and command-chaining blocks included), in both ways a card leaves a reader:
 *   pull             the card is gone before the APDU reaches it (between two APDUs of a step)
 *   pull-after-next  the card processes the APDU, then leaves before its answer reaches the host
 *                    (the "response lost" case: the card changed, the host does not know)
 * then put back. The runner must ask for the card again, repeat the step from the journal, and finish
 * with the wallet on all three cards, nothing counted twice.
 */
import { jest } from '@jest/globals';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runBackup, type BackupEvent } from '../../src/flow/backup-runner.js';
import { PcscCardSource } from '../../src/flow/card-source.js';
import { loadJournal, saveJournal } from '../../src/flow/journal.js';
import { newJournal, nextStep, type NextStep } from '../../src/protocol/backup-model.js';
import { trustedRoots } from '../../src/protocol/roots.js';
import { PcscService } from '../../src/readers/index.js';
import {
  cardOfReader,
  control,
  expectBackedUp,
  freshCards,
  HookedTransport,
  insertCard,
  insertRetries,
  PIN,
  pullCard,
  ScriptedSource,
  waitPresence,
} from './support/backup-cards.js';
import { readerForCard } from './support/sim.js';

jest.setTimeout(30_000);

const CARDS = [0, 1, 2] as const;
const roots = trustedRoots({ trustTestRoot: true });

/**
 * Every APDU of a 1+2 backup in bench mode, in order: [step, card, command]. The baseline test checks
 * that the host sends exactly this, so the matrix below covers every position.
 */
const SEQUENCE: ReadonlyArray<readonly [string, number, string]> = [
  ['prepare-backup-1', 1, 'SELECT'],
  ['prepare-backup-1', 1, 'READ'],
  ['prepare-backup-1', 1, 'BACKUP_PREPARE'],
  ['prepare-backup-2', 2, 'SELECT'],
  ['prepare-backup-2', 2, 'READ'],
  ['prepare-backup-2', 2, 'BACKUP_PREPARE'],
  ['export-primary', 0, 'SELECT'],
  ['export-primary', 0, 'READ'],
  ['export-primary', 0, 'GET RESPONSE'], // a wallet card's READ (certificate 02) is more than 256 bytes
  ['export-primary', 0, 'OPEN_SESSION'], // the session VERIFY_PIN, BACKUP_EXPORT and FINALIZE travel in
  ['export-primary', 0, 'VERIFY_PIN'],
  ['export-primary', 0, 'BACKUP_EXPORT (block 1)'],
  ['export-primary', 0, 'BACKUP_EXPORT'],
  ['export-primary', 0, 'GET RESPONSE'],
  ['export-primary', 0, 'BACKUP_EXPORT (block 1)'],
  ['export-primary', 0, 'BACKUP_EXPORT'],
  ['export-primary', 0, 'GET RESPONSE'],
  ['export-primary', 0, 'BACKUP_FINALIZE'],
  ['export-primary', 0, 'READ'],
  ['export-primary', 0, 'GET RESPONSE'],
  ['import-1', 1, 'SELECT'],
  ['import-1', 1, 'READ'],
  ['import-1', 1, 'BACKUP_IMPORT (block 1)'],
  ['import-1', 1, 'BACKUP_IMPORT (block 1)'],
  ['import-1', 1, 'BACKUP_IMPORT'],
  ['import-2', 2, 'SELECT'],
  ['import-2', 2, 'READ'],
  ['import-2', 2, 'BACKUP_IMPORT (block 1)'],
  ['import-2', 2, 'BACKUP_IMPORT (block 1)'],
  ['import-2', 2, 'BACKUP_IMPORT'],
];

const INS_NAMES: Readonly<Record<number, string>> = {
  0xa4: 'SELECT',
  0x10: 'READ',
  0xc0: 'GET RESPONSE',
  0x20: 'VERIFY_PIN',
  0x70: 'OPEN_SESSION',
  0x60: 'BACKUP_PREPARE',
  0x62: 'BACKUP_EXPORT',
  0x64: 'BACKUP_FINALIZE',
  0x66: 'BACKUP_IMPORT',
};

function commandName(apdu: Uint8Array): string {
  const name = INS_NAMES[apdu[1]!] ?? `INS ${apdu[1]!.toString(16)}`;
  return (apdu[0]! & 0x10) !== 0 ? `${name} (block 1)` : name;
}

function stepName(step: NextStep): string {
  if (step.kind === 'prepare-backup') return `prepare-backup-${step.index + 1}`;
  if (step.kind === 'import') return 'import';
  return step.kind;
}

/** The bench's readers, backup cards first: the order a v2 backup wants them, so no card is refused. */
const BENCH = [1, 2, 0] as const;

let service: PcscService;
let dir: string;

beforeAll(async () => {
  service = PcscService.open();
  await service.waitForReaders({ timeoutMs: 5000 });
  for (const k of CARDS) await insertCard(service, k);
  dir = await mkdtemp(join(tmpdir(), 'twincard-pull-'));
});

// One failed case must not leave a card out for the next ones.
beforeEach(async () => {
  for (const k of CARDS) {
    if (service.readers().find((r) => r.name === readerForCard(k))?.cardPresent !== true) await insertCard(service, k);
  }
});

afterAll(async () => {
  if (insertRetries > 0) console.log(`re-insertions that needed a second tap (vpcd, see insertCard): ${insertRetries}`);
  service.close();
  await rm(dir, { recursive: true, force: true });
});

type Variant = 'pull' | 'pull-after-next';

interface Fault {
  readonly variant: Variant;
  readonly position: number;
}

/** One backup of fresh cards, with at most one fault; returns what the host sent and what happened. */
async function backupWithFault(fault: Fault | undefined) {
  const wallet = await freshCards(service, CARDS, 0);
  const journalPath = join(dir, `journal-${fault?.variant ?? 'none'}-${fault?.position ?? 0}.json`);
  const sent: Array<[string, number, string]> = [];
  const events: BackupEvent[] = [];
  let step = '';
  let count = 0;
  let pulled: { card: number; step: string } | undefined;
  let journalStepAtLoss: string | undefined;
  const inner = new PcscCardSource(service, BENCH.map(readerForCard), {
    mode: 'bench',
    waitMs: 10_000,
    wrap: (card, reader) =>
      new HookedTransport(card, async (apdu) => {
        const k = cardOfReader(reader, CARDS);
        // Backup card k imports as import-k, whichever order the bench takes them in.
        sent.push([step === 'import' ? `import-${k}` : step, k, commandName(apdu)]);
        if (fault !== undefined && count++ === fault.position) {
          await control(k, fault.variant);
          pulled = { card: k, step };
        }
      }),
  });
  // The person: when the card went away, they put it back (after pcscd saw it leave).
  const source = new ScriptedSource(inner, async () => {
    if (pulled === undefined) return;
    const { card } = pulled;
    pulled = undefined;
    journalStepAtLoss = stepName(nextStep((await loadJournal(journalPath))!));
    await waitPresence(service, card, false);
    await insertCard(service, card);
  });
  const journal = newJournal(2);
  await saveJournal(journalPath, journal);
  const final = await runBackup(journal, {
    source,
    journalPath,
    roots,
    pin: PIN,
    onEvent: (e) => {
      events.push(e);
      if (e.type === 'need-card') step = stepName(e.step);
    },
  });
  await source.close();
  expect(nextStep(final)).toEqual({ kind: 'done' });
  await expectBackedUp(service, 0, [1, 2], wallet);
  return { sent, events, journalStepAtLoss };
}

test('baseline: the host sends exactly the expected APDUs, each card in its step', async () => {
  const { sent, events } = await backupWithFault(undefined);
  expect(sent).toEqual(SEQUENCE);
  expect(events.filter((e) => e.type === 'card-lost')).toEqual([]);
});

const cases = SEQUENCE.flatMap(([step, card, command], position) =>
  (['pull', 'pull-after-next'] as const).map((variant) => [variant, position, step, card, command] as const),
);

test.each(cases)('%s at APDU %i (%s, card %i, %s): resumed, completed, nothing doubled', async (variant, position, step, card) => {
  const { sent, events, journalStepAtLoss } = await backupWithFault({ variant, position });
  const lost = events.filter((e) => e.type === 'card-lost');
  expect(lost).toHaveLength(1);
  expect(lost[0]).toMatchObject({ where: readerForCard(card) });
  // At the loss, the journal on disk was at the step being run (the last completed one before it).
  expect(journalStepAtLoss).toBe(step.startsWith('import') ? 'import' : step);
  // The interrupted step was repeated from its start: its SELECT appears twice for that card.
  const selects = sent.filter(([s, k, c]) => s === step && k === card && c === 'SELECT');
  expect(selects.length).toBe(2);
  const done = events.flatMap((e) => (e.type === 'step-done' ? [e.step] : []));
  expect(done.slice(0, 3)).toEqual(['prepare-backup-1', 'prepare-backup-2', 'export-primary']);
  // While backup card 1 is out, a bench imports card 2 first: each exactly once either way.
  expect(done.slice(3).sort()).toEqual(['import-1', 'import-2']);
});

test('tap mode (one reader, a person): BACKUP_IMPORT answered into the void, the card tapped again, done once', async () => {
  const wallet = await freshCards(service, CARDS, 0);
  for (const k of CARDS) await pullCard(service, k);
  const journalPath = join(dir, 'taps-lost.json');
  const taps = [1, 2, 0, 1, 1, 2];
  let onReader: number | undefined;
  let armed = true;
  const inner = new PcscCardSource(service, CARDS.map(readerForCard), {
    mode: 'tap',
    waitMs: 10_000,
    wrap: (card, reader) =>
      new HookedTransport(card, async (apdu) => {
        if (armed && reader === readerForCard(1) && apdu[0] === 0x80 && apdu[1] === 0x66) {
          armed = false;
          await control(1, 'pull-after-next');
        }
      }),
  });
  const source = new ScriptedSource(inner, async () => {
    const k = taps.shift();
    if (k === undefined) throw new Error('no more taps scripted');
    if (onReader !== undefined) await pullCard(service, onReader);
    await insertCard(service, k);
    onReader = k;
  });
  const events: BackupEvent[] = [];
  const journal = newJournal(2);
  await saveJournal(journalPath, journal);
  const final = await runBackup(journal, { source, journalPath, roots, pin: PIN, onEvent: (e) => events.push(e) });
  await source.close();
  expect(taps).toEqual([]);
  expect(nextStep(final)).toEqual({ kind: 'done' });
  expect(events.filter((e) => e.type === 'card-lost')).toHaveLength(1);
  expect(events.flatMap((e) => (e.type === 'step-done' ? [e.step] : []))).toEqual([
    'prepare-backup-1',
    'prepare-backup-2',
    'export-primary',
    'import-1',
    'import-2',
  ]);
  for (const k of CARDS) if (k !== onReader) await insertCard(service, k);
  await expectBackedUp(service, 0, [1, 2], wallet);
});

/**
 * The pull matrix: a 1+2 backup through pcscd, with the card pulled at EVERY APDU of every step, in both
 * ways a card leaves a reader:
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
import { loadJournal, newJournal, nextStep, saveJournal, type NextStep } from '../../src/flow/journal.js';
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
  ['start-primary', 0, 'SELECT'],
  ['start-primary', 0, 'READ'],
  ['start-primary', 0, 'VERIFY_PIN'],
  ['start-primary', 0, 'BACKUP_START'],
  ['link-backup-1', 1, 'SELECT'],
  ['link-backup-1', 1, 'READ'],
  ['link-backup-1', 1, 'LINK_PRIMARY (block 1)'],
  ['link-backup-1', 1, 'LINK_PRIMARY'],
  ['link-backup-2', 2, 'SELECT'],
  ['link-backup-2', 2, 'READ'],
  ['link-backup-2', 2, 'LINK_PRIMARY (block 1)'],
  ['link-backup-2', 2, 'LINK_PRIMARY'],
  ['finish-primary', 0, 'SELECT'],
  ['finish-primary', 0, 'READ'],
  ['finish-primary', 0, 'VERIFY_PIN'],
  ['finish-primary', 0, 'LINK_BACKUP (block 1)'],
  ['finish-primary', 0, 'LINK_BACKUP'],
  ['finish-primary', 0, 'LINK_BACKUP (block 1)'],
  ['finish-primary', 0, 'LINK_BACKUP'],
  ['finish-primary', 0, 'EXPORT_WALLET'],
  ['finish-primary', 0, 'EXPORT_WALLET'],
  ['finish-primary', 0, 'FINALIZE_BACKUP'],
  ['import-1', 1, 'SELECT'],
  ['import-1', 1, 'READ'],
  ['import-1', 1, 'IMPORT_WALLET'],
  ['import-2', 2, 'SELECT'],
  ['import-2', 2, 'READ'],
  ['import-2', 2, 'IMPORT_WALLET'],
];

const INS_NAMES: Readonly<Record<number, string>> = {
  0xa4: 'SELECT',
  0x10: 'READ',
  0xc0: 'GET RESPONSE',
  0x20: 'VERIFY_PIN',
  0x50: 'BACKUP_START',
  0x52: 'LINK_PRIMARY',
  0x54: 'LINK_BACKUP',
  0x56: 'EXPORT_WALLET',
  0x58: 'FINALIZE_BACKUP',
  0x5a: 'IMPORT_WALLET',
};

function commandName(apdu: Uint8Array): string {
  const name = INS_NAMES[apdu[1]!] ?? `INS ${apdu[1]!.toString(16)}`;
  return (apdu[0]! & 0x10) !== 0 ? `${name} (block 1)` : name;
}

function stepName(step: NextStep): string {
  if (step.kind === 'link-backup') return `link-backup-${step.index + 1}`;
  if (step.kind === 'import') return 'import';
  return step.kind;
}

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
  const inner = new PcscCardSource(service, CARDS.map(readerForCard), {
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
  expect(done.slice(0, 4)).toEqual(['start-primary', 'link-backup-1', 'link-backup-2', 'finish-primary']);
  // While backup card 1 is out, a bench imports card 2 first: each exactly once either way.
  expect(done.slice(4).sort()).toEqual(['import-1', 'import-2']);
});

test('tap mode (one reader, a person): IMPORT_WALLET answered into the void, the card tapped again, done once', async () => {
  const wallet = await freshCards(service, CARDS, 0);
  for (const k of CARDS) await pullCard(service, k);
  const journalPath = join(dir, 'taps-lost.json');
  const taps = [0, 1, 2, 0, 1, 1, 2];
  let onReader: number | undefined;
  let armed = true;
  const inner = new PcscCardSource(service, CARDS.map(readerForCard), {
    mode: 'tap',
    waitMs: 10_000,
    wrap: (card, reader) =>
      new HookedTransport(card, async (apdu) => {
        if (armed && reader === readerForCard(1) && apdu[1] === 0x5a) {
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
    'start-primary',
    'link-backup-1',
    'link-backup-2',
    'finish-primary',
    'import-1',
    'import-2',
  ]);
  for (const k of CARDS) if (k !== onReader) await insertCard(service, k);
  await expectBackedUp(service, 0, [1, 2], wallet);
});

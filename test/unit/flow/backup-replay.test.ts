/**
 * The backup steps and the multi-tap runner against RECORDED card sessions (test/record/backup-transcripts.ts
 * recorded them through pcscd from the reference applet): one transcript per card presentation of a 1+2
 * backup with wrong cards and a card pulled after FINALIZE_BACKUP. Replay is strict: the host must send
 * exactly the recorded commands, and every recorded exchange must be used.
 *
 * Hostile cards are the same recordings with one answer altered: the host must name the card and the fault.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { fromHex, toHex, type ApduTransport } from '../../../src/apdu/index.js';
import { completedSteps, promptFor, runBackup, type BackupEvent } from '../../../src/flow/backup-runner.js';
import type { CardRequest, CardSource, PresentedCard } from '../../../src/flow/card-source.js';
import { JournalError, loadJournal, newJournal, nextStep, saveJournal, type BackupJournal } from '../../../src/flow/journal.js';
import {
  backupNeedsPin,
  BackupCardError,
  runStep,
  verifyJournal,
  WrongCardError,
  type StepContext,
} from '../../../src/protocol/backup.js';
import { TwincardCard } from '../../../src/protocol/card.js';
import { trustedRoots } from '../../../src/protocol/roots.js';
import { PcscError, ReplayTransport, parseTranscript } from '../../../src/readers/index.js';

const DIR = fileURLToPath(new URL('./transcripts/backup-1-2/', import.meta.url));
const FILES = readdirSync(DIR).filter((f) => f.endsWith('.apdu')).sort();
const text = (file: string) => readFileSync(join(DIR, file), 'utf8');
const PIN = new TextEncoder().encode('246810'); // the TEST cards' code the recording used
const roots = trustedRoots({ trustTestRoot: true });

/** A recorded presentation; a `lost` one throws PcscError when its last (unanswered) command is sent. */
class RecordedCard implements ApduTransport {
  readonly replay: ReplayTransport;
  readonly lostCommand: string | undefined;
  readonly exchanges: number;

  constructor(readonly transcriptText: string) {
    this.replay = new ReplayTransport(transcriptText);
    this.lostCommand = /^# => ([0-9A-F]+)$/m.exec(transcriptText)?.[1];
    this.exchanges = parseTranscript(transcriptText).length;
  }

  async transmit(apdu: Uint8Array): Promise<Uint8Array> {
    if (this.lostCommand !== undefined && this.replay.replayed === this.exchanges) {
      expect(toHex(apdu)).toBe(this.lostCommand);
      throw new PcscError('transmit: the card answered 0 bytes (recorded: the card left)', 0x80100016, 'transaction-failed');
    }
    return this.replay.transmit(apdu);
  }
}

/** Hands out the recorded presentations in order, as a person tapping them would. */
class RecordedSource implements CardSource {
  readonly interactive = true;
  readonly cards: RecordedCard[] = [];
  readonly outcomes: string[] = [];
  readonly requests: CardRequest[] = [];
  #next = 0;

  constructor(private readonly files: readonly string[]) {}

  async next(request: CardRequest): Promise<PresentedCard> {
    this.requests.push(request);
    const file = this.files[this.#next++];
    if (file === undefined) throw new Error(`no recorded presentation left for: ${request.prompt}`);
    const card = new RecordedCard(text(file));
    this.cards.push(card);
    return {
      transport: card,
      where: file,
      identified: () => undefined,
      release: async (outcome) => {
        this.outcomes.push(`${file.slice(0, 8)} ${outcome}`);
      },
    };
  }

  async close(): Promise<void> {}
}

/** The transcript with exchange `index`'s response changed by `change` (the status word kept). */
function tampered(file: string, index: number, change: (data: Uint8Array) => Uint8Array): string {
  let seen = -1;
  return text(file)
    .split('\n')
    .map((line) => {
      if (!line.startsWith('<= ')) return line;
      seen += 1;
      if (seen !== index) return line;
      const bytes = fromHex(line.slice(3));
      const data = change(bytes.slice(0, -2));
      return `<= ${toHex(data)}${toHex(bytes.slice(-2))}`;
    })
    .join('\n');
}

const flip = (offsetFromEnd: number) => (data: Uint8Array) => {
  const copy = data.slice();
  copy[copy.length - offsetFromEnd]! ^= 0x01;
  return copy;
};

let dir: string;
let events: BackupEvent[];
let source: RecordedSource;
let final: BackupJournal;
/** The journal before each step (the one the step ran on), by step label. */
const before = new Map<string, BackupJournal>();
let onDiskAtLoss: BackupJournal | undefined;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'twincard-replay-'));
  const journalPath = join(dir, 'journal.json');
  const start = newJournal(2, new Date('2026-11-25T00:00:00Z'));
  await saveJournal(journalPath, start);
  source = new RecordedSource(FILES);
  events = [];
  let current = start;
  const pendingReads: Promise<void>[] = [];
  final = await runBackup(start, {
    source,
    journalPath,
    roots,
    pin: PIN,
    onEvent: (e) => {
      events.push(e);
      if (e.type === 'step-started' && !before.has(e.step)) before.set(e.step, current);
      if (e.type === 'step-done') current = e.journal;
      if (e.type === 'card-lost') pendingReads.push(loadJournal(journalPath).then((j) => void (onDiskAtLoss = j)));
    },
  });
  await Promise.all(pendingReads);
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('the runner replaying a recorded 1+2 backup with wrong cards and a lost answer', () => {
  test('every recorded presentation is used, and each exactly as recorded', () => {
    expect(source.cards).toHaveLength(FILES.length);
    for (const card of source.cards) {
      if (card.lostCommand === undefined) card.replay.assertDone();
      else expect(card.replay.replayed).toBe(card.exchanges);
    }
    expect(source.outcomes).toEqual(FILES.map((f) => `${f.slice(0, 8)} ${/-(used|refused|lost)\.apdu$/.exec(f)![1]}`));
  });

  test('wrong cards are refused with their reason, after SELECT and READ only', () => {
    const refused = events.flatMap((e) => (e.type === 'card-refused' ? [e.reason] : []));
    expect(refused).toEqual(['NO_WALLET', 'PRIMARY_PRESENTED', 'SAME_BACKUP_TWICE', 'STRANGER']);
    for (const file of FILES.filter((f) => f.includes('refused'))) {
      const commands = parseTranscript(text(file)).map((x) => x.command.slice(0, 4));
      expect(commands).toEqual(['00A4', '8010']);
    }
  });

  test('steps complete in order; backup card 2 may import first; the loss repeats finish-primary', () => {
    expect(events.flatMap((e) => (e.type === 'step-done' ? [e.step] : []))).toEqual([
      'start-primary',
      'link-backup-1',
      'link-backup-2',
      'finish-primary',
      'import-2',
      'import-1',
    ]);
    expect(events.filter((e) => e.type === 'card-lost')).toHaveLength(1);
    expect(events.filter((e) => e.type === 'checkpoint')).toHaveLength(1);
    expect(nextStep(final)).toEqual({ kind: 'done' });
    expect(completedSteps(final)).toBe(6);
  });

  test('the answer of FINALIZE_BACKUP lost: the journal on disk held the blobs, and only FINALIZE was repeated', () => {
    expect(onDiskAtLoss?.backups.map((b) => b.blob?.length)).toEqual([193, 193]);
    expect(onDiskAtLoss?.primary?.finalized).toBe(false);
    // The repeat: SELECT, READ, VERIFY_PIN, FINALIZE_BACKUP; no LINK_BACKUP, no EXPORT_WALLET again.
    const retry = FILES.find((f) => f.startsWith('09-'))!;
    expect(parseTranscript(text(retry)).map((x) => x.command.slice(0, 4))).toEqual(['00A4', '8010', '8020', '8058']);
    expect(final.backups.map((b) => toHex(b.blob!))).toEqual(onDiskAtLoss!.backups.map((b) => toHex(b.blob!)));
  });

  test('prompts say which card is wanted, and ask again after a refusal', () => {
    const prompts = events.flatMap((e) => (e.type === 'need-card' ? [`${e.prompt}${e.again ? ' (again)' : ''}`] : []));
    expect(prompts.slice(0, 4)).toEqual([
      'Tap the primary card (the card holding the wallet)',
      'Tap the primary card (the card holding the wallet) (again)',
      'Tap backup card 1 of 2 (a blank card)',
      'Tap backup card 1 of 2 (a blank card) (again)',
    ]);
    expect(prompts).toContain('Tap the primary card again');
    expect(prompts).toContain('Tap backup card 1 of 2 again');
  });

  test('the journal holds no access code and no secret-shaped field', () => {
    const serialized = JSON.stringify(final, (_k, v: unknown) => (v instanceof Uint8Array ? toHex(v) : v));
    expect(serialized).not.toContain(toHex(PIN));
    expect(backupNeedsPin(final)).toBe(false);
    expect(backupNeedsPin(before.get('finish-primary')!)).toBe(true);
  });
});

describe('the steps against hostile answers (recorded sessions, one answer altered)', () => {
  const context = (overrides: Partial<StepContext> = {}): StepContext => ({
    roots,
    pin: PIN,
    checkpoint: async () => undefined,
    ...overrides,
  });
  const card = (transcript: string) => {
    const replay = new ReplayTransport(transcript);
    return { replay, card: new TwincardCard(replay) };
  };
  const file = (prefix: string) => text(FILES.find((f) => f.startsWith(prefix))!);

  test('start-primary replays exactly its recording and yields the journal the run saved', async () => {
    const { replay, card: primary } = card(file('02-'));
    const result = await runStep(before.get('start-primary')!, primary, context());
    replay.assertDone();
    expect(result.step).toBe('start-primary');
    expect(result.journal.primary).toEqual(final.primary && { ...final.primary, finalized: false });
  });

  test('no trusted root: the primary is named as not genuine before VERIFY_PIN', async () => {
    const { replay, card: primary } = card(file('02-'));
    const error = await runStep(before.get('start-primary')!, primary, context({ roots: [] })).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BackupCardError);
    expect(error).toMatchObject({ fault: 'CERTIFICATE_UNTRUSTED', step: 'start-primary', role: { kind: 'primary' } });
    expect((error as Error).message).toMatch(/^start-primary: the primary card \(card 424B5550[0-9A-F]{8}\): no manufacturer root/);
    expect(replay.replayed).toBe(2); // SELECT, READ: the access code never went out
  });

  test("a primary link signature that does not verify over P.id || EP is named", async () => {
    const { card: primary } = card(tampered(FILES.find((f) => f.startsWith('02-'))!, 3, flip(1)));
    await expect(runStep(before.get('start-primary')!, primary, context())).rejects.toMatchObject({
      name: 'BackupCardError',
      fault: 'LINK_SIGNATURE_INVALID',
    });
  });

  test('a backup link signature that does not verify over P.id || B.id || EP || EB is named, with the card', async () => {
    const recorded = FILES.find((f) => f.startsWith('04-'))!;
    const { card: backup } = card(tampered(recorded, 3, flip(1)));
    const error = await runStep(before.get('link-backup-1')!, backup, context()).catch((e: unknown) => e);
    expect(error).toMatchObject({ fault: 'LINK_SIGNATURE_INVALID', step: 'link-backup-1', role: { kind: 'backup', index: 0 } });
    expect((error as Error).message).toContain('backup card 1 of 2');
  });

  test('a blob whose header names another backup card is refused before it is saved', async () => {
    // Exchange 7 of the lost presentation (SELECT, READ, VERIFY_PIN, LINK_BACKUP as 2 blocks x2, then this)
    // is EXPORT_WALLET for backup card 1: change the last byte of B.id in its header.
    const recorded = FILES.find((f) => f.startsWith('08-'))!;
    const transcript = tampered(recorded, 7, (data) => {
      const copy = data.slice();
      copy[3 + 16]! ^= 0x01; // 15 81 C1 | 01 | P.id (8) | B.id (8): the last byte of B.id
      return copy;
    }).replace(/^# lost.*\n# => .*$/m, '');
    const { card: primary } = card(transcript);
    let saved = false;
    const error = await runStep(before.get('finish-primary')!, primary, context({ checkpoint: async () => void (saved = true) })).catch(
      (e: unknown) => e,
    );
    expect(error).toMatchObject({ name: 'BackupCardError', fault: 'BLOB_HEADER_MISMATCH', step: 'finish-primary' });
    expect(saved).toBe(false);
  });

  test('a wrong card costs SELECT and READ only, and names why', async () => {
    const { replay, card: blank } = card(file('01-'));
    const error = await runStep(newJournal(2), blank, context()).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(WrongCardError);
    expect(error).toMatchObject({ reason: 'NO_WALLET', state: 'BLANK' });
    replay.assertDone();
  });

  test('finish-primary needs the access code', async () => {
    const { card: primary } = card(file('09-'));
    await expect(runStep(onDiskAtLoss!, primary, context({ pin: undefined }))).rejects.toMatchObject({ name: 'PinRequiredError' });
  });
});

describe('verifyJournal: a journal file is checked like a card', () => {
  const edit = (change: (j: { -readonly [K in keyof BackupJournal]: BackupJournal[K] }) => void): BackupJournal => {
    const copy = structuredClone(final) as { -readonly [K in keyof BackupJournal]: BackupJournal[K] };
    change(copy);
    return copy;
  };

  test('the recorded run verifies', () => {
    expect(() => verifyJournal(final, roots)).not.toThrow();
  });

  test.each<[string, () => BackupJournal, readonly ReturnType<typeof trustedRoots>[number][], RegExp]>([
    ['no trusted root', () => final, [], /journal\.primary\.certificate: no trusted root/],
    [
      'a backup card with the primary certificate',
      () => edit((j) => void (j.backups = [{ ...j.backups[0]!, certificate: j.primary!.certificate }, j.backups[1]!])),
      roots,
      /journal\.backups\[0\]\.certificate: it is for card/,
    ],
    [
      'a wallet public key off the curve',
      () => edit((j) => void (j.primary = { ...j.primary!, walletPublicKey: Uint8Array.of(0x04, ...new Uint8Array(64).fill(1)) })),
      roots,
      /journal\.primary\.walletPublicKey: not a valid secp256k1 point/,
    ],
    [
      'EP swapped for EB',
      () => edit((j) => void (j.primary = { ...j.primary!, ephemeralKey: j.backups[0]!.ephemeralKey! })),
      roots,
      /journal\.primary\.linkSignature: does not verify/,
    ],
    [
      'the two backup link signatures swapped',
      () =>
        edit(
          (j) =>
            void (j.backups = [
              { ...j.backups[0]!, linkSignature: j.backups[1]!.linkSignature! },
              { ...j.backups[1]!, linkSignature: j.backups[0]!.linkSignature! },
            ]),
        ),
      roots,
      /journal\.backups\[0\]\.linkSignature: does not verify/,
    ],
    [
      'the blobs swapped between the cards',
      () => edit((j) => void (j.backups = [{ ...j.backups[0]!, blob: j.backups[1]!.blob! }, { ...j.backups[1]!, blob: j.backups[0]!.blob! }])),
      roots,
      /journal\.backups\[0\]\.blob: its header does not name/,
    ],
  ])('%s', (_name, journal, trusted, message) => {
    expect(() => verifyJournal(journal(), trusted)).toThrow(JournalError);
    expect(() => verifyJournal(journal(), trusted)).toThrow(message);
  });

  test('promptFor names the card wanted at every step', () => {
    expect(promptFor(newJournal(1), { kind: 'link-backup', index: 0 })).toBe('Tap backup card 1 of 1 (a blank card)');
    expect(promptFor(final, { kind: 'done' })).toBe('The backup is complete');
  });
});

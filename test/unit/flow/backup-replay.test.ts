/**
 * The backup steps and the multi-tap runner against RECORDED card sessions (test/record/backup-transcripts.ts
 * recorded them through pcscd from the reference v2 applet): one transcript per card presentation of a 1+2
 * protocol v2 backup with wrong cards and the primary pulled after its second BACKUP_EXPORT (the answer lost).
 * Replay is strict: the host must send exactly the recorded commands, and every recorded exchange must be used.
 *
 * Hostile cards are the same recordings with one answer altered: the host must name the card and the fault.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { fromHex, toHex, type ApduTransport } from '../../../src/apdu/index.js';
import { promptFor, runBackup, type BackupEvent } from '../../../src/flow/backup-runner.js';
import type { CardRequest, CardSource, PresentedCard } from '../../../src/flow/card-source.js';
import { loadJournal, saveJournal } from '../../../src/flow/journal.js';
import {
  completedSteps,
  isSealed,
  JournalError,
  newJournal,
  nextStep,
  type BackupJournal,
  type BackupRecord,
} from '../../../src/protocol/backup-model.js';
import { backupNeedsPin, BackupCardError, runStep, verifyJournal, WrongCardError, type StepContext } from '../../../src/protocol/backup.js';
import { TwincardCard } from '../../../src/protocol/card.js';
import { seededRandom } from '../../../src/protocol/seeded-random.js';
import { TRANSCRIPT_SEED } from '../../record/transcript-seed.js';
import { publicKeyOf } from '../../../src/protocol/crypto.js';
import { trustedRoots } from '../../../src/protocol/roots.js';
import { PcscError, ReplayTransport, parseTranscript } from '../../../src/readers/index.js';

const DIR = fileURLToPath(new URL('./transcripts/backup-1-2/', import.meta.url));
const FILES = readdirSync(DIR)
  .filter((f) => f.endsWith('.apdu'))
  .sort();
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
  const start = newJournal(2, new Date('2026-12-01T00:00:00Z'));
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
    sessionRandom: seededRandom(TRANSCRIPT_SEED),
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

const commands = (file: string) => parseTranscript(text(file)).map((x) => x.command.slice(0, 4));
const fileOf = (prefix: string) => FILES.find((f) => f.startsWith(prefix))!;

describe('the runner replaying a recorded 1+2 backup with wrong cards and a lost answer', () => {
  test('every recorded presentation is used, and each exactly as recorded', () => {
    expect(FILES).toHaveLength(11);
    expect(source.cards).toHaveLength(FILES.length);
    for (const card of source.cards) {
      if (card.lostCommand === undefined) card.replay.assertDone();
      else expect(card.replay.replayed).toBe(card.exchanges);
    }
    expect(source.outcomes).toEqual(FILES.map((f) => `${f.slice(0, 8)} ${/-(used|refused|lost)\.apdu$/.exec(f)![1]!}`));
  });

  test('wrong cards are refused with their reason, after SELECT and READ only', () => {
    const refused = events.flatMap((e) => (e.type === 'card-refused' ? [e.reason] : []));
    expect(refused).toEqual(['HAS_WALLET', 'PENDING_ELSEWHERE', 'SAME_BACKUP_TWICE', 'BACKUP_PRESENTED', 'STRANGER']);
    // SELECT and READ only (READ of a card with a wallet is longer than 256 bytes: GET RESPONSE)
    for (const file of FILES.filter((f) => f.includes('refused')))
      expect(commands(file).filter((c) => c !== '00C0')).toEqual(['00A4', '8010']);
  });

  test('steps complete in order (2N + 1); backup card 2 may import first; the loss repeats export-primary', () => {
    expect(events.flatMap((e) => (e.type === 'step-done' ? [e.step] : []))).toEqual([
      'prepare-backup-1',
      'prepare-backup-2',
      'export-primary',
      'import-2',
      'import-1',
    ]);
    expect(events.filter((e) => e.type === 'card-lost')).toHaveLength(1);
    expect(events.flatMap((e) => (e.type === 'checkpoint' ? [`${e.step}:${e.name}`] : []))).toEqual([
      'prepare-backup-1:claimed',
      'prepare-backup-2:claimed',
      'export-primary:exported-1',
      'export-primary:exported-2',
    ]);
    expect(nextStep(final)).toEqual({ kind: 'done' });
    expect(completedSteps(final)).toBe(5);
  });

  test("BACKUP_EXPORT's answer lost: the journal held card 1's blob, the primary counted both, only card 2's export was repeated", () => {
    expect(onDiskAtLoss?.backups.map((b) => b.stage)).toEqual(['sealed', 'prepared']);
    expect(onDiskAtLoss?.primary?.stage).toBe('exporting');
    // The lost presentation: a session, then both exports went out, wrapped (the second one's answer never came back).
    expect(commands(fileOf('07-'))).toEqual(['00A4', '8010', '00C0', '8070', '8420', '9462', '8462', '00C0', '9462']);
    // The repeat: the primary's READ counts both cards (a subset of the journal's: resumed), a new session, then one
    // export and FINALIZE.
    expect(commands(fileOf('08-'))).toEqual(['00A4', '8010', '00C0', '8070', '8420', '9462', '8462', '00C0', '8464', '8010', '00C0']);
    const blob = (r: BackupRecord | undefined) => (isSealed(r) ? toHex(r.sealed.blob) : undefined);
    expect(blob(final.backups[0])).toBe(blob(onDiskAtLoss!.backups[0]));
  });

  test('prompts say which tap of how many and which card, and ask again after a refusal', () => {
    const prompts = events.flatMap((e) => (e.type === 'need-card' ? [`${e.prompt}${e.again ? ' (again)' : ''}`] : []));
    expect(prompts.slice(0, 4)).toEqual([
      'Tap 1 of 5: backup card 1 of 2 (a blank card)',
      'Tap 1 of 5: backup card 1 of 2 (a blank card) (again)',
      'Tap 1 of 5: backup card 1 of 2 (a blank card) (again)',
      'Tap 2 of 5: backup card 2 of 2 (a blank card)',
    ]);
    expect(prompts).toContain('Tap 3 of 5: the primary card (the one that holds the wallet)');
    expect(prompts).toContain('Tap 4 of 5: backup card 1 of 2 again (it receives the wallet)');
  });

  test('the journal holds no access code; the code is needed until the primary is finalized', () => {
    const serialized = JSON.stringify(final, (_k, v: unknown) => (v instanceof Uint8Array ? toHex(v) : v));
    expect(serialized).not.toContain(toHex(PIN));
    expect(backupNeedsPin(final)).toBe(false);
    expect(backupNeedsPin(before.get('export-primary')!)).toBe(true);
  });
});

describe('the steps against hostile answers (recorded sessions, one answer altered)', () => {
  const context = (overrides: Partial<StepContext> = {}): StepContext => ({
    roots,
    pin: PIN,
    checkpoint: async () => undefined,
    ...overrides,
  });
  /**
   * A card replaying `transcript`, with the host's session randomness where the recording had it at that
   * presentation: the primary's first (07) starts the seeded stream, its repeat (08) continues after the
   * 4 draws of 07 (eH, then the IVs of VERIFY_PIN and two BACKUP_EXPORTs).
   */
  const card = (transcript: string, sessionDraws = 0) => {
    const replay = new ReplayTransport(transcript);
    const sessionRandom = seededRandom(TRANSCRIPT_SEED);
    for (let i = 0; i < sessionDraws; i++) sessionRandom(1);
    return { replay, card: new TwincardCard(replay, { sessionRandom }) };
  };
  const DRAWS_BEFORE_08 = 4;
  /** A presentation's transcript without the "lost" comment, so a step may fail before or at it. */
  const untilLost = (transcript: string) => transcript.replace(/^# lost.*\n# => .*$/m, '');
  /** The journal the lost presentation started from: both cards prepared, nothing sealed. */
  const beforeExport = () => before.get('export-primary')!;
  /** The offset of the blob header in BACKUP_EXPORT's first answer part: 11 41 EP | 12 LL seal | 15 81 C1 | header. */
  const headerOffset = (data: Uint8Array) => 2 + 65 + 2 + (data[68] as number) + 3;

  test('prepare-backup-1 replays exactly its recording and yields the record the run saved', async () => {
    const { replay, card: backup } = card(text(fileOf('03-')));
    const saved: string[] = [];
    const result = await runStep(
      before.get('prepare-backup-1')!,
      backup,
      context({ checkpoint: async (_j, name) => void saved.push(name) }),
    );
    replay.assertDone();
    expect(saved).toEqual(['claimed']);
    expect(result.step).toBe('prepare-backup-1');
    expect(result.journal.backups[0]).toEqual({ ...final.backups[0], stage: 'prepared', sealed: undefined });
  });

  test('no trusted root: the backup card is named as not genuine, before it is claimed or prepared', async () => {
    const { replay, card: backup } = card(text(fileOf('03-')));
    let saved = false;
    const error = await runStep(
      before.get('prepare-backup-1')!,
      backup,
      context({ roots: [], checkpoint: async () => void (saved = true) }),
    ).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BackupCardError);
    expect(error).toMatchObject({ fault: 'CERTIFICATE_UNTRUSTED', step: 'prepare-backup-1', role: { kind: 'backup', index: 0 } });
    expect((error as Error).message).toMatch(/^prepare-backup-1: backup card 1 of 2 \(card 424B5550[0-9A-F]{8}\): no manufacturer root/);
    expect(replay.replayed).toBe(2); // SELECT, READ only
    expect(saved).toBe(false);
  });

  test('a prepare signature that does not verify over B.id || EB is named, with the card', async () => {
    const { card: backup } = card(tampered(fileOf('03-'), 2, flip(1)));
    const error = await runStep(before.get('prepare-backup-1')!, backup, context()).catch((e: unknown) => e);
    expect(error).toMatchObject({ fault: 'PREPARE_SIGNATURE_INVALID', step: 'prepare-backup-1', role: { kind: 'backup', index: 0 } });
    expect((error as Error).message).toContain('backup card 1 of 2');
  });

  test('a seal signature that does not verify is named, and the blob is not saved', async () => {
    // Exchange 6 is the first BACKUP_EXPORT's answer (first part): 11 41 EP | 12 LL seal | ...
    // (0 SELECT, 1 READ, 2 its GET RESPONSE, 3 OPEN_SESSION, 4 VERIFY_PIN, 5 and 6 BACKUP_EXPORT's blocks)
    const transcript = untilLost(
      tampered(fileOf('07-'), 6, (data) => {
        const copy = data.slice();
        copy[69 + 10]! ^= 0x01; // inside r of the seal signature: still DER, no longer valid
        return copy;
      }),
    );
    let saved = false;
    const error = await runStep(beforeExport(), card(transcript).card, context({ checkpoint: async () => void (saved = true) })).catch(
      (e: unknown) => e,
    );
    expect(error).toMatchObject({
      name: 'BackupCardError',
      fault: 'SEAL_SIGNATURE_INVALID',
      step: 'export-primary',
      role: { kind: 'primary' },
    });
    expect((error as Error).message).toContain('its answer for backup card 1');
    expect(saved).toBe(false);
  });

  test('a blob whose header names another backup card is refused before it is saved', async () => {
    const transcript = untilLost(
      tampered(fileOf('07-'), 6, (data) => {
        const copy = data.slice();
        copy[headerOffset(data) + 16]! ^= 0x01; // 02 | P.id (8) | B.id (8): the last byte of B.id
        return copy;
      }),
    );
    let saved = false;
    const error = await runStep(beforeExport(), card(transcript).card, context({ checkpoint: async () => void (saved = true) })).catch(
      (e: unknown) => e,
    );
    expect(error).toMatchObject({ name: 'BackupCardError', fault: 'BLOB_HEADER_MISMATCH', step: 'export-primary' });
    expect((error as Error).message).toMatch(/the blob's header names backup card [0-9A-F]{16}, expected/);
    expect(saved).toBe(false);
  });

  test('a primary that counts a card this journal does not know is refused, naming it, before VERIFY_PIN', async () => {
    // The repeat's READ (SELECT, READ, GET RESPONSE): the last byte is the last byte of backup card 2's id.
    const { replay, card: primary } = card(tampered(fileOf('08-'), 2, flip(1)), DRAWS_BEFORE_08);
    const error = await runStep(onDiskAtLoss!, primary, context()).catch((e: unknown) => e);
    expect(error).toMatchObject({ name: 'BackupCardError', fault: 'UNKNOWN_BACKUP_CARD', step: 'export-primary' });
    expect((error as Error).message).toMatch(
      /already let a wallet blob out for card\(s\) 424B5550[0-9A-F]{8}, which this backup does not know/,
    );
    expect(replay.replayed).toBe(3);
  });

  test("after FINALIZE, a primary whose record is not exactly the journal's cards is named", async () => {
    // The READ after FINALIZE (exchanges 8 and 9): backup card 2's id altered in its last byte.
    const { card: primary } = card(tampered(fileOf('08-'), 10, flip(1)), DRAWS_BEFORE_08); // the GET RESPONSE of the READ after FINALIZE
    const error = await runStep(onDiskAtLoss!, primary, context()).catch((e: unknown) => e);
    expect(error).toMatchObject({ name: 'BackupCardError', fault: 'BACKUP_CARDS_MISMATCH', step: 'export-primary' });
    expect((error as Error).message).toContain('this backup has 2');
  });

  test('a backup card reporting another wallet key after BACKUP_IMPORT is named', async () => {
    const other = publicKeyOf(new Uint8Array(32).fill(7));
    const { card: backup } = card(
      tampered(fileOf('10-'), 4, (data) => Uint8Array.from([...data.slice(0, 2), ...other, ...data.slice(67)])),
    );
    const error = await runStep(before.get('import-2')!, backup, context()).catch((e: unknown) => e);
    expect(error).toMatchObject({
      name: 'BackupCardError',
      fault: 'WALLET_KEY_MISMATCH',
      step: 'import-2',
      role: { kind: 'backup', index: 1 },
    });
  });

  test('a wrong card costs SELECT and READ only, and names why', async () => {
    const { replay, card: primary } = card(text(fileOf('01-')));
    const error = await runStep(newJournal(2), primary, context()).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(WrongCardError);
    expect(error).toMatchObject({ reason: 'HAS_WALLET', state: 'WALLET' });
    replay.assertDone();
  });

  test('export-primary needs the access code', async () => {
    const { replay, card: primary } = card(text(fileOf('08-')), DRAWS_BEFORE_08);
    await expect(runStep(onDiskAtLoss!, primary, context({ pin: undefined }))).rejects.toMatchObject({ name: 'PinRequiredError' });
    expect(replay.replayed).toBe(3); // SELECT, READ and its GET RESPONSE: no session was opened without a code to send
  });
});

describe('verifyJournal: a journal file is checked like a card', () => {
  type Mutable = { -readonly [K in keyof BackupJournal]: BackupJournal[K] };
  const edit = (change: (j: Mutable) => void): BackupJournal => {
    const copy = structuredClone(final) as Mutable;
    change(copy);
    return copy;
  };
  const sealedAt = (j: BackupJournal, i: number) => {
    const record = j.backups[i];
    if (!isSealed(record)) throw new Error(`backup ${i} is not sealed`);
    return record;
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
      'the two EBs swapped',
      () =>
        edit(
          (j) =>
            void (j.backups = [
              { ...sealedAt(j, 0), ephemeralKey: sealedAt(j, 1).ephemeralKey },
              { ...sealedAt(j, 1), ephemeralKey: sealedAt(j, 0).ephemeralKey },
            ]),
        ),
      roots,
      /journal\.backups\[0\]\.prepareSignature: does not verify/,
    ],
    [
      'the two seal signatures swapped',
      () =>
        edit(
          (j) =>
            void (j.backups = [
              { ...sealedAt(j, 0), sealed: { ...sealedAt(j, 0).sealed, sealSignature: sealedAt(j, 1).sealed.sealSignature } },
              { ...sealedAt(j, 1), sealed: { ...sealedAt(j, 1).sealed, sealSignature: sealedAt(j, 0).sealed.sealSignature } },
            ]),
        ),
      roots,
      /journal\.backups\[0\]\.sealed: the seal signature does not verify/,
    ],
    [
      'the blobs swapped between the cards',
      () =>
        edit(
          (j) =>
            void (j.backups = [
              { ...sealedAt(j, 0), sealed: { ...sealedAt(j, 0).sealed, blob: sealedAt(j, 1).sealed.blob } },
              { ...sealedAt(j, 1), sealed: { ...sealedAt(j, 1).sealed, blob: sealedAt(j, 0).sealed.blob } },
            ]),
        ),
      roots,
      /journal\.backups\[0\]\.sealed: the blob's header names backup card/,
    ],
  ])('%s', (_name, journal, trusted, message) => {
    expect(() => verifyJournal(journal(), trusted)).toThrow(JournalError);
    expect(() => verifyJournal(journal(), trusted)).toThrow(message);
  });

  test('promptFor names the tap and the card wanted at every step', () => {
    expect(promptFor(newJournal(1), { kind: 'prepare-backup', index: 0 })).toBe('Tap 1 of 3: backup card 1 of 1 (a blank card)');
    expect(promptFor(final, { kind: 'done' })).toBe('The backup is complete');
  });
});

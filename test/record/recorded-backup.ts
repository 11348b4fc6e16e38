/**
 * Replaying a `twincard backup --record FILE` transcript through the runner and the protocol layer, as a
 * developer does with a user's file: the file's presentations are handed out in order as the cards a person
 * tapped, each a strict {@link ReplayTransport}; when they run out, the run stops as the recorded one did
 * (a card not presented in time).
 *
 * Two things a recorded file cannot give back, by design:
 * - the host's session randomness (eH, IVs): a byte-exact replay needs the run made with the CLI's
 *   TWINCARD_TEST_SESSION_SEED test hook (TEST cards only) and the same seed here;
 * - BACKUP_EXPORT's answer (EP, the seal signature, the blob), redacted: the replay answers 00 for it, which the
 *   host rightly refuses. {@link fillExportAnswers} puts back the sealed exports the run's journal saved.
 * @module
 */
import { encodeProtocolTlvs, toHex, type ApduTransport } from '../../src/apdu/index.js';
import { runBackup, type BackupEvent } from '../../src/flow/backup-runner.js';
import type { CardRequest, CardSource, PresentedCard } from '../../src/flow/card-source.js';
import type { BackupJournal, SealedBlob } from '../../src/protocol/backup-model.js';
import { Ins, Tag } from '../../src/protocol/constants.js';
import type { TrustedRoot } from '../../src/protocol/roots.js';
import { seededRandom } from '../../src/protocol/seeded-random.js';
import { parseTranscript, PcscError, ReplayTransport, splitPresentations } from '../../src/readers/index.js';

/** The recorded run had no more cards to give: where the recorded run stopped (or ended). */
export class RecordingExhaustedError extends Error {
  override readonly name = 'RecordingExhaustedError';
}

/** One recorded presentation; a command whose answer never came (`# => ...` then `# no answer`) throws PcscError. */
export class RecordedCard implements ApduTransport {
  readonly replay: ReplayTransport;
  readonly lostCommand: string | undefined;
  readonly exchanges: number;

  constructor(transcript: string) {
    this.replay = new ReplayTransport(transcript);
    this.lostCommand = /^# => ([0-9A-F. ]+)$/m.exec(transcript)?.[1]?.replace(/ /g, '');
    this.exchanges = parseTranscript(transcript).length;
  }

  async transmit(apdu: Uint8Array): Promise<Uint8Array> {
    if (this.lostCommand !== undefined && this.replay.replayed === this.exchanges) {
      const sent = toHex(apdu);
      const same =
        sent.length === this.lostCommand.length &&
        Array.from(sent).every((c, i) => this.lostCommand![i] === '.' || this.lostCommand![i] === c);
      if (!same) throw new Error(`the recorded card left after => ${this.lostCommand}, but the code sent => ${sent}`);
      throw new PcscError('transmit: no answer (recorded: the card left)', 0x80100016, 'transaction-failed');
    }
    return this.replay.transmit(apdu);
  }

  /** Every recorded exchange was replayed (the lost one included, when there is one). */
  assertDone(): void {
    if (this.lostCommand === undefined) this.replay.assertDone();
    else if (this.replay.replayed !== this.exchanges)
      throw new Error(`${this.exchanges - this.replay.replayed} exchange(s) never replayed before the lost one`);
  }
}

/** The presentations of one recorded file, in order, as a card source. */
export class RecordedRunSource implements CardSource {
  readonly interactive = true;
  readonly cards: RecordedCard[] = [];
  readonly outcomes: string[] = [];
  readonly #presentations: ReturnType<typeof splitPresentations>;
  #next = 0;

  constructor(text: string) {
    this.#presentations = splitPresentations(text);
  }

  async next(request: CardRequest): Promise<PresentedCard> {
    const presentation = this.#presentations[this.#next++];
    if (presentation === undefined) throw new RecordingExhaustedError(`no recorded card left for: ${request.prompt}`);
    const card = new RecordedCard(presentation.transcript);
    this.cards.push(card);
    return {
      transport: card,
      where: `presentation ${presentation.index} (${presentation.reader})`,
      identified: () => undefined,
      release: async (outcome) => {
        this.outcomes.push(outcome);
      },
    };
  }

  async close(): Promise<void> {}
}

/**
 * The transcript with each redacted BACKUP_EXPORT answer (its chain of responses, GET RESPONSE included)
 * filled with the next of `exports`, in order: exactly as many `..` bytes as the answer's encoding has.
 * @throws Error when the file has a different number of redacted answers, or one of another length
 */
export function fillExportAnswers(text: string, exports: readonly SealedBlob[]): string {
  const lines = text.split('\n');
  const groups: number[][] = [];
  let inExport = false;
  lines.forEach((line, i) => {
    if (line.startsWith('=> ')) {
      const ins = Number.parseInt(line.slice(5, 7), 16);
      if (ins === Ins.BACKUP_EXPORT) {
        if (!inExport) groups.push([]);
        inExport = true;
      } else if (ins !== 0xc0) {
        inExport = false;
      }
    } else if (inExport && line.startsWith('<= ') && line.includes('..')) {
      groups[groups.length - 1]!.push(i);
    }
  });
  const redactedGroups = groups.filter((g) => g.length > 0);
  if (redactedGroups.length !== exports.length)
    throw new Error(`${redactedGroups.length} redacted BACKUP_EXPORT answer(s) in the file, ${exports.length} export(s) given`);
  redactedGroups.forEach((group, k) => {
    const sealed = exports[k]!;
    const answer = encodeProtocolTlvs([
      [Tag.PRIMARY_EPHEMERAL_KEY, sealed.ephemeralKey],
      [Tag.SEAL_SIGNATURE, sealed.sealSignature],
      [Tag.WALLET_BLOB, sealed.blob],
    ]);
    let offset = 0;
    for (const i of group) {
      lines[i] = lines[i]!.replace(/\.\./g, () => {
        const byte = answer[offset++];
        if (byte === undefined) throw new Error(`line ${i + 1}: more redacted bytes than the answer's ${answer.length}`);
        return byte.toString(16).toUpperCase().padStart(2, '0');
      });
    }
    if (offset !== answer.length) throw new Error(`export ${k + 1}: ${offset} redacted bytes, the answer has ${answer.length}`);
  });
  return lines.join('\n');
}

/** The sealed exports a journal holds, in backup-card order. */
export function sealedExports(journal: BackupJournal): SealedBlob[] {
  return journal.backups.flatMap((b) => (b.stage === 'sealed' || b.stage === 'imported' ? [b.sealed] : []));
}

export interface ReplayedRun {
  /** The journal when the replay stopped (where the recorded run stopped, or done). */
  readonly journal: BackupJournal;
  readonly events: BackupEvent[];
  readonly source: RecordedRunSource;
  /** Undefined when the run completed; else why it stopped (RecordingExhaustedError: cards ran out). */
  readonly stopped: unknown;
}

/**
 * Replays one recorded `twincard backup` run from `journal` (a new one, or the journal a resumed run started
 * from), with the host's session randomness from `seed`, as the CLI's test hook made it.
 */
export async function replayRun(
  text: string,
  journal: BackupJournal,
  options: { readonly journalPath: string; readonly roots: readonly TrustedRoot[]; readonly pin: Uint8Array; readonly seed: string },
): Promise<ReplayedRun> {
  const source = new RecordedRunSource(text);
  const events: BackupEvent[] = [];
  let current = journal;
  try {
    const final = await runBackup(journal, {
      source,
      journalPath: options.journalPath,
      roots: options.roots,
      pin: options.pin,
      sessionRandom: seededRandom(options.seed),
      onEvent: (event) => {
        events.push(event);
        if (event.type === 'step-done' || event.type === 'checkpoint') current = event.journal;
      },
    });
    return { journal: final, events, source, stopped: undefined };
  } catch (error) {
    return { journal: current, events, source, stopped: error };
  }
}

/** The files of a 1+1 backup recorded in three runs (test/integration/record.test.ts): each stops where the next one resumes. */
export interface ThreeRuns {
  /** `backup --backups 1 --record`: prepare-backup-1 on the backup card, then no primary in time (exit 9). */
  readonly prepare: string;
  /** `backup --resume --record`: export-primary, then no backup card in time (exit 9). */
  readonly exportPrimary: string;
  /** `backup --resume --record`: import-1, done. */
  readonly import: string;
  /** The journal the CLI left after the export run: the sealed export its redacted answer hides. */
  readonly journalAfterExport: BackupJournal;
}

/**
 * Replays the three runs in order, each from the journal its recorded run started from (the first from a new
 * one; the next from the replay's own journal: what the replay made of the run before).
 */
export async function replayThreeRuns(
  runs: ThreeRuns,
  start: BackupJournal,
  options: { readonly journalPath: string; readonly roots: readonly TrustedRoot[]; readonly pin: Uint8Array; readonly seed: string },
): Promise<[ReplayedRun, ReplayedRun, ReplayedRun]> {
  const first = await replayRun(runs.prepare, start, options);
  const second = await replayRun(fillExportAnswers(runs.exportPrimary, sealedExports(runs.journalAfterExport)), first.journal, options);
  const third = await replayRun(runs.import, second.journal, options);
  return [first, second, third];
}

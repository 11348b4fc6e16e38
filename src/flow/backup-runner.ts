/**
 * The backup a person runs: the journal's steps (src/protocol/backup.ts) driven as an explicit state
 * machine over a {@link CardSource}, one card at a time.
 *
 *   loop: step = nextStep(journal)            what is needed next, derived from the journal only
 *         emit need-card ("Tap 1 of 5: backup card 1 of 2 (a blank card)")
 *         card = source.next(request)          a tap, or the right reader of a bench
 *         runStep(journal, card)               SELECT + READ recognise it first
 *           wrong card  -> emit card-refused, nothing changed on it, ask again
 *           card lost   -> emit card-lost, journal unchanged, ask for it again and repeat the step
 *           done        -> save the journal atomically, emit step-done
 *
 * The journal on disk is always the last completed step or a checkpoint inside one (a claimed card
 * before BACKUP_PREPARE, each blob as the primary exports it), so a
 * crash, a Ctrl-C or a pulled card at any moment leaves something `--resume` continues from.
 * The runner never prints: callers subscribe to events.
 * @module
 */
import {
  describeRole,
  runStep,
  stepLabel,
  WrongCardError,
  type CardRole,
  type CheckpointName,
  type StepLabel,
  type WrongCardReason,
} from '../protocol/backup.js';
import { completedSteps, nextStep, totalSteps, type BackupJournal, type NextStep } from '../protocol/backup-model.js';
import { TwincardCard } from '../protocol/card.js';
import type { TrustedRoot } from '../protocol/roots.js';
import { PcscError } from '../readers/index.js';
import { NoMatchingCardError, type CardRequest, type CardSource, type PresentedCard } from './card-source.js';
import { saveJournal } from './journal.js';

export type BackupEvent =
  /** A card is needed. `prompt` is for a person ("Tap 3 of 5: the primary card (the one that holds the wallet)"). */
  | { readonly type: 'need-card'; readonly step: NextStep; readonly prompt: string; readonly again: boolean }
  /** The step recognised the card and starts changing things on it. */
  | {
      readonly type: 'step-started';
      readonly step: StepLabel;
      readonly where: string;
      readonly cardId: Uint8Array;
      readonly role: CardRole;
      /** The card is certified by a TEST root only: it proves nothing (the CLI warns each time). */
      readonly testCard: boolean;
    }
  /**
   * Tap mode: the step works on the card from now until 'step-done'; the person must keep it still (a
   * card taken away mid-step only costs a repeat, but a tap is quicker when it is not lost).
   */
  | { readonly type: 'hold-still'; readonly step: StepLabel; readonly where: string; readonly cardId: Uint8Array }
  /** Not the card wanted; it was not changed. */
  | { readonly type: 'card-refused'; readonly where: string; readonly reason: WrongCardReason; readonly message: string }
  /** The card went away (or its exchange broke) mid-step; the step will be repeated from the journal. */
  | { readonly type: 'card-lost'; readonly where: string; readonly message: string }
  /** The journal was saved inside a step (a card claimed before BACKUP_PREPARE; a blob after its BACKUP_EXPORT). */
  | { readonly type: 'checkpoint'; readonly step: StepLabel; readonly name: CheckpointName; readonly journal: BackupJournal }
  /** A step completed and its journal is saved. `number` counts completed steps, out of `total`. */
  | {
      readonly type: 'step-done';
      readonly step: StepLabel;
      readonly where: string;
      readonly cardId: Uint8Array;
      readonly number: number;
      readonly total: number;
      readonly journal: BackupJournal;
    };

export interface BackupRunOptions {
  readonly source: CardSource;
  /** Where the journal lives; it is replaced atomically after every step. */
  readonly journalPath: string;
  readonly roots: readonly TrustedRoot[];
  /** The access code, needed only while the primary still has work to do. */
  readonly pin?: Uint8Array | undefined;
  readonly onEvent?: (event: BackupEvent) => void;
  /** Aborting stops at the next wait or between steps; the journal stays valid. */
  readonly signal?: AbortSignal;
  /**
   * The session's randomness (eH, IVs) for every card of the run. ONLY for recording and replaying
   * transcripts (see TwincardCardOptions.sessionRandom); a real backup leaves it unset.
   */
  readonly sessionRandom?: (length: number) => Uint8Array;
  /** How many times in a row a card may be lost before giving up (default 50). */
  readonly maxLostInARow?: number;
}

/** The card kept going away: more losses in a row than allowed. */
export class TooManyLostCardsError extends Error {
  override readonly name = 'TooManyLostCardsError';
}

/**
 * The sentence a person reads for a step: which tap of how many, which card, and what it is.
 * @example promptFor(journal, { kind: 'export-primary' }) // 'Tap 3 of 5: the primary card (the one that holds the wallet)'
 */
export function promptFor(journal: BackupJournal, step: NextStep): string {
  const tap = `Tap ${completedSteps(journal) + 1} of ${totalSteps(journal.backupCount)}`;
  switch (step.kind) {
    case 'prepare-backup':
      return `${tap}: ${describeRole({ kind: 'backup', index: step.index }, journal.backupCount)} (a blank card)`;
    case 'export-primary':
      return `${tap}: the primary card (the one that holds the wallet)`;
    case 'import':
      return `${tap}: ${describeRole({ kind: 'backup', index: step.index }, journal.backupCount)} again (it receives the wallet)`;
    case 'done':
      return 'The backup is complete';
  }
}

/**
 * Whether an error means "the card went away mid-step" (retry the step with the card again), as
 * opposed to an answer from the card or a fault of ours.
 */
export function isCardLost(error: unknown): error is PcscError {
  if (!(error instanceof PcscError)) return false;
  if (error.code === 0x80100068) return true; // SCARD_W_RESET_CARD: someone reset it under us
  return ['card-removed', 'transaction-failed', 'no-card', 'unpowered', 'unresponsive'].includes(error.kind);
}

/**
 * Runs the backup from `journal` to the end.
 * @returns the final journal (every card done). The caller decides what to do with the file.
 * @throws BackupCardError, CardRefusedError, WrongPinError, PinBlockedError, MalformedResponseError
 *   (the step that failed is not in the journal: after the cause is fixed, resuming repeats it);
 *   CardWaitTimeoutError, NoMatchingCardError, the signal's reason (interrupted: resumable);
 *   TooManyLostCardsError.
 */
export async function runBackup(journal: BackupJournal, options: BackupRunOptions): Promise<BackupJournal> {
  const emit = (event: BackupEvent) => options.onEvent?.(event);
  const maxLost = options.maxLostInARow ?? 50;
  const total = totalSteps(journal.backupCount);
  let current = journal;
  let requestId = 0;
  let lostInARow = 0;
  let again = false;
  let lastStep: string | undefined;
  let refusals: string[] = [];
  // Cards refused as not blank (a wallet, a finished or another pending backup): a bench need not read
  // them again for the next backup card. Nothing a backup step does makes such a card blank.
  const notBlank: Uint8Array[] = [];
  for (;;) {
    options.signal?.throwIfAborted();
    const step = nextStep(current);
    const label = stepLabel(step);
    if (step.kind === 'done' || label === 'done') return current;
    const stepKey = JSON.stringify(step);
    if (stepKey !== lastStep) {
      // A new request: a bench may offer again the cards it offered for the previous step.
      again = false;
      requestId += 1;
      refusals = [];
    }
    lastStep = stepKey;
    const prompt = promptFor(current, step);
    const wanted = wantedIds(current, step);
    const request: CardRequest = {
      id: requestId,
      prompt,
      ...wanted,
      ...(step.kind === 'prepare-backup' && { unwantedCardIds: [...wanted.unwantedCardIds, ...notBlank] }),
    };
    emit({ type: 'need-card', step, prompt, again });
    let presented: PresentedCard;
    try {
      presented = await options.source.next(request, options.signal);
    } catch (error) {
      // A bench that ran out of cards: say why each card present was not the one.
      if (error instanceof NoMatchingCardError && refusals.length > 0) throw new NoMatchingCardError(error.prompt, error.readers, refusals);
      throw error;
    }
    let outcome: 'used' | 'refused' | 'lost' = 'used';
    try {
      const card = new TwincardCard(
        presented.transport,
        options.sessionRandom === undefined ? {} : { sessionRandom: options.sessionRandom },
      );
      const result = await runStep(current, card, {
        roots: options.roots,
        pin: options.pin,
        checkpoint: async (checkpointed, name) => {
          await saveJournal(options.journalPath, checkpointed);
          current = checkpointed;
          emit({ type: 'checkpoint', step: label, name, journal: checkpointed });
        },
        onRecognised: (label, role, cardId, testCard) => {
          presented.identified(cardId);
          emit({ type: 'step-started', step: label, where: presented.where, cardId, role, testCard });
          emit({ type: 'hold-still', step: label, where: presented.where, cardId });
        },
      });
      await saveJournal(options.journalPath, result.journal);
      current = result.journal;
      lostInARow = 0;
      emit({
        type: 'step-done',
        step: result.step,
        where: presented.where,
        cardId: result.cardId,
        number: completedSteps(current),
        total,
        journal: current,
      });
    } catch (error) {
      if (error instanceof WrongCardError) {
        // Read by the finally below, which `continue` runs (ESLint's rule does not follow finally).
        // eslint-disable-next-line no-useless-assignment -- see above
        outcome = 'refused';
        if (error.cardId !== undefined) presented.identified(error.cardId);
        emit({ type: 'card-refused', where: presented.where, reason: error.reason, message: error.message });
        refusals.push(`${presented.where}: ${error.message}`);
        if (error.cardId !== undefined && NOT_BLANK.has(error.reason)) notBlank.push(error.cardId);
        again = true;
        continue;
      }
      if (isCardLost(error)) {
        outcome = 'lost';
        lostInARow += 1;
        emit({ type: 'card-lost', where: presented.where, message: error.message });
        if (lostInARow > maxLost) throw new TooManyLostCardsError(`the card went away ${lostInARow} times in a row: ${error.message}`);
        again = true;
        continue;
      }
      throw error;
    } finally {
      await presented.release(outcome);
    }
  }
}

const NOT_BLANK: ReadonlySet<WrongCardReason> = new Set(['HAS_WALLET', 'OTHER_BACKUP', 'PENDING_ELSEWHERE']);

/** Which card ids the step accepts, or certainly does not: lets a bench skip readers it already knows. */
function wantedIds(journal: BackupJournal, step: NextStep): Pick<CardRequest, 'wantedCardIds' | 'unwantedCardIds'> {
  const primaryId = journal.primary?.cardId;
  const primaryIds = primaryId === undefined ? [] : [primaryId];
  switch (step.kind) {
    case 'prepare-backup': {
      // Any blank card will do (even instead of one claimed before that never answered): only the
      // cards already in other slots are known not to.
      const others = journal.backups.filter((_, i) => i !== step.index).map((b) => b.cardId);
      return { unwantedCardIds: [...primaryIds, ...others] };
    }
    case 'export-primary':
      return { ...(primaryId && { wantedCardIds: primaryIds }), unwantedCardIds: journal.backups.map((b) => b.cardId) };
    case 'import':
      return { wantedCardIds: journal.backups.filter((b) => b.stage !== 'imported').map((b) => b.cardId), unwantedCardIds: primaryIds };
    case 'done':
      return { unwantedCardIds: [] };
  }
}

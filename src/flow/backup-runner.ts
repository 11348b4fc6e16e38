/**
 * The backup a person runs: the journal's steps (src/protocol/backup.ts) driven as an explicit state
 * machine over a {@link CardSource}, one card at a time.
 *
 *   loop: step = nextStep(journal)            what is needed next, derived from the journal only
 *         emit need-card ("tap backup card 1 of 2")
 *         card = source.next(request)          a tap, or the right reader of a bench
 *         runStep(journal, card)               SELECT + READ recognise it first
 *           wrong card  -> emit card-refused, nothing changed on it, ask again
 *           card lost   -> emit card-lost, journal unchanged, ask for it again and repeat the step
 *           done        -> save the journal atomically, emit step-done
 *
 * The journal on disk is always the last completed step (plus finish-primary's checkpoint), so a
 * crash, a Ctrl-C or a pulled card at any moment leaves something `--resume` continues from.
 * The runner never prints: callers subscribe to events.
 * @module
 */
import { toHex } from '../apdu/index.js';
import {
  describeRole,
  runStep,
  WrongCardError,
  type CardRole,
  type StepLabel,
  type WrongCardReason,
} from '../protocol/backup.js';
import { TwincardCard } from '../protocol/card.js';
import type { TrustedRoot } from '../protocol/roots.js';
import { PcscError } from '../readers/index.js';
import { NoMatchingCardError, type CardRequest, type CardSource, type PresentedCard } from './card-source.js';
import { nextStep, saveJournal, type BackupJournal, type NextStep } from './journal.js';

export type BackupEvent =
  /** A card is needed. `prompt` is for a person ("Tap the primary card"). */
  | { readonly type: 'need-card'; readonly step: NextStep; readonly prompt: string; readonly again: boolean }
  /** The step recognised the card and starts changing things on it. */
  | { readonly type: 'step-started'; readonly step: StepLabel; readonly where: string; readonly cardId: Uint8Array; readonly role: CardRole }
  /** Not the card wanted; it was not changed. */
  | { readonly type: 'card-refused'; readonly where: string; readonly reason: WrongCardReason; readonly message: string }
  /** The card went away (or its exchange broke) mid-step; the step will be repeated from the journal. */
  | { readonly type: 'card-lost'; readonly where: string; readonly message: string }
  /** The journal was saved inside a step (finish-primary: the blobs, before FINALIZE_BACKUP). */
  | { readonly type: 'checkpoint'; readonly step: StepLabel; readonly name: 'exported'; readonly journal: BackupJournal }
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
  /** How many times in a row a card may be lost before giving up (default 50). */
  readonly maxLostInARow?: number;
}

/** The card kept going away: more losses in a row than allowed. */
export class TooManyLostCardsError extends Error {
  override readonly name = 'TooManyLostCardsError';
}

/** A backup of N cards has 2N + 2 card steps (section 7). */
export function totalSteps(backupCount: 1 | 2): number {
  return 2 * backupCount + 2;
}

/** How many steps a journal has completed. */
export function completedSteps(journal: BackupJournal): number {
  const { primary, backups } = journal;
  let done = primary?.ephemeralKey !== undefined ? 1 : 0;
  done += backups.filter((b) => b.ephemeralKey !== undefined).length;
  if (primary?.finalized === true) done += 1;
  done += backups.filter((b) => b.imported).length;
  return done;
}

/** The sentence a person reads for a step: which card to tap. */
export function promptFor(journal: BackupJournal, step: NextStep): string {
  switch (step.kind) {
    case 'start-primary':
      return 'Tap the primary card (the card holding the wallet)';
    case 'link-backup':
      return `Tap ${describeRole({ kind: 'backup', index: step.index }, journal.backupCount)} (a blank card)`;
    case 'finish-primary':
      return 'Tap the primary card again';
    case 'import':
      return `Tap ${describeRole({ kind: 'backup', index: step.index }, journal.backupCount)} again`;
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
  for (;;) {
    options.signal?.throwIfAborted();
    const step = nextStep(current);
    if (step.kind === 'done') return current;
    const stepKey = JSON.stringify(step);
    if (stepKey !== lastStep) {
      // A new request: a bench may offer again the cards it offered for the previous step.
      again = false;
      requestId += 1;
      refusals = [];
    }
    lastStep = stepKey;
    const prompt = promptFor(current, step);
    const request: CardRequest = { id: requestId, prompt, ...wantedIds(current, step) };
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
      const card = new TwincardCard(presented.transport);
      const result = await runStep(current, card, {
        roots: options.roots,
        pin: options.pin,
        checkpoint: async (checkpointed) => {
          await saveJournal(options.journalPath, checkpointed);
          current = checkpointed;
          emit({ type: 'checkpoint', step: 'finish-primary', name: 'exported', journal: checkpointed });
        },
        onRecognised: (label, role, cardId) => {
          presented.identified(cardId);
          emit({ type: 'step-started', step: label, where: presented.where, cardId, role });
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
        outcome = 'refused';
        if (error.cardId !== undefined) presented.identified(error.cardId);
        emit({ type: 'card-refused', where: presented.where, reason: error.reason, message: error.message });
        refusals.push(`${presented.where}: ${error.message}`);
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

/** Which card ids the step accepts, or certainly does not: lets a bench skip readers it already knows. */
function wantedIds(journal: BackupJournal, step: NextStep): Pick<CardRequest, 'wantedCardIds' | 'unwantedCardIds'> {
  const primaryId = journal.primary?.cardId;
  const backupIds = journal.backups.map((b) => b.cardId);
  switch (step.kind) {
    case 'start-primary':
      return { unwantedCardIds: backupIds, ...(primaryId && { wantedCardIds: [primaryId] }) };
    case 'link-backup': {
      const slot = journal.backups[step.index];
      return slot === undefined
        ? { unwantedCardIds: [...(primaryId ? [primaryId] : []), ...backupIds] }
        : { wantedCardIds: [slot.cardId], unwantedCardIds: [] };
    }
    case 'finish-primary':
      return { wantedCardIds: primaryId ? [primaryId] : [], unwantedCardIds: backupIds };
    case 'import':
      return { wantedCardIds: journal.backups.filter((b) => !b.imported).map((b) => b.cardId), unwantedCardIds: primaryId ? [primaryId] : [] };
    case 'done':
      return { unwantedCardIds: [] };
  }
}

/** For messages: `0102030405060708`. */
export function cardLabel(cardId: Uint8Array): string {
  return toHex(cardId);
}

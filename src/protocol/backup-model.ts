/**
 * The backup as data (docs/protocol.md section 7, docs/backup-flow.md): what the host knows of each
 * card between taps, and the step that comes next. Pure: no I/O, no card, no file. The steps that
 * move it forward are in backup.ts; the file that holds it (format, atomic save, lock) is
 * src/flow/journal.ts.
 *
 * A backup card goes claimed -> prepared -> sealed -> imported; the primary, seen once, is recorded
 * from its first sealed export on (exporting), then finalized. Each record carries exactly the
 * fields its stage has, so no code needs to assert that a field is there.
 * @module
 */
import { toHex } from '../apdu/index.js';
import { equalBytes } from './crypto.js';

/**
 * A blank card taken for a slot, saved BEFORE BACKUP_PREPARE is sent: if the answer is lost, the
 * card comes back BACKUP_PENDING and the journal says it is ours (a pending card the journal does not
 * name belongs to another backup and is refused).
 */
export interface ClaimedBackupCard {
  readonly stage: 'claimed';
  readonly cardId: Uint8Array;
  readonly certificate: Uint8Array;
}

/** BACKUP_PREPARE's answer, verified: EB signed by the certified identity key. */
export interface PreparedBackupCard {
  readonly stage: 'prepared';
  readonly cardId: Uint8Array;
  readonly certificate: Uint8Array;
  /** EB, 65 bytes. */
  readonly ephemeralKey: Uint8Array;
  readonly prepareSignature: Uint8Array;
}

/** The primary's BACKUP_EXPORT answer for one backup card, verified (seal signature, blob header). */
export interface SealedBlob {
  /** EP, 65 bytes, made for this one export. */
  readonly ephemeralKey: Uint8Array;
  readonly sealSignature: Uint8Array;
  /** 193 bytes, sealed to the card's EB: only that card can open it. */
  readonly blob: Uint8Array;
}

/** A prepared card the primary has exported to: the primary counts it from now on (invariant I2). */
export interface SealedBackupCard extends Omit<PreparedBackupCard, 'stage'> {
  readonly stage: 'sealed';
  readonly sealed: SealedBlob;
}

/** A card that imported its blob: it holds the wallet. */
export interface ImportedBackupCard extends Omit<SealedBackupCard, 'stage'> {
  readonly stage: 'imported';
}

export type BackupRecord = ClaimedBackupCard | PreparedBackupCard | SealedBackupCard | ImportedBackupCard;
/** The records that hold an EB. */
export type PreparedOrLater = Exclude<BackupRecord, ClaimedBackupCard>;
/** The records that hold a sealed blob. */
export type SealedOrImported = SealedBackupCard | ImportedBackupCard;

/**
 * The primary, recorded at its first sealed export (before that it has nothing of this backup: a
 * primary keeps no backup state until a blob leaves it).
 */
export interface PrimaryRecord {
  /** `exporting`: BACKUP_EXPORTING, at least one blob out; `finalized`: BACKUP_FINALIZE answered. */
  readonly stage: 'exporting' | 'finalized';
  readonly cardId: Uint8Array;
  readonly certificate: Uint8Array;
  readonly walletPublicKey: Uint8Array;
}

export interface BackupJournal {
  readonly backupCount: 1 | 2;
  readonly createdAt: string;
  /** Slot i is backup card i + 1; at most backupCount. */
  readonly backups: readonly BackupRecord[];
  readonly primary?: PrimaryRecord;
}

/** What the backup needs next, and from which card. */
export type NextStep =
  | { readonly kind: 'prepare-backup'; readonly index: number }
  | { readonly kind: 'export-primary' }
  | { readonly kind: 'import'; readonly index: number }
  | { readonly kind: 'done' };

/** A journal (from a file, or built by a caller) that breaks the model's rules, or does not verify. */
export class JournalError extends Error {
  override readonly name = 'JournalError';
}

export function newJournal(backupCount: 1 | 2, now: Date = new Date()): BackupJournal {
  return { backupCount, createdAt: now.toISOString(), backups: [] };
}

export function isPrepared(record: BackupRecord | undefined): record is PreparedOrLater {
  return record !== undefined && record.stage !== 'claimed';
}

export function isSealed(record: BackupRecord | undefined): record is SealedOrImported {
  return record?.stage === 'sealed' || record?.stage === 'imported';
}

/**
 * The step a journal is at: every backup card prepared (in slot order), then the primary (exports
 * and finalize), then each backup card's import (any order; the first one pending is named).
 */
export function nextStep(journal: BackupJournal): NextStep {
  for (let index = 0; index < journal.backupCount; index++) {
    if (!isPrepared(journal.backups[index])) return { kind: 'prepare-backup', index };
  }
  if (journal.primary?.stage !== 'finalized') return { kind: 'export-primary' };
  const pending = journal.backups.findIndex((b) => b.stage !== 'imported');
  return pending >= 0 ? { kind: 'import', index: pending } : { kind: 'done' };
}

/** The steps a backup to N cards takes: 2N + 1 (N prepares, the primary once, N imports). */
export function totalSteps(backupCount: 1 | 2): number {
  return 2 * backupCount + 1;
}

/** How many of those steps the journal has completed. */
export function completedSteps(journal: BackupJournal): number {
  const prepared = journal.backups.filter(isPrepared).length;
  const imported = journal.backups.filter((b) => b.stage === 'imported').length;
  return prepared + (journal.primary?.stage === 'finalized' ? 1 : 0) + imported;
}

/** The slot of a card id in the journal, or -1. */
export function slotOf(journal: BackupJournal, cardId: Uint8Array): number {
  return journal.backups.findIndex((b) => equalBytes(b.cardId, cardId));
}

/**
 * Checks the rules that tie the records together (a file may hold any combination): distinct ids, at
 * most backupCount cards, a primary only once a blob is sealed, a finalized primary only with every
 * card sealed, an import only after finalize, every sealed blob's card prepared.
 * @throws JournalError naming the first rule broken.
 */
export function checkJournalConsistency(journal: BackupJournal): void {
  const { backups, primary } = journal;
  if (backups.length > journal.backupCount) {
    throw new JournalError(`journal.backups: ${backups.length} cards for a backup to ${journal.backupCount}`);
  }
  const ids = [...(primary ? [primary.cardId] : []), ...backups.map((b) => b.cardId)].map(toHex);
  if (new Set(ids).size !== ids.length) throw new JournalError('journal: the same card id appears twice');
  const sealed = backups.filter(isSealed).length;
  if (primary === undefined && sealed > 0) throw new JournalError('journal.primary: missing, though a blob was sealed');
  if (primary !== undefined && sealed === 0) throw new JournalError('journal.primary: recorded, though no blob was sealed');
  if (primary?.stage === 'finalized' && (backups.length !== journal.backupCount || sealed !== backups.length)) {
    throw new JournalError('journal.primary: finalized before every backup card had its blob');
  }
  if (primary?.stage !== 'finalized' && backups.some((b) => b.stage === 'imported')) {
    throw new JournalError('journal.backups: a card imported before the primary was finalized');
  }
}

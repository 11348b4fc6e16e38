/**
 * The backup journal: what the host must remember between taps to continue a backup after a crash, a Ctrl-C
 * or a card pulled away (docs/protocol.md section 7). It holds only what crosses the host anyway —
 * card ids, certificates, public keys, link signatures, and wallet blobs encrypted under keys only the cards
 * know — never a PIN or any other secret. The next step is derived from what the journal holds, so there is
 * no separate "step" field that could disagree with it.
 */
import { readFile } from 'node:fs/promises';
import { fromHex, toHex } from '../apdu/index.js';
import { writeFileAtomic } from './atomic-file.js';

export const JOURNAL_FORMAT = 'twincard-backup-journal';
export const JOURNAL_VERSION = 1;

const CARD_ID = 8;
const PUBLIC_KEY = 65;
const SIGNATURE = { min: 8, max: 72 } as const;
// Section 4: 80 bytes of fixed fields, `0B LL` and an 8..72-byte signature.
const CERTIFICATE = { min: 90, max: 154 } as const;
const BLOB = 193;

export interface PrimaryRecord {
  readonly cardId: Uint8Array;
  readonly certificate: Uint8Array;
  readonly walletPublicKey: Uint8Array;
  /** EP and the primary link signature, once BACKUP_START answered. */
  readonly ephemeralKey?: Uint8Array;
  readonly linkSignature?: Uint8Array;
  /** FINALIZE_BACKUP answered: the primary will never back up again. */
  readonly finalized: boolean;
}

export interface BackupRecord {
  readonly cardId: Uint8Array;
  readonly certificate: Uint8Array;
  /** EB and the backup link signature, once LINK_PRIMARY answered. */
  readonly ephemeralKey?: Uint8Array;
  readonly linkSignature?: Uint8Array;
  /** The wallet blob for this card, once EXPORT_WALLET answered. */
  readonly blob?: Uint8Array;
  readonly imported: boolean;
}

export interface BackupJournal {
  readonly backupCount: 1 | 2;
  readonly createdAt: string;
  readonly primary?: PrimaryRecord;
  /** In the order the backup cards were first presented; at most backupCount. */
  readonly backups: readonly BackupRecord[];
}

/** What the flow needs next, and from which card. */
export type NextStep =
  | { readonly kind: 'start-primary' }
  | { readonly kind: 'link-backup'; readonly index: number }
  | { readonly kind: 'finish-primary' }
  | { readonly kind: 'import'; readonly index: number }
  | { readonly kind: 'done' };

export class JournalError extends Error {
  override readonly name = 'JournalError';
}

export function newJournal(backupCount: 1 | 2, now: Date = new Date()): BackupJournal {
  return { backupCount, createdAt: now.toISOString(), backups: [] };
}

/**
 * The step a journal is at: primary tap (start), each backup card (link), primary tap (link backups, export,
 * finalize), each backup card (import), done.
 */
export function nextStep(journal: BackupJournal): NextStep {
  const { primary, backups } = journal;
  if (primary?.ephemeralKey === undefined) return { kind: 'start-primary' };
  for (let index = 0; index < journal.backupCount; index++) {
    if (backups[index]?.ephemeralKey === undefined) return { kind: 'link-backup', index };
  }
  if (!primary.finalized || backups.some((b) => b.blob === undefined)) return { kind: 'finish-primary' };
  const pending = backups.findIndex((b) => !b.imported);
  return pending >= 0 ? { kind: 'import', index: pending } : { kind: 'done' };
}

export function serializeJournal(journal: BackupJournal): string {
  const hex = (bytes: Uint8Array | undefined) => (bytes === undefined ? undefined : toHex(bytes));
  return `${JSON.stringify(
    {
      format: JOURNAL_FORMAT,
      version: JOURNAL_VERSION,
      backupCount: journal.backupCount,
      createdAt: journal.createdAt,
      primary:
        journal.primary === undefined
          ? undefined
          : {
              cardId: hex(journal.primary.cardId),
              certificate: hex(journal.primary.certificate),
              walletPublicKey: hex(journal.primary.walletPublicKey),
              ephemeralKey: hex(journal.primary.ephemeralKey),
              linkSignature: hex(journal.primary.linkSignature),
              finalized: journal.primary.finalized,
            },
      backups: journal.backups.map((b) => ({
        cardId: hex(b.cardId),
        certificate: hex(b.certificate),
        ephemeralKey: hex(b.ephemeralKey),
        linkSignature: hex(b.linkSignature),
        blob: hex(b.blob),
        imported: b.imported,
      })),
    },
    null,
    2,
  )}\n`;
}

/**
 * Parses a journal strictly: unknown or missing fields, wrong lengths and impossible combinations are a
 * JournalError naming the field, because a resumed backup must not act on a damaged or edited file.
 */
export function parseJournal(text: string): BackupJournal {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    throw new JournalError(`journal is not JSON: ${(error as Error).message}`);
  }
  const top = record(raw, 'journal', ['format', 'version', 'backupCount', 'createdAt', 'primary', 'backups']);
  if (top['format'] !== JOURNAL_FORMAT) throw new JournalError(`journal.format: expected "${JOURNAL_FORMAT}"`);
  if (top['version'] !== JOURNAL_VERSION) throw new JournalError(`journal.version: expected ${JOURNAL_VERSION}, got ${JSON.stringify(top['version'])}`);
  const backupCount = top['backupCount'];
  if (backupCount !== 1 && backupCount !== 2) throw new JournalError('journal.backupCount: expected 1 or 2');
  const createdAt = top['createdAt'];
  if (typeof createdAt !== 'string' || Number.isNaN(Date.parse(createdAt))) {
    throw new JournalError('journal.createdAt: expected an ISO date');
  }
  const primary = top['primary'] === undefined ? undefined : parsePrimary(top['primary']);
  if (!Array.isArray(top['backups'])) throw new JournalError('journal.backups: expected an array');
  const backups = top['backups'].map((b: unknown, i: number) => parseBackup(b, `journal.backups[${i}]`));
  if (backups.length > backupCount) throw new JournalError(`journal.backups: ${backups.length} cards for a backup to ${backupCount}`);
  const ids = [primary?.cardId, ...backups.map((b) => b.cardId)].filter((id) => id !== undefined).map(toHex);
  if (new Set(ids).size !== ids.length) throw new JournalError('journal: the same card id appears twice');
  if (primary === undefined && backups.length > 0) throw new JournalError('journal.backups: backup cards without a primary');
  const journal: BackupJournal = primary === undefined ? { backupCount, createdAt, backups } : { backupCount, createdAt, primary, backups };
  if (primary?.finalized === true && backups.some((b) => b.blob === undefined)) {
    throw new JournalError('journal.primary.finalized: finalized before every backup card had its blob');
  }
  return journal;
}

/** @returns the journal at `path`, or undefined when there is none */
export async function loadJournal(path: string): Promise<BackupJournal | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  try {
    return parseJournal(text);
  } catch (error) {
    if (error instanceof JournalError) throw new JournalError(`${path}: ${error.message}`);
    throw error;
  }
}

/** Replaces the journal atomically (old or new content survives a crash, never a mix). */
export async function saveJournal(path: string, journal: BackupJournal): Promise<void> {
  await writeFileAtomic(path, serializeJournal(journal));
}

function parsePrimary(value: unknown): PrimaryRecord {
  const where = 'journal.primary';
  const r = record(value, where, ['cardId', 'certificate', 'walletPublicKey', 'ephemeralKey', 'linkSignature', 'finalized']);
  const ephemeralKey = optionalHex(r, 'ephemeralKey', where, PUBLIC_KEY);
  const linkSignature = optionalHex(r, 'linkSignature', where, SIGNATURE);
  if ((ephemeralKey === undefined) !== (linkSignature === undefined)) {
    throw new JournalError(`${where}: ephemeralKey and linkSignature come together`);
  }
  const finalized = bool(r, 'finalized', where);
  if (finalized && ephemeralKey === undefined) throw new JournalError(`${where}.finalized: the backup never started`);
  return {
    cardId: requiredHex(r, 'cardId', where, CARD_ID),
    certificate: requiredHex(r, 'certificate', where, CERTIFICATE),
    walletPublicKey: requiredHex(r, 'walletPublicKey', where, PUBLIC_KEY),
    ...(ephemeralKey === undefined ? {} : { ephemeralKey, linkSignature: linkSignature! }),
    finalized,
  };
}

function parseBackup(value: unknown, where: string): BackupRecord {
  const r = record(value, where, ['cardId', 'certificate', 'ephemeralKey', 'linkSignature', 'blob', 'imported']);
  const ephemeralKey = optionalHex(r, 'ephemeralKey', where, PUBLIC_KEY);
  const linkSignature = optionalHex(r, 'linkSignature', where, SIGNATURE);
  if ((ephemeralKey === undefined) !== (linkSignature === undefined)) {
    throw new JournalError(`${where}: ephemeralKey and linkSignature come together`);
  }
  const blob = optionalHex(r, 'blob', where, BLOB);
  if (blob !== undefined && ephemeralKey === undefined) throw new JournalError(`${where}.blob: a blob for a card never linked`);
  const imported = bool(r, 'imported', where);
  if (imported && blob === undefined) throw new JournalError(`${where}.imported: imported without a blob`);
  return {
    cardId: requiredHex(r, 'cardId', where, CARD_ID),
    certificate: requiredHex(r, 'certificate', where, CERTIFICATE),
    ...(ephemeralKey === undefined ? {} : { ephemeralKey, linkSignature: linkSignature! }),
    ...(blob === undefined ? {} : { blob }),
    imported,
  };
}

function record(value: unknown, where: string, allowed: readonly string[]): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new JournalError(`${where}: expected an object`);
  const unknown = Object.keys(value).filter((k) => !allowed.includes(k));
  if (unknown.length > 0) throw new JournalError(`${where}: unexpected field ${unknown.map((k) => JSON.stringify(k)).join(', ')}`);
  return value as Record<string, unknown>;
}

function bool(r: Record<string, unknown>, key: string, where: string): boolean {
  const v = r[key];
  if (typeof v !== 'boolean') throw new JournalError(`${where}.${key}: expected true or false`);
  return v;
}

type Length = number | { readonly min: number; readonly max: number };

function requiredHex(r: Record<string, unknown>, key: string, where: string, length: Length): Uint8Array {
  const bytes = optionalHex(r, key, where, length);
  if (bytes === undefined) throw new JournalError(`${where}.${key}: missing`);
  return bytes;
}

function optionalHex(r: Record<string, unknown>, key: string, where: string, length: Length): Uint8Array | undefined {
  const v = r[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string' || !/^(?:[0-9A-Fa-f]{2})*$/.test(v)) throw new JournalError(`${where}.${key}: expected hex`);
  const bytes = fromHex(v);
  const ok = typeof length === 'number' ? bytes.length === length : bytes.length >= length.min && bytes.length <= length.max;
  if (!ok) {
    const want = typeof length === 'number' ? `${length}` : `${length.min}..${length.max}`;
    throw new JournalError(`${where}.${key}: expected ${want} bytes, got ${bytes.length}`);
  }
  return bytes;
}

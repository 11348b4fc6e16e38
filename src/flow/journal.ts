/**
 * The backup journal FILE: the backup model of src/protocol/backup-model.ts written as JSON, read back
 * strictly, and replaced atomically. It holds only what crosses the host anyway — card ids,
 * certificates, public keys, signatures, and wallet blobs sealed under keys only the cards know — never
 * an access code or any other secret. The next step is derived from the content, so there is no "step"
 * field that could disagree with it.
 *
 * Version 2 (protocol v2): each record names its stage and carries exactly that stage's fields. A
 * version 1 journal (protocol v1's backup) is refused: its cards speak a protocol this host does not.
 * @module
 */
import { readFile } from 'node:fs/promises';
import { fromHex, toHex } from '../apdu/index.js';
import {
  checkJournalConsistency,
  JournalError,
  type BackupJournal,
  type BackupRecord,
  type PrimaryRecord,
  type SealedBlob,
} from '../protocol/backup-model.js';
import { Size } from '../protocol/constants.js';
import { writeFileAtomic } from './atomic-file.js';

const JOURNAL_FORMAT = 'twincard-backup-journal';
const JOURNAL_VERSION = 2;

const SIGNATURE = { min: Size.SIGNATURE_MIN, max: Size.SIGNATURE_MAX } as const;
const CERTIFICATE = { min: Size.CERTIFICATE_MIN, max: Size.CERTIFICATE_MAX } as const;

export function serializeJournal(journal: BackupJournal): string {
  const document = {
    format: JOURNAL_FORMAT,
    version: JOURNAL_VERSION,
    backupCount: journal.backupCount,
    createdAt: journal.createdAt,
    backups: journal.backups.map(serializeBackup),
    primary:
      journal.primary === undefined
        ? undefined
        : {
            stage: journal.primary.stage,
            cardId: toHex(journal.primary.cardId),
            certificate: toHex(journal.primary.certificate),
            walletPublicKey: toHex(journal.primary.walletPublicKey),
          },
  };
  return `${JSON.stringify(document, null, 2)}\n`;
}

function serializeBackup(b: BackupRecord): Record<string, unknown> {
  const base = { stage: b.stage, cardId: toHex(b.cardId), certificate: toHex(b.certificate) };
  if (b.stage === 'claimed') return base;
  const prepared = { ...base, ephemeralKey: toHex(b.ephemeralKey), prepareSignature: toHex(b.prepareSignature) };
  if (b.stage === 'prepared') return prepared;
  return {
    ...prepared,
    sealed: { ephemeralKey: toHex(b.sealed.ephemeralKey), sealSignature: toHex(b.sealed.sealSignature), blob: toHex(b.sealed.blob) },
  };
}

/**
 * Parses a journal strictly: unknown or missing fields, wrong lengths and impossible combinations are
 * a JournalError naming the field, because a resumed backup must not act on a damaged or edited file.
 * (The signatures and certificates in it are verified by verifyJournal, against the trusted roots.)
 */
export function parseJournal(text: string): BackupJournal {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    throw new JournalError(`journal is not JSON: ${(error as Error).message}`);
  }
  const claimed = typeof raw === 'object' && raw !== null && !Array.isArray(raw) ? (raw as Record<string, unknown>) : {};
  if (claimed['format'] === JOURNAL_FORMAT && claimed['version'] === 1) {
    throw new JournalError(
      'this is a version 1 journal, a backup of protocol version 1 (primary first, linking), which this version of twincard ' +
        'cannot resume: its cards speak protocol version 1. Finish or abort it with the twincard release that started it ' +
        '(`twincard backup --resume` or `twincard abort-backup` there), then remove this file',
    );
  }
  const top = record(raw, 'journal', ['format', 'version', 'backupCount', 'createdAt', 'backups', 'primary']);
  if (top['format'] !== JOURNAL_FORMAT) throw new JournalError(`journal.format: expected "${JOURNAL_FORMAT}"`);
  if (top['version'] !== JOURNAL_VERSION)
    throw new JournalError(`journal.version: expected ${JOURNAL_VERSION}, got ${JSON.stringify(top['version'])}`);
  const backupCount = top['backupCount'];
  if (backupCount !== 1 && backupCount !== 2) throw new JournalError('journal.backupCount: expected 1 or 2');
  const createdAt = top['createdAt'];
  if (typeof createdAt !== 'string' || Number.isNaN(Date.parse(createdAt))) {
    throw new JournalError('journal.createdAt: expected an ISO date');
  }
  if (!Array.isArray(top['backups'])) throw new JournalError('journal.backups: expected an array');
  const backups = top['backups'].map((b: unknown, i: number) => parseBackup(b, `journal.backups[${i}]`));
  const primary = top['primary'] === undefined ? undefined : parsePrimary(top['primary']);
  const journal: BackupJournal = { backupCount, createdAt, backups, ...(primary && { primary }) };
  checkJournalConsistency(journal);
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
  const r = record(value, where, ['stage', 'cardId', 'certificate', 'walletPublicKey']);
  const stage = r['stage'];
  if (stage !== 'exporting' && stage !== 'finalized') throw new JournalError(`${where}.stage: expected "exporting" or "finalized"`);
  return {
    stage,
    cardId: requiredHex(r, 'cardId', where, Size.CARD_ID),
    certificate: requiredHex(r, 'certificate', where, CERTIFICATE),
    walletPublicKey: requiredHex(r, 'walletPublicKey', where, Size.PUBLIC_KEY),
  };
}

const STAGE_FIELDS = {
  claimed: ['stage', 'cardId', 'certificate'],
  prepared: ['stage', 'cardId', 'certificate', 'ephemeralKey', 'prepareSignature'],
  sealed: ['stage', 'cardId', 'certificate', 'ephemeralKey', 'prepareSignature', 'sealed'],
  imported: ['stage', 'cardId', 'certificate', 'ephemeralKey', 'prepareSignature', 'sealed'],
} as const;

function parseBackup(value: unknown, where: string): BackupRecord {
  const stage = typeof value === 'object' && value !== null ? (value as Record<string, unknown>)['stage'] : undefined;
  if (stage !== 'claimed' && stage !== 'prepared' && stage !== 'sealed' && stage !== 'imported') {
    throw new JournalError(`${where}.stage: expected "claimed", "prepared", "sealed" or "imported"`);
  }
  const fields = STAGE_FIELDS[stage];
  const r = record(value, where, fields);
  for (const field of fields) if (r[field] === undefined) throw new JournalError(`${where}.${field}: missing (stage ${stage})`);
  const cardId = requiredHex(r, 'cardId', where, Size.CARD_ID);
  const certificate = requiredHex(r, 'certificate', where, CERTIFICATE);
  if (stage === 'claimed') return { stage, cardId, certificate };
  const ephemeralKey = requiredHex(r, 'ephemeralKey', where, Size.PUBLIC_KEY);
  const prepareSignature = requiredHex(r, 'prepareSignature', where, SIGNATURE);
  if (stage === 'prepared') return { stage, cardId, certificate, ephemeralKey, prepareSignature };
  return { stage, cardId, certificate, ephemeralKey, prepareSignature, sealed: parseSealed(r['sealed'], `${where}.sealed`) };
}

function parseSealed(value: unknown, where: string): SealedBlob {
  const r = record(value, where, ['ephemeralKey', 'sealSignature', 'blob']);
  return {
    ephemeralKey: requiredHex(r, 'ephemeralKey', where, Size.PUBLIC_KEY),
    sealSignature: requiredHex(r, 'sealSignature', where, SIGNATURE),
    blob: requiredHex(r, 'blob', where, Size.BLOB),
  };
}

function record(value: unknown, where: string, allowed: readonly string[]): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new JournalError(`${where}: expected an object`);
  const unknown = Object.keys(value).filter((k) => !allowed.includes(k));
  if (unknown.length > 0) throw new JournalError(`${where}: unexpected field ${unknown.map((k) => JSON.stringify(k)).join(', ')}`);
  return value as Record<string, unknown>;
}

type Length = number | { readonly min: number; readonly max: number };

function requiredHex(r: Record<string, unknown>, key: string, where: string, length: Length): Uint8Array {
  const v = r[key];
  if (v === undefined || v === null) throw new JournalError(`${where}.${key}: missing`);
  if (typeof v !== 'string' || !/^(?:[0-9A-Fa-f]{2})*$/.test(v)) throw new JournalError(`${where}.${key}: expected hex`);
  const bytes = fromHex(v);
  const ok = typeof length === 'number' ? bytes.length === length : bytes.length >= length.min && bytes.length <= length.max;
  if (!ok) {
    const want = typeof length === 'number' ? `${length}` : `${length.min}..${length.max}`;
    throw new JournalError(`${where}.${key}: expected ${want} bytes, got ${bytes.length}`);
  }
  return bytes;
}

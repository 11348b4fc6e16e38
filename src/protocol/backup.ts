/**
 * The host's part of the backup (docs/protocol.md section 7): four steps, each a function of
 * (journal, the card presented) -> the next journal.
 *
 *   start-primary   P   SELECT, READ, VERIFY_PIN, BACKUP_START
 *   link-backup i   Bi  SELECT, READ, LINK_PRIMARY
 *   finish-primary  P   SELECT, READ, VERIFY_PIN, LINK_BACKUP xN, EXPORT_WALLET xN, [checkpoint], FINALIZE_BACKUP
 *   import i        Bi  SELECT, READ, IMPORT_WALLET
 *
 * Every step begins with SELECT and READ and decides from the card id and state whether this is the
 * card it wants, BEFORE sending anything that could change the card (VERIFY_PIN spends a try on a
 * stranger's card): a wrong card is a {@link WrongCardError} and stays exactly as it was. finish-primary
 * and import read too, which section 7 does not list: one APDU each to recognise the card.
 *
 * The host is a relay, but it checks everything it relays (certificates against the trusted roots,
 * link signatures over the exact section 1.1 messages, blob headers, the wallet key each backup card
 * reports), so a bad card is named at the step where it shows up ({@link BackupCardError}) instead of
 * by its peer one tap later. The cards check each other themselves regardless.
 *
 * Every step is safe to repeat after an interruption at any point, because each command it sends is
 * (section 6): BACKUP_START returns the same EP, LINK_PRIMARY with the same EP keeps EB, LINK_BACKUP
 * with the same EB keeps the slot, EXPORT_WALLET may repeat, FINALIZE_BACKUP and IMPORT_WALLET answer
 * a repeat the same. The one place a repeat would NOT be safe is after FINALIZE_BACKUP: the primary
 * never exports again, so the blobs must be on disk before it is sent; finish-primary therefore
 * saves the journal through `checkpoint` between the exports and FINALIZE_BACKUP.
 * @module
 */
import { toHex } from '../apdu/index.js';
import { JournalError, nextStep, type BackupJournal, type BackupRecord, type NextStep, type PrimaryRecord } from '../flow/journal.js';
import type { CardInfo, TwincardCard } from './card.js';
import { findCertificateRoot, parseCertificate, type Certificate } from './certificate.js';
import { BLOB_VERSION, type CardStateName } from './constants.js';
import { equalBytes, isValidPublicKey, verifyMessageSignature } from './crypto.js';
import { CertificateFormatError, SignatureFormatError } from './errors.js';
import { backupLinkMessage, primaryLinkMessage } from './messages.js';
import type { TrustedRoot } from './roots.js';
import { parseWalletBlobHeader } from './wallet-blob.js';

/** Which card of the backup: the primary, or backup card `index` (0-based). */
export type CardRole = { readonly kind: 'primary' } | { readonly kind: 'backup'; readonly index: number };

/** The names the steps go by in events, journals' history and the test hooks. */
export type StepLabel =
  | 'start-primary'
  | `link-backup-${1 | 2}`
  | 'finish-primary'
  | `import-${1 | 2}`;

/** "the primary card", "backup card 1 of 2". */
export function describeRole(role: CardRole, backupCount: number): string {
  return role.kind === 'primary' ? 'the primary card' : `backup card ${role.index + 1} of ${backupCount}`;
}

/** Why a presented card is not the one the step needs. Nothing was sent to it but SELECT and READ. */
export type WrongCardReason =
  /** FACTORY state: no identity, no certificate. */
  | 'NOT_PERSONALIZED'
  /** A card that is not part of this backup, where a known card is wanted. */
  | 'STRANGER'
  /** The primary, where a backup card is wanted. */
  | 'PRIMARY_PRESENTED'
  /** One of this backup's backup cards, where the primary is wanted. */
  | 'BACKUP_PRESENTED'
  /** A backup card already linked (or already holding the wallet) presented again. */
  | 'SAME_BACKUP_TWICE'
  /** A blank card where a card holding a wallet is wanted. */
  | 'NO_WALLET'
  /** A card holding a wallet of its own (or running its own backup) where a blank card is wanted. */
  | 'HAS_WALLET'
  /** A card that already took part in a finished backup (BACKED_UP): never linked or written again. */
  | 'OTHER_BACKUP';

/** The presented card is not the one wanted; present another. The card was not changed. */
export class WrongCardError extends Error {
  readonly reason: WrongCardReason;
  /** The presented card's id, when it has one. */
  readonly cardId: Uint8Array | undefined;
  readonly state: CardStateName;

  constructor(reason: WrongCardReason, message: string, info: CardInfo) {
    super(message);
    this.name = 'WrongCardError';
    this.reason = reason;
    this.cardId = info.cardId;
    this.state = info.state;
  }
}

/** What was wrong with a card of the backup, found by the host's own checks. */
export type BackupFault =
  /** The certificate does not parse (section 4). */
  | 'CERTIFICATE_MALFORMED'
  /** The certificate names another card id than the card reports. */
  | 'CARD_ID_MISMATCH'
  /** No trusted root signed the certificate. */
  | 'CERTIFICATE_UNTRUSTED'
  /** A link signature does not verify over the section 1.1 message under the certified key. */
  | 'LINK_SIGNATURE_INVALID'
  /** An exported blob's header does not name this primary and this backup card. */
  | 'BLOB_HEADER_MISMATCH'
  /** A backup card reports another wallet key than the primary's after IMPORT_WALLET. */
  | 'WALLET_KEY_MISMATCH'
  /** LINK_BACKUP or FINALIZE_BACKUP reports another number of backup cards than this backup has. */
  | 'BACKUP_COUNT_MISMATCH'
  /** The card is not where the journal left it (another certificate or wallet key, an impossible state). */
  | 'CARD_DIVERGED';

/** The faults that mean "this card cannot prove it is a genuine twincard card". */
export const NOT_GENUINE_FAULTS: ReadonlySet<BackupFault> = new Set([
  'CERTIFICATE_MALFORMED',
  'CARD_ID_MISMATCH',
  'CERTIFICATE_UNTRUSTED',
  'LINK_SIGNATURE_INVALID',
]);

/** A card of the backup failed one of the host's checks: the backup stops here, naming it. */
export class BackupCardError extends Error {
  readonly fault: BackupFault;
  readonly step: StepLabel;
  readonly role: CardRole;
  readonly cardId: Uint8Array;

  constructor(fault: BackupFault, step: StepLabel, role: CardRole, cardId: Uint8Array, backupCount: number, problem: string) {
    super(`${step}: ${describeRole(role, backupCount)} (card ${toHex(cardId)}): ${problem}`);
    this.name = 'BackupCardError';
    this.fault = fault;
    this.step = step;
    this.role = role;
    this.cardId = cardId;
  }
}

/** The step needs the access code and none was given (a programming error of the caller). */
export class PinRequiredError extends Error {
  override readonly name = 'PinRequiredError';
}

export interface StepContext {
  /** The manufacturer roots to verify certificates against. */
  readonly roots: readonly TrustedRoot[];
  /** The access code, for start-primary and finish-primary. Not copied, not kept, not zeroised here. */
  readonly pin?: Uint8Array | undefined;
  /**
   * Persists a journal reached inside a step, before the step goes on (finish-primary: the blobs,
   * before FINALIZE_BACKUP). Must resolve only once the journal is durable.
   */
  readonly checkpoint: (journal: BackupJournal) => Promise<void>;
  /** Told which card the step recognised, before anything that could change the card is sent. */
  readonly onRecognised?: (step: StepLabel, role: CardRole, cardId: Uint8Array) => void;
}

export interface StepResult {
  readonly step: StepLabel;
  readonly role: CardRole;
  readonly cardId: Uint8Array;
  readonly journal: BackupJournal;
}

/** Whether a step needs the access code. */
export function stepNeedsPin(step: NextStep): boolean {
  return step.kind === 'start-primary' || step.kind === 'finish-primary';
}

/**
 * Whether any step left in the backup needs the access code: until the primary is finalized (so a
 * caller asks for it only then; a backup resumed at its imports needs none).
 */
export function backupNeedsPin(journal: BackupJournal): boolean {
  return journal.primary?.finalized !== true;
}

/**
 * Runs the journal's next step on the card presented: the whole step, or nothing that matters.
 * @returns the new journal, for the caller to save atomically before the next step.
 * @throws WrongCardError (not the card wanted: nothing changed on it); BackupCardError (a check
 *   failed: the card is named); CardRefusedError / WrongPinError / PinBlockedError /
 *   MalformedResponseError from the card; PcscError when the card went away (the journal is still
 *   valid: present the card again and repeat the step); Error when the backup is already done.
 */
export async function runStep(journal: BackupJournal, card: TwincardCard, context: StepContext): Promise<StepResult> {
  const step = nextStep(journal);
  switch (step.kind) {
    case 'start-primary':
      return startPrimary(journal, card, context);
    case 'link-backup':
      return linkBackup(journal, step.index, card, context);
    case 'finish-primary':
      return finishPrimary(journal, card, context);
    case 'import':
      return importWallet(journal, card, context);
    case 'done':
      throw new Error('the backup is complete: there is no step left');
  }
}

/** Step 1: the primary's wallet key and its signed ephemeral key EP. */
export async function startPrimary(journal: BackupJournal, card: TwincardCard, context: StepContext): Promise<StepResult> {
  const step: StepLabel = 'start-primary';
  const role: CardRole = { kind: 'primary' };
  await card.select();
  const info = await card.read();
  const cardId = personalized(info, 'the primary card');
  const backupIndex = indexOf(journal.backups, cardId);
  if (backupIndex >= 0) {
    throw new WrongCardError('BACKUP_PRESENTED', `this is backup card ${backupIndex + 1} (card ${toHex(cardId)}); tap the primary card`, info);
  }
  if (journal.primary !== undefined && !equalBytes(journal.primary.cardId, cardId)) {
    throw new WrongCardError('STRANGER', `card ${toHex(cardId)} is not this backup's primary (card ${toHex(journal.primary.cardId)})`, info);
  }
  switch (info.state) {
    case 'WALLET':
    case 'BACKUP_PRIMARY': // a repeated step: BACKUP_START answers the same EP
      break;
    case 'BLANK':
    case 'BACKUP_LINKED':
      throw new WrongCardError('NO_WALLET', `card ${toHex(cardId)} holds no wallet (${info.state}); tap the card that holds the wallet`, info);
    case 'BACKED_UP':
      throw new WrongCardError(
        'OTHER_BACKUP',
        `card ${toHex(cardId)} is already part of a finished backup (BACKED_UP): a wallet is backed up once, and never from a backup card`,
        info,
      );
  }
  const certificate = checkCertificate(info, context.roots, step, role, journal.backupCount);
  context.onRecognised?.(step, role, cardId);
  await card.verifyPin(requirePin(context, step));
  const offer = await card.backupStart();
  checkLinkSignature(offer.signature, primaryLinkMessage(cardId, offer.ephemeralKey), certificate, step, role, journal.backupCount, 'primary');
  const primary: PrimaryRecord = {
    cardId,
    certificate: certificate.encoded,
    walletPublicKey: info.walletPublicKey!,
    ephemeralKey: offer.ephemeralKey,
    linkSignature: offer.signature,
    finalized: false,
  };
  return { step, role, cardId, journal: { ...journal, primary } };
}

/** Step 2 (per backup card): the blank card links to the primary's EP and answers its own EB. */
export async function linkBackup(journal: BackupJournal, index: number, card: TwincardCard, context: StepContext): Promise<StepResult> {
  const primary = requirePrimary(journal);
  const step = `link-backup-${index + 1}` as StepLabel;
  const role: CardRole = { kind: 'backup', index };
  const wanted = describeRole(role, journal.backupCount);
  await card.select();
  const info = await card.read();
  const cardId = personalized(info, wanted);
  if (equalBytes(cardId, primary.cardId)) {
    throw new WrongCardError('PRIMARY_PRESENTED', `this is the primary card (card ${toHex(cardId)}); tap ${wanted}, a blank card`, info);
  }
  const known = indexOf(journal.backups, cardId);
  const slot = journal.backups[index];
  if (known >= 0 && known !== index) {
    throw new WrongCardError(
      'SAME_BACKUP_TWICE',
      `this is backup card ${known + 1} again (card ${toHex(cardId)}); tap another blank card for ${wanted}`,
      info,
    );
  }
  if (slot !== undefined && !equalBytes(slot.cardId, cardId)) {
    throw new WrongCardError('STRANGER', `card ${toHex(cardId)} is not ${wanted} (card ${toHex(slot.cardId)})`, info);
  }
  switch (info.state) {
    case 'BLANK':
    case 'BACKUP_LINKED': // linked by this step before (repeated: same EB) or by an abandoned backup (re-linked)
      break;
    case 'WALLET':
    case 'BACKUP_PRIMARY':
      throw new WrongCardError('HAS_WALLET', `card ${toHex(cardId)} holds a wallet of its own (${info.state}); tap a blank card for ${wanted}`, info);
    case 'BACKED_UP':
      throw new WrongCardError(
        'OTHER_BACKUP',
        `card ${toHex(cardId)} belongs to another backup (BACKED_UP) and can never be written again; tap a blank card for ${wanted}`,
        info,
      );
  }
  const certificate = checkCertificate(info, context.roots, step, role, journal.backupCount);
  context.onRecognised?.(step, role, cardId);
  const offer = await card.linkPrimary({
    certificate: primary.certificate,
    ephemeralKey: primary.ephemeralKey!,
    signature: primary.linkSignature!,
  });
  const message = backupLinkMessage(primary.cardId, cardId, primary.ephemeralKey!, offer.ephemeralKey);
  checkLinkSignature(offer.signature, message, certificate, step, role, journal.backupCount, 'backup');
  const record: BackupRecord = {
    cardId,
    certificate: certificate.encoded,
    ephemeralKey: offer.ephemeralKey,
    linkSignature: offer.signature,
    imported: false,
  };
  const backups = [...journal.backups];
  backups[index] = record;
  return { step, role, cardId, journal: { ...journal, backups } };
}

/**
 * Step 3: the primary learns each backup card (LINK_BACKUP), exports a blob for each, and finalizes.
 * The blobs are checkpointed before FINALIZE_BACKUP; a journal that already holds them skips to it.
 */
export async function finishPrimary(journal: BackupJournal, card: TwincardCard, context: StepContext): Promise<StepResult> {
  const primary = requirePrimary(journal);
  const step: StepLabel = 'finish-primary';
  const role: CardRole = { kind: 'primary' };
  const count = journal.backupCount;
  await card.select();
  const info = await card.read();
  const cardId = personalized(info, 'the primary card');
  if (!equalBytes(cardId, primary.cardId)) {
    const known = indexOf(journal.backups, cardId);
    if (known >= 0) {
      throw new WrongCardError('BACKUP_PRESENTED', `this is backup card ${known + 1} (card ${toHex(cardId)}); tap the primary card`, info);
    }
    throw new WrongCardError('STRANGER', `card ${toHex(cardId)} is not this backup's primary (card ${toHex(primary.cardId)})`, info);
  }
  const diverged = (problem: string) => new BackupCardError('CARD_DIVERGED', step, role, cardId, count, problem);
  if (info.certificate === undefined || !equalBytes(info.certificate, primary.certificate)) {
    throw diverged('its certificate differs from the one recorded when the backup started');
  }
  if (info.walletPublicKey === undefined || !equalBytes(info.walletPublicKey, primary.walletPublicKey)) {
    throw diverged('its wallet public key differs from the one recorded when the backup started');
  }
  const haveBlobs = journal.backups.length === count && journal.backups.every((b) => b.blob !== undefined);
  if (info.state === 'BACKED_UP' && !haveBlobs) {
    throw diverged(
      'it was finalized (BACKED_UP) without this journal holding the wallet blobs: the backup cards cannot receive the wallet; this primary can never back up again',
    );
  }
  if (info.state !== 'BACKUP_PRIMARY' && info.state !== 'BACKED_UP') {
    throw diverged(`it is ${info.state}, expected BACKUP_PRIMARY`);
  }
  context.onRecognised?.(step, role, cardId);
  await card.verifyPin(requirePin(context, step));

  let current = journal;
  if (!haveBlobs) {
    let linked = 0;
    for (const backup of journal.backups) {
      linked = await card.linkBackup({ certificate: backup.certificate, ephemeralKey: backup.ephemeralKey!, signature: backup.linkSignature! });
    }
    if (linked !== count) {
      // A slot from an abandoned backup of this primary is still there: FINALIZE would refuse (9A0B)
      // or the cards would not match. Stop before anything is exported.
      throw new BackupCardError(
        'BACKUP_COUNT_MISMATCH',
        step,
        role,
        cardId,
        count,
        `the primary reports ${linked} backup card(s) linked, this backup has ${count}: a link from another, abandoned backup is still on it`,
      );
    }
    const backups: BackupRecord[] = [];
    for (const [index, backup] of journal.backups.entries()) {
      const blob = await card.exportWallet(backup.cardId);
      const header = parseWalletBlobHeader(blob);
      if (header.version !== BLOB_VERSION || !equalBytes(header.primaryId, cardId) || !equalBytes(header.backupId, backup.cardId)) {
        throw new BackupCardError(
          'BLOB_HEADER_MISMATCH',
          step,
          role,
          cardId,
          count,
          `the blob for backup card ${index + 1} has header version ${header.version}, primary ${toHex(header.primaryId)}, ` +
            `backup ${toHex(header.backupId)}; expected ${BLOB_VERSION}, ${toHex(cardId)}, ${toHex(backup.cardId)}`,
        );
      }
      backups.push({ ...backup, blob });
    }
    current = { ...journal, backups };
    // The point of no return comes next: the blobs must be durable before FINALIZE_BACKUP.
    await context.checkpoint(current);
  }
  const finalized = await card.finalizeBackup();
  if (finalized !== count) {
    throw new BackupCardError('BACKUP_COUNT_MISMATCH', step, role, cardId, count, `FINALIZE_BACKUP reports ${finalized} backup card(s), this backup has ${count}`);
  }
  return { step, role, cardId, journal: { ...current, primary: { ...current.primary!, finalized: true } } };
}

/** Step 4 (per backup card, in any order): the backup card imports its blob. */
export async function importWallet(journal: BackupJournal, card: TwincardCard, context: StepContext): Promise<StepResult> {
  const primary = requirePrimary(journal);
  const count = journal.backupCount;
  const pending = journal.backups.findIndex((b) => !b.imported);
  const wanted = pending >= 0 ? describeRole({ kind: 'backup', index: pending }, count) : 'a backup card';
  await card.select();
  const info = await card.read();
  const cardId = personalized(info, wanted);
  if (equalBytes(cardId, primary.cardId)) {
    throw new WrongCardError('PRIMARY_PRESENTED', `this is the primary card (card ${toHex(cardId)}); tap ${wanted}`, info);
  }
  const index = indexOf(journal.backups, cardId);
  if (index < 0) {
    throw new WrongCardError('STRANGER', `card ${toHex(cardId)} is not one of this backup's cards; tap ${wanted}`, info);
  }
  const backup = journal.backups[index]!;
  if (backup.imported) {
    throw new WrongCardError('SAME_BACKUP_TWICE', `backup card ${index + 1} (card ${toHex(cardId)}) already holds the wallet; tap ${wanted}`, info);
  }
  const step = `import-${index + 1}` as StepLabel;
  const role: CardRole = { kind: 'backup', index };
  if (info.certificate === undefined || !equalBytes(info.certificate, backup.certificate)) {
    throw new BackupCardError('CARD_DIVERGED', step, role, cardId, count, 'its certificate differs from the one recorded when it was linked');
  }
  if (info.state !== 'BACKUP_LINKED' && info.state !== 'BACKED_UP') {
    // BACKED_UP is a repeated step (IMPORT_WALLET answers "already imported" for the same blob).
    throw new BackupCardError('CARD_DIVERGED', step, role, cardId, count, `it is ${info.state}, expected BACKUP_LINKED`);
  }
  context.onRecognised?.(step, role, cardId);
  const outcome = await card.importWallet(backup.blob!);
  if (!equalBytes(outcome.walletPublicKey, primary.walletPublicKey)) {
    throw new BackupCardError(
      'WALLET_KEY_MISMATCH',
      step,
      role,
      cardId,
      count,
      `it reports wallet key ${toHex(outcome.walletPublicKey)}, the primary's is ${toHex(primary.walletPublicKey)}`,
    );
  }
  const backups = journal.backups.map((b, i) => (i === index ? { ...b, imported: true } : b));
  return { step, role, cardId, journal: { ...journal, backups } };
}

/**
 * Re-checks a journal read from disk as if its contents came from the cards (a file is as hostile as a
 * card): every certificate under the trusted roots, every link signature over its section 1.1 message,
 * every blob header. parseJournal has already checked the format.
 * @throws JournalError naming what does not verify.
 */
export function verifyJournal(journal: BackupJournal, roots: readonly TrustedRoot[]): void {
  const { primary } = journal;
  if (primary === undefined) return;
  const certified = (bytes: Uint8Array, cardId: Uint8Array, where: string): Certificate => {
    let certificate: Certificate;
    try {
      certificate = parseCertificate(bytes);
    } catch (e) {
      if (e instanceof CertificateFormatError) throw new JournalError(`${where}.certificate: ${e.message}`);
      throw e;
    }
    if (!equalBytes(certificate.cardId, cardId)) throw new JournalError(`${where}.certificate: it is for card ${toHex(certificate.cardId)}`);
    if (findCertificateRoot(certificate, roots) === undefined) {
      throw new JournalError(`${where}.certificate: no trusted root signed it${roots.length === 0 ? ' (no root is trusted: --trust-test-root?)' : ''}`);
    }
    return certificate;
  };
  const signed = (signature: Uint8Array, message: Uint8Array, key: Uint8Array, where: string) => {
    let ok: boolean;
    try {
      ok = verifyMessageSignature(signature, message, key, `${where}.linkSignature`);
    } catch (e) {
      if (e instanceof SignatureFormatError || e instanceof RangeError) throw new JournalError(e.message);
      throw e;
    }
    if (!ok) throw new JournalError(`${where}.linkSignature: does not verify`);
  };
  const point = (bytes: Uint8Array | undefined, where: string) => {
    if (bytes !== undefined && !isValidPublicKey(bytes)) throw new JournalError(`${where}: not a valid secp256k1 point`);
  };
  const primaryCertificate = certified(primary.certificate, primary.cardId, 'journal.primary');
  point(primary.walletPublicKey, 'journal.primary.walletPublicKey');
  point(primary.ephemeralKey, 'journal.primary.ephemeralKey');
  journal.backups.forEach((b, i) => point(b.ephemeralKey, `journal.backups[${i}].ephemeralKey`));
  if (primary.ephemeralKey === undefined) return;
  signed(primary.linkSignature!, primaryLinkMessage(primary.cardId, primary.ephemeralKey), primaryCertificate.identityPublicKey, 'journal.primary');
  journal.backups.forEach((backup, i) => {
    const where = `journal.backups[${i}]`;
    const certificate = certified(backup.certificate, backup.cardId, where);
    if (backup.ephemeralKey === undefined) return;
    const message = backupLinkMessage(primary.cardId, backup.cardId, primary.ephemeralKey!, backup.ephemeralKey);
    signed(backup.linkSignature!, message, certificate.identityPublicKey, where);
    if (backup.blob !== undefined) {
      const header = parseWalletBlobHeader(backup.blob);
      if (header.version !== BLOB_VERSION || !equalBytes(header.primaryId, primary.cardId) || !equalBytes(header.backupId, backup.cardId)) {
        throw new JournalError(`${where}.blob: its header does not name this primary and this backup card`);
      }
    }
  });
}

// ---------------------------------------------------------------------------------------------

function personalized(info: CardInfo, wanted: string): Uint8Array {
  if (info.state === 'FACTORY' || info.cardId === undefined) {
    throw new WrongCardError('NOT_PERSONALIZED', `this card is not personalized (FACTORY state); tap ${wanted}`, info);
  }
  return info.cardId;
}

function indexOf(backups: readonly BackupRecord[], cardId: Uint8Array): number {
  return backups.findIndex((b) => equalBytes(b.cardId, cardId));
}

function requirePrimary(journal: BackupJournal): PrimaryRecord {
  const primary = journal.primary;
  if (primary?.ephemeralKey === undefined || primary.linkSignature === undefined) {
    throw new Error('the backup has not started on the primary yet');
  }
  return primary;
}

function requirePin(context: StepContext, step: StepLabel): Uint8Array {
  if (context.pin === undefined) throw new PinRequiredError(`${step} needs the access code`);
  return context.pin;
}

/** The certificate READ returned: parses, names this card, signed by a trusted root. */
function checkCertificate(info: CardInfo, roots: readonly TrustedRoot[], step: StepLabel, role: CardRole, count: number): Certificate {
  const cardId = info.cardId!;
  const fail = (fault: BackupFault, problem: string) => new BackupCardError(fault, step, role, cardId, count, problem);
  let certificate: Certificate;
  try {
    certificate = parseCertificate(info.certificate!);
  } catch (e) {
    if (e instanceof CertificateFormatError) throw fail('CERTIFICATE_MALFORMED', e.message);
    throw e;
  }
  if (!equalBytes(certificate.cardId, cardId)) {
    throw fail('CARD_ID_MISMATCH', `its certificate is for card ${toHex(certificate.cardId)}`);
  }
  if (findCertificateRoot(certificate, roots) === undefined) {
    throw fail(
      'CERTIFICATE_UNTRUSTED',
      roots.length === 0
        ? 'no manufacturer root is trusted (test cards need --trust-test-root)'
        : `its certificate does not verify under any of the ${roots.length} trusted root(s): not a genuine card`,
    );
  }
  return certificate;
}

function checkLinkSignature(
  signature: Uint8Array,
  message: Uint8Array,
  certificate: Certificate,
  step: StepLabel,
  role: CardRole,
  count: number,
  purpose: 'primary' | 'backup',
): void {
  if (!verifyMessageSignature(signature, message, certificate.identityPublicKey, `${purpose} link signature`)) {
    throw new BackupCardError(
      'LINK_SIGNATURE_INVALID',
      step,
      role,
      certificate.cardId,
      count,
      `its ${purpose} link signature does not verify under its certified identity key`,
    );
  }
}

/**
 * The host's part of the backup (docs/protocol.md section 7): three kinds of step, each a function of
 * (journal, the card presented) -> the next journal (the model is backup-model.ts).
 *
 *   prepare-backup i   Bi  SELECT, READ, [claim saved], BACKUP_PREPARE
 *   export-primary     P   SELECT, READ, VERIFY_PIN, BACKUP_EXPORT per card [saved after each], BACKUP_FINALIZE, READ
 *   import i           Bi  SELECT, READ, BACKUP_IMPORT
 *
 * Every step begins with SELECT and READ and decides from the card id and state whether this is the
 * card it wants, BEFORE sending anything that could change the card (VERIFY_PIN spends a try on a
 * stranger's card): a wrong card is a {@link WrongCardError} and stays exactly as it was.
 *
 * The host is a relay, but it checks everything it relays (certificates against the trusted roots,
 * prepare and seal signatures over the exact section 1.1 messages, blob headers, the wallet key each
 * backup card reports, the primary's record of its backup cards), so a bad card is named at the step
 * where it shows up ({@link BackupCardError}) instead of by its peer one tap later. The cards check
 * each other themselves regardless.
 *
 * Every step is safe to repeat after an interruption at any point, because each command is (section
 * 6): BACKUP_PREPARE answers the same EB, BACKUP_EXPORT to a recorded card is allowed, BACKUP_FINALIZE
 * and BACKUP_IMPORT answer a repeat the same. Two places need the journal saved inside a step:
 * - before BACKUP_PREPARE, the card is claimed: if the answer is lost the card comes back
 *   BACKUP_PENDING, and only the claim tells it from a card pending for another backup;
 * - after each BACKUP_EXPORT, the blob: the primary counts the card from the moment the blob left, and
 *   after BACKUP_FINALIZE it never makes another, so every blob is on disk before FINALIZE is sent.
 * @module
 */
import { toHex } from '../apdu/index.js';
import {
  isPrepared,
  isSealed,
  JournalError,
  nextStep,
  slotOf,
  type BackupJournal,
  type BackupRecord,
  type NextStep,
  type PreparedOrLater,
  type PrimaryRecord,
  type SealedBlob,
} from './backup-model.js';
import type { CardInfo, TwincardCard } from './card.js';
import { findCertificateRoot, parseCertificate, type Certificate } from './certificate.js';
import type { CardStateName } from './constants.js';
import { equalBytes, isValidPublicKey, verifyMessageSignature } from './crypto.js';
import { CertificateFormatError, SessionKeyNotCertifiedError, SignatureFormatError } from './errors.js';
import { prepareMessage, sealMessage } from './messages.js';
import type { TrustedRoot } from './roots.js';
import { parseWalletBlobHeader, walletBlobHeaderProblem } from './wallet-blob.js';

/** Which card of the backup: the primary, or backup card `index` (0-based). */
export type CardRole = { readonly kind: 'primary' } | { readonly kind: 'backup'; readonly index: number };

/** The names the steps go by in events, journal checkpoints and the test hooks. */
export type StepLabel = `prepare-backup-${1 | 2}` | 'export-primary' | `import-${1 | 2}`;

/** Where a step saves the journal before it goes on (see the module comment). */
export type CheckpointName = 'claimed' | `exported-${1 | 2}`;

/** The label of a step, or 'done'. */
export function stepLabel(step: NextStep): StepLabel | 'done' {
  switch (step.kind) {
    case 'prepare-backup':
      return `prepare-backup-${slotNumber(step.index)}`;
    case 'export-primary':
    case 'done':
      return step.kind;
    case 'import':
      return `import-${slotNumber(step.index)}`;
  }
}

/** The steps of a backup to `backupCount` cards, in the order a bench takes them. */
export function stepLabels(backupCount: 1 | 2): StepLabel[] {
  const slots = backupCount === 1 ? ([1] as const) : ([1, 2] as const);
  return [...slots.map((i) => `prepare-backup-${i}` as const), 'export-primary', ...slots.map((i) => `import-${i}` as const)];
}

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
  /** A backup card of this backup presented again for another slot, or again once it holds the wallet. */
  | 'SAME_BACKUP_TWICE'
  /** A card BACKUP_PENDING for another backup (this journal never claimed it), where a blank card is wanted. */
  | 'PENDING_ELSEWHERE'
  /** A card without a wallet where the primary is wanted. */
  | 'NO_WALLET'
  /** A card holding a wallet where a blank card is wanted. */
  | 'HAS_WALLET'
  /** A card that took part in a finished backup (BACKED_UP), or holds an imported wallet, where it cannot serve. */
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
  /** The card's OPEN_SESSION signature does not verify under its certified attestation key (a card in the middle). */
  | 'SESSION_NOT_CERTIFIED'
  /** A backup card's prepare signature does not verify over B.id ‖ EB under its certified key. */
  | 'PREPARE_SIGNATURE_INVALID'
  /** The primary's seal signature does not verify over P.id ‖ B.id ‖ EB ‖ EP under its certified key. */
  | 'SEAL_SIGNATURE_INVALID'
  /** An exported blob's header is not version 02 naming this primary and this backup card. */
  | 'BLOB_HEADER_MISMATCH'
  /** A backup card reports another wallet key than the primary's after BACKUP_IMPORT. */
  | 'WALLET_KEY_MISMATCH'
  /** The primary already counts a backup card this journal does not know: someone else exported from it. */
  | 'UNKNOWN_BACKUP_CARD'
  /** After BACKUP_FINALIZE the primary's backup cards are not exactly this journal's. */
  | 'BACKUP_CARDS_MISMATCH'
  /** The card is not where the journal left it (another certificate or wallet key, an impossible state). */
  | 'CARD_DIVERGED';

/** The faults that mean "this card cannot prove it is a genuine twincard card". */
export const NOT_GENUINE_FAULTS: ReadonlySet<BackupFault> = new Set([
  'CERTIFICATE_MALFORMED',
  'CARD_ID_MISMATCH',
  'CERTIFICATE_UNTRUSTED',
  'SESSION_NOT_CERTIFIED',
  'PREPARE_SIGNATURE_INVALID',
  'SEAL_SIGNATURE_INVALID',
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
  /** The access code, for export-primary. Not copied, not kept, not zeroised here. */
  readonly pin?: Uint8Array | undefined;
  /**
   * Persists a journal reached inside a step, before the step goes on (the claim before
   * BACKUP_PREPARE; each blob after its BACKUP_EXPORT). Must resolve only once the journal is durable.
   */
  readonly checkpoint: (journal: BackupJournal, name: CheckpointName) => Promise<void>;
  /** Told which card the step recognised, before anything that could change the card is sent. */
  readonly onRecognised?: (step: StepLabel, role: CardRole, cardId: Uint8Array, testCard: boolean) => void;
}

export interface StepResult {
  readonly step: StepLabel;
  readonly role: CardRole;
  readonly cardId: Uint8Array;
  readonly journal: BackupJournal;
}

/**
 * Whether any step left in the backup needs the access code: until the primary is finalized (so a
 * caller asks for it only then; a backup resumed at its imports needs none).
 */
export function backupNeedsPin(journal: BackupJournal): boolean {
  return journal.primary?.stage !== 'finalized';
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
    case 'prepare-backup':
      return prepareBackup(journal, step.index, card, context);
    case 'export-primary':
      return exportPrimary(journal, card, context);
    case 'import':
      return importBackup(journal, card, context);
    case 'done':
      throw new Error('the backup is complete: there is no step left');
  }
}

/** Backup card i, blank: claim it (saved), then BACKUP_PREPARE: its EB, signed by its identity key. */
async function prepareBackup(journal: BackupJournal, index: number, card: TwincardCard, context: StepContext): Promise<StepResult> {
  const count = journal.backupCount;
  const step: StepLabel = `prepare-backup-${slotNumber(index)}`;
  const role: CardRole = { kind: 'backup', index };
  const wanted = `${describeRole(role, count)}, a blank card`;
  await card.select();
  const info = await card.read();
  const cardId = personalized(info, wanted);
  const id = toHex(cardId);
  if (journal.primary !== undefined && equalBytes(journal.primary.cardId, cardId)) {
    throw new WrongCardError('PRIMARY_PRESENTED', `this is the primary card (card ${id}); tap ${wanted}`, info);
  }
  const known = slotOf(journal, cardId);
  if (known >= 0 && known !== index) {
    throw new WrongCardError(
      'SAME_BACKUP_TWICE',
      `this is backup card ${known + 1} again (card ${id}); tap another blank card for ${wanted}`,
      info,
    );
  }
  const claimedHere = known === index;
  switch (info.state) {
    case 'BLANK':
      break;
    case 'BACKUP_PENDING':
      if (claimedHere) break; // claimed by this step before, and its answer lost: BACKUP_PREPARE answers the same EB
      throw new WrongCardError(
        'PENDING_ELSEWHERE',
        `card ${id} is already prepared for another backup (BACKUP_PENDING, not in this journal); tap ${wanted}, ` +
          'or free this one with `twincard cancel-backup` first',
        info,
      );
    case 'WALLET':
    case 'BACKUP_EXPORTING':
      throw new WrongCardError(
        'HAS_WALLET',
        `card ${id} holds a wallet (${info.state}); tap ${wanted} (the primary comes after the backup cards)`,
        info,
      );
    case 'BACKED_UP':
      throw new WrongCardError(
        'OTHER_BACKUP',
        `card ${id} belongs to a finished backup (BACKED_UP) and can never be written again; tap ${wanted}`,
        info,
      );
  }
  const certificate = checkCertificate(info, cardId, context.roots, step, role, count);
  const claimed = journal.backups[index];
  if (claimedHere && claimed !== undefined && !equalBytes(claimed.certificate, certificate.encoded)) {
    throw new BackupCardError(
      'CARD_DIVERGED',
      step,
      role,
      cardId,
      count,
      'its certificate differs from the one recorded when it was claimed',
    );
  }
  context.onRecognised?.(step, role, cardId, isTestCard(info, context.roots));
  let current = journal;
  if (!claimedHere) {
    // A new card for this slot (or another card than the one claimed before, which never answered).
    current = withSlot(journal, index, { stage: 'claimed', cardId, certificate: certificate.encoded });
    await context.checkpoint(current, 'claimed');
  }
  const offer = await card.backupPrepare();
  if (
    !verifyMessageSignature(offer.signature, prepareMessage(cardId, offer.ephemeralKey), certificate.identityPublicKey, 'prepare signature')
  ) {
    throw new BackupCardError(
      'PREPARE_SIGNATURE_INVALID',
      step,
      role,
      cardId,
      count,
      'its prepare signature does not verify under its certified identity key',
    );
  }
  const prepared: BackupRecord = {
    stage: 'prepared',
    cardId,
    certificate: certificate.encoded,
    ephemeralKey: offer.ephemeralKey,
    prepareSignature: offer.signature,
  };
  return { step, role, cardId, journal: withSlot(current, index, prepared) };
}

/**
 * The primary, once: a blob per backup card (each saved as it arrives), then BACKUP_FINALIZE, then
 * READ to check that the primary's backup cards are exactly this journal's.
 */
async function exportPrimary(journal: BackupJournal, card: TwincardCard, context: StepContext): Promise<StepResult> {
  const step: StepLabel = 'export-primary';
  const role: CardRole = { kind: 'primary' };
  const count = journal.backupCount;
  const backups = journal.backups.filter(isPrepared);
  if (backups.length !== count) throw new Error('export-primary: not every backup card is prepared yet');
  const wanted = 'the primary card (the one that holds the wallet)';
  await card.select();
  const info = await card.read();
  const cardId = personalized(info, wanted);
  const id = toHex(cardId);
  const known = slotOf(journal, cardId);
  if (known >= 0) {
    throw new WrongCardError('BACKUP_PRESENTED', `this is backup card ${known + 1} (card ${id}); tap ${wanted}`, info);
  }
  const recorded = journal.primary;
  if (recorded !== undefined && !equalBytes(recorded.cardId, cardId)) {
    throw new WrongCardError('STRANGER', `card ${id} is not this backup's primary (card ${toHex(recorded.cardId)}); tap it`, info);
  }
  switch (info.state) {
    case 'WALLET':
    case 'BACKUP_EXPORTING':
      break;
    case 'BACKED_UP':
      // Finalized by this backup (its blobs are all saved first): BACKUP_FINALIZE answers a repeat the same.
      if (info.walletOrigin === 'created' && recorded !== undefined) break;
      if (info.walletOrigin === 'created') {
        throw new WrongCardError(
          'OTHER_BACKUP',
          `card ${id}'s wallet is already backed up (BACKED_UP, to card(s) ${info.backupCardIds.map(toHex).join(', ')}): ` +
            `a wallet is backed up once; tap ${wanted}`,
          info,
        );
      }
      throw new WrongCardError(
        'OTHER_BACKUP',
        `card ${id} holds a wallet imported from primary ${info.primaryId === undefined ? '?' : toHex(info.primaryId)}: ` +
          `a backup card is never backed up from; tap ${wanted}`,
        info,
      );
    case 'FACTORY':
    case 'BLANK':
    case 'BACKUP_PENDING':
      throw new WrongCardError('NO_WALLET', `card ${id} holds no wallet (${info.state}); tap ${wanted}`, info);
  }
  const certificate = checkCertificate(info, cardId, context.roots, step, role, count);
  const fail = (fault: BackupFault, problem: string) => new BackupCardError(fault, step, role, cardId, count, problem);
  const walletPublicKey = info.walletPublicKey;
  if (walletPublicKey === undefined) throw fail('CARD_DIVERGED', `it reports no wallet key in state ${info.state}`);
  if (recorded !== undefined) {
    if (!equalBytes(recorded.certificate, certificate.encoded))
      throw fail('CARD_DIVERGED', 'its certificate differs from the one recorded at its first export');
    if (!equalBytes(recorded.walletPublicKey, walletPublicKey))
      throw fail('CARD_DIVERGED', 'its wallet key differs from the one recorded at its first export');
  }
  const unknown = info.backupCardIds.filter((b) => !backups.some((r) => equalBytes(r.cardId, b)));
  if (unknown.length > 0) {
    throw fail(
      'UNKNOWN_BACKUP_CARD',
      `it has already let a wallet blob out for card(s) ${unknown.map(toHex).join(', ')}, which this backup does not know: ` +
        'another backup of this wallet was started (or this backup dropped a card the primary had already counted), and the ' +
        'primary counts those cards for ever (`twincard info` lists them). ' +
        'Nothing was sent to it; this backup cannot go on with it',
    );
  }
  const missing = backups.filter((r) => isSealed(r) && !info.backupCardIds.some((b) => equalBytes(r.cardId, b)));
  if (missing.length > 0) {
    throw fail(
      'CARD_DIVERGED',
      `this journal holds a blob it sealed for card(s) ${missing.map((r) => toHex(r.cardId)).join(', ')}, but it does not count them`,
    );
  }
  if (info.state === 'BACKED_UP' && !backups.every(isSealed)) {
    throw fail(
      'CARD_DIVERGED',
      'it was finalized (BACKED_UP) without this journal holding every blob: the backup cards without one can never ' +
        'receive the wallet, and this primary never exports again',
    );
  }
  context.onRecognised?.(step, role, cardId, isTestCard(info, context.roots));
  const pin = requirePin(context, step);
  // The access code crosses the field only inside a session whose key the card signed with the
  // attestation key of the certificate just verified (section 1.4): a card in the middle stops here.
  try {
    await card.openSession(certificate);
  } catch (e) {
    if (e instanceof SessionKeyNotCertifiedError) throw fail('SESSION_NOT_CERTIFIED', e.message);
    throw e;
  }
  await card.verifyPin(pin);

  let current = journal;
  const primary: PrimaryRecord = { stage: 'exporting', cardId, certificate: certificate.encoded, walletPublicKey };
  for (const [index, backup] of journal.backups.entries()) {
    if (!isPrepared(backup) || isSealed(backup)) continue;
    const exported = await card.backupExport({
      certificate: backup.certificate,
      ephemeralKey: backup.ephemeralKey,
      signature: backup.prepareSignature,
    });
    const sealed: SealedBlob = { ephemeralKey: exported.ephemeralKey, sealSignature: exported.signature, blob: exported.blob };
    const fault = sealFault(certificate, backup, sealed);
    if (fault !== undefined)
      throw fail(fault.fault, `its answer for backup card ${index + 1} (card ${toHex(backup.cardId)}): ${fault.problem}`);
    current = { ...withSlot(current, index, { ...backup, stage: 'sealed', sealed }), primary };
    // The primary counts this card from now on: the blob must survive whatever happens next.
    await context.checkpoint(current, `exported-${slotNumber(index)}`);
  }
  const finalized = await card.backupFinalize();
  const after = await card.read();
  const expected = backups.map((b) => b.cardId);
  const exact =
    after.state === 'BACKED_UP' &&
    finalized === count &&
    after.backupCardIds.length === count &&
    expected.every((e) => after.backupCardIds.some((b) => equalBytes(b, e)));
  if (!exact) {
    throw fail(
      'BACKUP_CARDS_MISMATCH',
      `after BACKUP_FINALIZE it is ${after.state} and counts ${finalized} backup ` +
        `card(s) (${after.backupCardIds.map(toHex).join(', ') || 'none'}), ` +
        `this backup has ${count} (${expected.map(toHex).join(', ')})` +
        (after.backupCardIds.length > count ? ': someone else exported from it' : ''),
    );
  }
  return { step, role, cardId, journal: { ...current, primary: { ...primary, stage: 'finalized' } } };
}

/** Backup card i (any order): BACKUP_IMPORT of the blob sealed to it. */
async function importBackup(journal: BackupJournal, card: TwincardCard, context: StepContext): Promise<StepResult> {
  const primary = journal.primary;
  if (primary?.stage !== 'finalized') throw new Error('import: the primary is not finalized yet');
  const count = journal.backupCount;
  const pending = journal.backups.findIndex((b) => b.stage !== 'imported');
  const wanted = pending >= 0 ? describeRole({ kind: 'backup', index: pending }, count) : 'a backup card';
  await card.select();
  const info = await card.read();
  const cardId = personalized(info, wanted);
  const id = toHex(cardId);
  if (equalBytes(cardId, primary.cardId)) {
    throw new WrongCardError('PRIMARY_PRESENTED', `this is the primary card (card ${id}); tap ${wanted}`, info);
  }
  const index = slotOf(journal, cardId);
  const backup = journal.backups[index];
  if (backup === undefined) {
    throw new WrongCardError('STRANGER', `card ${id} is not one of this backup's cards; tap ${wanted}`, info);
  }
  if (backup.stage === 'imported') {
    throw new WrongCardError('SAME_BACKUP_TWICE', `backup card ${index + 1} (card ${id}) already holds the wallet; tap ${wanted}`, info);
  }
  if (!isSealed(backup)) throw new Error(`import: backup card ${index + 1} has no sealed blob`);
  const step: StepLabel = `import-${slotNumber(index)}`;
  const role: CardRole = { kind: 'backup', index };
  const fail = (fault: BackupFault, problem: string) => new BackupCardError(fault, step, role, cardId, count, problem);
  if (info.certificate === undefined || !equalBytes(info.certificate, backup.certificate)) {
    throw fail('CARD_DIVERGED', 'its certificate differs from the one recorded when it was prepared');
  }
  const repeat =
    info.state === 'BACKED_UP' &&
    info.walletOrigin === 'imported' &&
    info.primaryId !== undefined &&
    equalBytes(info.primaryId, primary.cardId);
  if (info.state === 'BLANK') {
    throw fail(
      'CARD_DIVERGED',
      'it is BLANK: it was cancelled after its blob was sealed, so that blob can never be imported; the primary counts it as a ' +
        'backup card all the same (a lost slot, never a hidden copy)',
    );
  }
  if (info.state !== 'BACKUP_PENDING' && !repeat) {
    throw fail('CARD_DIVERGED', `it is ${info.state}${info.walletOrigin ? ` (wallet ${info.walletOrigin})` : ''}, expected BACKUP_PENDING`);
  }
  context.onRecognised?.(step, role, cardId, isTestCard(info, context.roots));
  const outcome = await card.backupImport({
    certificate: primary.certificate,
    ephemeralKey: backup.sealed.ephemeralKey,
    signature: backup.sealed.sealSignature,
    blob: backup.sealed.blob,
  });
  if (!equalBytes(outcome.walletPublicKey, primary.walletPublicKey)) {
    throw fail(
      'WALLET_KEY_MISMATCH',
      `it reports wallet key ${toHex(outcome.walletPublicKey)}, the primary's is ${toHex(primary.walletPublicKey)}`,
    );
  }
  return { step, role, cardId, journal: withSlot(journal, index, { ...backup, stage: 'imported' }) };
}

/**
 * Re-checks a journal read from disk as if its contents came from the cards (a file is as hostile as a
 * card): every certificate under the trusted roots and naming its card, every point, every prepare
 * and seal signature over its section 1.1 message, every blob header. parseJournal has already checked
 * the format and the model's rules.
 * @throws JournalError naming what does not verify.
 */
export function verifyJournal(journal: BackupJournal, roots: readonly TrustedRoot[]): void {
  const certified = (bytes: Uint8Array, cardId: Uint8Array, where: string): Certificate => {
    let certificate: Certificate;
    try {
      certificate = parseCertificate(bytes);
    } catch (e) {
      if (e instanceof CertificateFormatError) throw new JournalError(`${where}.certificate: ${e.message}`);
      throw e;
    }
    if (!equalBytes(certificate.cardId, cardId))
      throw new JournalError(`${where}.certificate: it is for card ${toHex(certificate.cardId)}`);
    if (findCertificateRoot(certificate, roots) === undefined) {
      throw new JournalError(
        `${where}.certificate: no trusted root signed it${roots.length === 0 ? ' (no root is trusted: --trust-test-root?)' : ''}`,
      );
    }
    return certificate;
  };
  const point = (bytes: Uint8Array, where: string) => {
    if (!isValidPublicKey(bytes)) throw new JournalError(`${where}: not a valid secp256k1 point`);
  };
  const primary = journal.primary;
  const primaryCertificate = primary === undefined ? undefined : certified(primary.certificate, primary.cardId, 'journal.primary');
  if (primary !== undefined) point(primary.walletPublicKey, 'journal.primary.walletPublicKey');
  journal.backups.forEach((backup, i) => {
    const where = `journal.backups[${i}]`;
    const certificate = certified(backup.certificate, backup.cardId, where);
    if (!isPrepared(backup)) return;
    point(backup.ephemeralKey, `${where}.ephemeralKey`);
    if (
      !journalSignatureVerifies(
        backup.prepareSignature,
        prepareMessage(backup.cardId, backup.ephemeralKey),
        certificate,
        `${where}.prepareSignature`,
      )
    ) {
      throw new JournalError(`${where}.prepareSignature: does not verify`);
    }
    if (!isSealed(backup)) return;
    if (primaryCertificate === undefined) throw new JournalError(`${where}.sealed: no primary recorded`);
    point(backup.sealed.ephemeralKey, `${where}.sealed.ephemeralKey`);
    let fault: { fault: BackupFault; problem: string } | undefined;
    try {
      fault = sealFault(primaryCertificate, backup, backup.sealed);
    } catch (e) {
      if (e instanceof SignatureFormatError) throw new JournalError(`${where}.sealed.sealSignature: ${e.message}`);
      throw e;
    }
    if (fault !== undefined) throw new JournalError(`${where}.sealed: ${fault.problem}`);
  });
}

// ---------------------------------------------------------------------------------------------

/**
 * The one check of a sealed export, for the step (fresh from the primary) and for verifyJournal (from
 * the file): the seal signature over P.id ‖ B.id ‖ EB ‖ EP under the primary's certified key, and the
 * blob header (version 02, this primary, this backup card).
 * @throws SignatureFormatError for a signature that is not strict DER.
 */
function sealFault(
  primary: Certificate,
  backup: PreparedOrLater,
  sealed: SealedBlob,
): { readonly fault: BackupFault; readonly problem: string } | undefined {
  const message = sealMessage(primary.cardId, backup.cardId, backup.ephemeralKey, sealed.ephemeralKey);
  if (!verifyMessageSignature(sealed.sealSignature, message, primary.identityPublicKey, 'seal signature')) {
    return { fault: 'SEAL_SIGNATURE_INVALID', problem: "the seal signature does not verify under the primary's certified identity key" };
  }
  const problem = walletBlobHeaderProblem(parseWalletBlobHeader(sealed.blob), { primaryId: primary.cardId, backupId: backup.cardId });
  return problem === undefined ? undefined : { fault: 'BLOB_HEADER_MISMATCH', problem: `the blob's ${problem}` };
}

function journalSignatureVerifies(signature: Uint8Array, message: Uint8Array, certificate: Certificate, where: string): boolean {
  try {
    return verifyMessageSignature(signature, message, certificate.identityPublicKey, where);
  } catch (e) {
    if (e instanceof SignatureFormatError) throw new JournalError(e.message);
    throw e;
  }
}

function slotNumber(index: number): 1 | 2 {
  if (index !== 0 && index !== 1) throw new RangeError(`backup card index ${index}: expected 0 or 1`);
  return (index + 1) as 1 | 2;
}

function withSlot(journal: BackupJournal, index: number, record: BackupRecord): BackupJournal {
  const backups = [...journal.backups];
  backups[index] = record;
  return { ...journal, backups };
}

function personalized(info: CardInfo, wanted: string): Uint8Array {
  if (info.state === 'FACTORY' || info.cardId === undefined) {
    throw new WrongCardError('NOT_PERSONALIZED', `this card is not personalized (FACTORY state); tap ${wanted}`, info);
  }
  return info.cardId;
}

function requirePin(context: StepContext, step: StepLabel): Uint8Array {
  if (context.pin === undefined) throw new PinRequiredError(`${step} needs the access code`);
  return context.pin;
}

/** The certificate READ returned: parses, names this card, signed by a trusted root. */
/** Whether the card's certificate verifies under a TEST root only (the CLI warns each time such a card is used). */
function isTestCard(info: CardInfo, roots: readonly TrustedRoot[]): boolean {
  if (info.certificate === undefined) return false;
  try {
    return (
      findCertificateRoot(
        parseCertificate(info.certificate),
        roots.filter((r) => !r.test),
      ) === undefined
    );
  } catch {
    return false;
  }
}

function checkCertificate(
  info: CardInfo,
  cardId: Uint8Array,
  roots: readonly TrustedRoot[],
  step: StepLabel,
  role: CardRole,
  count: number,
): Certificate {
  const fail = (fault: BackupFault, problem: string) => new BackupCardError(fault, step, role, cardId, count, problem);
  if (info.certificate === undefined) throw fail('CERTIFICATE_MALFORMED', 'it reports no certificate');
  let certificate: Certificate;
  try {
    certificate = parseCertificate(info.certificate);
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

/**
 * What docs/protocol.md version 2 says each card must do, as a model a random command sequence is checked
 * against: the state of every card (section 3's table and each command's section 6 text), the status word a
 * command must answer in that state, and what the host has seen (every prepare offer and every sealed export,
 * replayable anywhere). Pure: no I/O.
 */
import { toHex } from '../../../../src/apdu/index.js';
import { SW, type CardView, type Offer, type SealedExport, type State } from './wire.js';

export const PIN_TRIES = 5;

export interface CardModel {
  state: State;
  readonly id: string;
  /** The access code the card holds (hex), in the wallet states. */
  pin?: string;
  triesLeft: number;
  /** VERIFY_PIN succeeded in the host's current session with the card (gone with the session, section 1.4). */
  verified: boolean;
  walletPublicKey?: string;
  origin?: 'created' | 'imported';
  primaryId?: string;
  backupIds: string[];
  /** BACKUP_PENDING: the current EB (hex); undefined when a torn prepare made one the host has not seen. */
  eb?: string;
  /** BACKED_UP with origin 02: the tag of the blob it imported (hex). */
  importedTag?: string;
  signCounter: number;
}

/** A sealed export with what the exporting card held when it made it (the blob's secret content). */
export interface ObservedExport {
  readonly sealed: SealedExport;
  readonly walletPublicKey: string;
  readonly pin: string;
}

export interface Model {
  readonly cards: CardModel[];
  readonly offers: Offer[];
  readonly exports: ObservedExport[];
  /** Every EB any card ever answered (hex): a new prepare must not reuse one. */
  readonly ebsSeen: Set<string>;
}

export function blankCard(id: string): CardModel {
  return { state: 'BLANK', id, triesLeft: PIN_TRIES, verified: false, backupIds: [], signCounter: 0 };
}

const WALLET_STATES: ReadonlySet<State> = new Set(['WALLET', 'BACKUP_EXPORTING', 'BACKED_UP']);

export function holdsWallet(c: CardModel): boolean {
  return WALLET_STATES.has(c.state);
}

/** The access-code gate of SIGN, BACKUP_EXPORT and BACKUP_FINALIZE, after the state check (section 3's order). */
function pinGate(c: CardModel): number | undefined {
  if (c.triesLeft === 0) return SW.PIN_BLOCKED;
  if (!c.verified) return SW.PIN_NOT_VERIFIED;
  return undefined;
}

/** The one status word the document allows for BACKUP_EXPORT on card c with offer o. */
export function expectedExport(c: CardModel, o: Offer): number {
  if (c.state !== 'WALLET' && c.state !== 'BACKUP_EXPORTING') return SW.CONDITIONS_NOT_SATISFIED;
  const gate = pinGate(c);
  if (gate !== undefined) return gate;
  const backupId = toHex(o.backupId);
  if (backupId === c.id) return SW.SAME_CARD;
  if (!c.backupIds.includes(backupId) && c.backupIds.length >= 2) return SW.TOO_MANY_BACKUPS;
  return SW.OK;
}

export function expectedFinalize(c: CardModel): number {
  const allowed = c.state === 'BACKUP_EXPORTING' || (c.state === 'BACKED_UP' && c.origin === 'created');
  if (!allowed) return SW.CONDITIONS_NOT_SATISFIED;
  return pinGate(c) ?? SW.OK;
}

/** BACKUP_IMPORT on card c of export x: the word, and whether it is a first import (00) or a repeat (01). */
export function expectedImport(c: CardModel, x: ObservedExport): { sw: number; result?: 0 | 1 } {
  const tag = toHex(x.sealed.blob.subarray(193 - 32));
  if (c.state === 'BACKED_UP' && c.origin === 'imported') {
    return c.importedTag === tag ? { sw: SW.OK, result: 1 } : { sw: SW.CONDITIONS_NOT_SATISFIED };
  }
  if (c.state !== 'BACKUP_PENDING') return { sw: SW.CONDITIONS_NOT_SATISFIED };
  if (toHex(x.sealed.primaryId) === c.id) return { sw: SW.SAME_CARD };
  if (toHex(x.sealed.offer.backupId) !== c.id) return { sw: SW.WRONG_RECIPIENT };
  if (c.eb === undefined || toHex(x.sealed.offer.eb) !== c.eb) return { sw: SW.SIGNATURE_INVALID };
  return { sw: SW.OK, result: 0 };
}

export function expectedSign(c: CardModel): number {
  if (!holdsWallet(c)) return SW.CONDITIONS_NOT_SATISFIED;
  return pinGate(c) ?? SW.OK;
}

export function expectedVerify(c: CardModel, right: boolean): number {
  if (!holdsWallet(c)) return SW.CONDITIONS_NOT_SATISFIED;
  if (c.triesLeft === 0) return SW.PIN_BLOCKED;
  return right ? SW.OK : 0x63c0 | (c.triesLeft - 1);
}

/** CHANGE_ACCESS_CODE and RESET check the code in their payload as VERIFY_PIN does, after the state check. */
export function expectedChangeCode(c: CardModel, right: boolean): number {
  return expectedVerify(c, right);
}

export function expectedReset(c: CardModel, right: boolean): number {
  if (c.state !== 'WALLET' && c.state !== 'BACKED_UP') return SW.CONDITIONS_NOT_SATISFIED; // BACKUP_EXPORTING: I2's record first
  return expectedVerify(c, right);
}

/** RESET's one transaction: blank again, the same card (id, keys, certificate), nothing of the wallet left. */
export function resetToBlank(c: CardModel): void {
  c.state = 'BLANK';
  delete c.pin;
  delete c.walletPublicKey;
  delete c.origin;
  delete c.primaryId;
  delete c.importedTag;
  delete c.eb;
  c.backupIds = [];
  c.signCounter = 0;
  c.triesLeft = PIN_TRIES;
  c.verified = false;
}

export const expectedPrepare = (c: CardModel): number =>
  c.state === 'BLANK' || c.state === 'BACKUP_PENDING' ? SW.OK : SW.CONDITIONS_NOT_SATISFIED;
export const expectedCancel = (c: CardModel): number => expectedPrepare(c);
export const expectedCreateWallet = (c: CardModel): number => (c.state === 'BLANK' ? SW.OK : SW.CONDITIONS_NOT_SATISFIED);

/**
 * The status words section 6 lists for each command at all (whatever the state): a card answering anything
 * else breaks the document even before the model's exact prediction is compared.
 */
export const SPEC_WORDS: Readonly<Record<string, readonly number[]>> = {
  SELECT: [SW.OK],
  VERIFY_PIN: [SW.OK, SW.CONDITIONS_NOT_SATISFIED, SW.PIN_BLOCKED, SW.WRONG_LENGTH, 0x63c0, 0x63c1, 0x63c2, 0x63c3, 0x63c4],
  CREATE_WALLET: [SW.OK, SW.CONDITIONS_NOT_SATISFIED, SW.WRONG_LENGTH],
  SIGN: [SW.OK, SW.CONDITIONS_NOT_SATISFIED, SW.PIN_NOT_VERIFIED, SW.PIN_BLOCKED, SW.WRONG_LENGTH],
  OPEN_SESSION: [SW.OK, SW.CONDITIONS_NOT_SATISFIED, SW.POINT_INVALID, SW.WRONG_LENGTH, SW.WRONG_DATA],
  CHANGE_ACCESS_CODE: [
    SW.OK,
    SW.CONDITIONS_NOT_SATISFIED,
    SW.PIN_BLOCKED,
    SW.WRONG_LENGTH,
    SW.WRONG_DATA,
    0x63c0,
    0x63c1,
    0x63c2,
    0x63c3,
    0x63c4,
  ],
  RESET: [SW.OK, SW.CONDITIONS_NOT_SATISFIED, SW.PIN_BLOCKED, SW.WRONG_LENGTH, 0x63c0, 0x63c1, 0x63c2, 0x63c3, 0x63c4],
  BACKUP_PREPARE: [SW.OK, SW.CONDITIONS_NOT_SATISFIED, SW.WRONG_LENGTH],
  BACKUP_CANCEL: [SW.OK, SW.CONDITIONS_NOT_SATISFIED, SW.WRONG_LENGTH],
  BACKUP_EXPORT: [
    SW.OK,
    SW.CONDITIONS_NOT_SATISFIED,
    SW.PIN_NOT_VERIFIED,
    SW.PIN_BLOCKED,
    SW.WRONG_LENGTH,
    SW.WRONG_DATA,
    SW.POINT_INVALID,
    SW.CERT_INVALID,
    SW.SAME_CARD,
    SW.SIGNATURE_INVALID,
    SW.TOO_MANY_BACKUPS,
  ],
  BACKUP_FINALIZE: [SW.OK, SW.CONDITIONS_NOT_SATISFIED, SW.PIN_NOT_VERIFIED, SW.PIN_BLOCKED, SW.WRONG_LENGTH],
  BACKUP_IMPORT: [
    SW.OK,
    SW.CONDITIONS_NOT_SATISFIED,
    SW.WRONG_LENGTH,
    SW.WRONG_DATA,
    SW.POINT_INVALID,
    SW.CERT_INVALID,
    SW.SAME_CARD,
    SW.WRONG_RECIPIENT,
    SW.SIGNATURE_INVALID,
    SW.MAC_INVALID,
    SW.BLOB_INVALID,
  ],
};

/**
 * Section 3's table: the states in which each command may do anything but 6985. A 9000 outside them is a
 * violation whatever the model says.
 */
export const STATES_ALLOWED: Readonly<Record<string, readonly State[]>> = {
  VERIFY_PIN: ['WALLET', 'BACKUP_EXPORTING', 'BACKED_UP'],
  CREATE_WALLET: ['BLANK'],
  SIGN: ['WALLET', 'BACKUP_EXPORTING', 'BACKED_UP'],
  OPEN_SESSION: ['BLANK', 'WALLET', 'BACKUP_EXPORTING', 'BACKUP_PENDING', 'BACKED_UP'],
  CHANGE_ACCESS_CODE: ['WALLET', 'BACKUP_EXPORTING', 'BACKED_UP'],
  RESET: ['WALLET', 'BACKED_UP'],
  BACKUP_PREPARE: ['BLANK', 'BACKUP_PENDING'],
  BACKUP_CANCEL: ['BLANK', 'BACKUP_PENDING'],
  BACKUP_EXPORT: ['WALLET', 'BACKUP_EXPORTING'],
  BACKUP_FINALIZE: ['BACKUP_EXPORTING', 'BACKED_UP'],
  BACKUP_IMPORT: ['BACKUP_PENDING', 'BACKED_UP'],
};

/** Differences between what card k READ and what the model says it holds (empty when they agree). */
export function modelMismatches(k: number, model: CardModel, view: CardView): string[] {
  const problems: string[] = [];
  const compare = (what: string, expected: unknown, got: unknown): void => {
    if (JSON.stringify(expected) !== JSON.stringify(got)) {
      problems.push(`card ${k}: ${what} is ${JSON.stringify(got)}, the document says ${JSON.stringify(expected)}`);
    }
  };
  compare('state', model.state, view.state);
  compare('BACKUP_CARD_IDS', model.backupIds, view.backupCardIds);
  compare('wallet public key', model.walletPublicKey, view.walletPublicKey && toHex(view.walletPublicKey));
  compare('wallet origin', model.origin, view.origin);
  compare('PRIMARY_ID', model.primaryId, view.primaryId && toHex(view.primaryId));
  compare('SIGN_COUNTER', model.signCounter, view.signCounter);
  if (holdsWallet(model)) compare('PIN_TRIES_LEFT', model.triesLeft, view.pinTriesLeft);
  return problems;
}

/**
 * The attacker's own reading of docs/protocol.md version 2: instruction codes, tags, status words and a
 * codec per command, taken from the document rather than from src/protocol/card.ts: these tests hold the CARD
 * to the document and send what no honest host would, so they must not share a parsing mistake with the host
 * layer. (The prepare and seal messages are src/protocol/messages.ts', which the worked examples pin down; the
 * certificate message format 02 and the session of section 1.4 are written here and in session.ts.) The
 * version 1 backup INS values are here because version 2 drops them from the host: they must answer 6D00.
 */
import { command, encodeProtocolTlvs, TlvRecord, toHex, type CommandApdu } from '../../../../src/apdu/index.js';
import { validatePublicKey } from '../../../../src/protocol/crypto.js';
import { AID, STATES, Tag as TAG, V1_BACKUP_INS, VERSION as PROTOCOL_VERSION, type StateName as State } from '../../../../src/conformance/wire.js';

/** Section 6, version 2. */
export const INS = Object.freeze({
  SELECT: 0xa4,
  READ: 0x10,
  VERIFY_PIN: 0x20,
  CHANGE_ACCESS_CODE: 0x24,
  RESET: 0x28,
  CREATE_WALLET: 0x30,
  SIGN: 0x32,
  ATTEST: 0x40,
  BACKUP_PREPARE: 0x60,
  BACKUP_EXPORT: 0x62,
  BACKUP_FINALIZE: 0x64,
  BACKUP_IMPORT: 0x66,
  BACKUP_CANCEL: 0x68,
  OPEN_SESSION: 0x70,
  PERSO_GENERATE: 0xf0,
  PERSO_COMMIT: 0xf2,
} as const);

// Tags, state names and the version 1 backup INS values: the conformance suite's own reading of
// the document (src/conformance/wire.ts), which is independent of src/protocol as these tests must be.
export { TAG, V1_BACKUP_INS, type State };

/** Section 6: the words a version 2 card may answer. */
export const SW = Object.freeze({
  OK: 0x9000,
  WRONG_LENGTH: 0x6700,
  WRONG_DATA: 0x6a80,
  CONDITIONS: 0x6985,
  PIN_NOT_VERIFIED: 0x6982,
  PIN_BLOCKED: 0x6983,
  INS_NOT_SUPPORTED: 0x6d00,
  /** A command that must be wrapped came plain (section 1.4). */
  WRAP_REQUIRED: 0x6987,
  /** A command that must be plain came wrapped. */
  PLAIN_REQUIRED: 0x6882,
  /** Secure messaging failed: no session, length, counter, MAC or padding; the session is closed. */
  SM_FAILED: 0x6988,
  CERT_INVALID: 0x9a01,
  SIGNATURE_INVALID: 0x9a03,
  POINT_INVALID: 0x9a04,
  MAC_INVALID: 0x9a05,
  WRONG_RECIPIENT: 0x9a06,
  TOO_MANY_BACKUPS: 0x9a08,
  SAME_CARD: 0x9a09,
  BLOB_INVALID: 0x9a0a,
} as const);

const CLA = 0x80;
const NE = 256;

export function swHex(sw: number): string {
  return sw.toString(16).toUpperCase().padStart(4, '0');
}

// ---------------------------------------------------------------------------------------------
// Commands

export function cmd(ins: number, data?: Uint8Array, ne = 0): CommandApdu {
  return command(CLA, ins, 0x00, 0x00, data, ne);
}

export const selectCommand = (): CommandApdu => command(0x00, INS.SELECT, 0x04, 0x00, AID, NE);
export const readCommand = (): CommandApdu => cmd(INS.READ, undefined, NE);
/** The plain forms of the commands that go wrapped (section 1.4): what the payload is; host.ts wraps them. */
export const verifyPinCommand = (pin: Uint8Array): CommandApdu => cmd(INS.VERIFY_PIN, pin);
export const changeAccessCodeCommand = (current: Uint8Array, next: Uint8Array): CommandApdu =>
  cmd(INS.CHANGE_ACCESS_CODE, encodeProtocolTlvs([[TAG.ACCESS_CODE, current], [TAG.NEW_ACCESS_CODE, next]]));
export const resetCommand = (pin: Uint8Array): CommandApdu => cmd(INS.RESET, pin);
export const createWalletCommand = (pin: Uint8Array): CommandApdu => cmd(INS.CREATE_WALLET, pin, NE);
export const signCommand = (digest: Uint8Array): CommandApdu => cmd(INS.SIGN, digest, NE);
export const prepareCommand = (): CommandApdu => cmd(INS.BACKUP_PREPARE, undefined, NE);
export const cancelCommand = (): CommandApdu => cmd(INS.BACKUP_CANCEL);
export const finalizeCommand = (): CommandApdu => cmd(INS.BACKUP_FINALIZE, undefined, NE);

/** A prepare offer the host saw, with the certificate of the card that made it. */
export interface Offer {
  readonly backupId: Uint8Array;
  readonly certificate: Uint8Array;
  readonly eb: Uint8Array;
  readonly signature: Uint8Array;
}

/** What a primary answered to BACKUP_EXPORT, with the offer it was asked for and its own certificate. */
export interface SealedExport {
  readonly primaryId: Uint8Array;
  readonly primaryCertificate: Uint8Array;
  /** The offer the export answered: its backup id and EB are what the seal must name. */
  readonly offer: Offer;
  readonly ep: Uint8Array;
  readonly seal: Uint8Array;
  readonly blob: Uint8Array;
}

export function exportCommand(offer: Offer): CommandApdu {
  return cmd(
    INS.BACKUP_EXPORT,
    encodeProtocolTlvs([
      [TAG.CERTIFICATE, offer.certificate],
      [TAG.BACKUP_EPHEMERAL_KEY, offer.eb],
      [TAG.PREPARE_SIGNATURE, offer.signature],
    ]),
    NE,
  );
}

export function importCommand(sealed: SealedExport): CommandApdu {
  return cmd(
    INS.BACKUP_IMPORT,
    encodeProtocolTlvs([
      [TAG.CERTIFICATE, sealed.primaryCertificate],
      [TAG.PRIMARY_EPHEMERAL_KEY, sealed.ep],
      [TAG.SEAL_SIGNATURE, sealed.seal],
      [TAG.WALLET_BLOB, sealed.blob],
    ]),
    NE,
  );
}

// ---------------------------------------------------------------------------------------------
// Responses: every field checked as section 6 lists it (a TlvError names what was wrong)

const SIGNATURE_LENGTH = { min: 8, max: 72 } as const;

function parse(data: Uint8Array, allowed: readonly number[], what: string): TlvRecord {
  return TlvRecord.parse(data, { allowed, what, ordered: true });
}

function expectConsumed(record: TlvRecord, tags: readonly number[]): void {
  const missing = tags.filter((t) => !record.has(t));
  if (missing.length > 0) throw new Error(`${record.what}: missing ${missing.map((t) => t.toString(16)).join(', ')}`);
}

export function parsePrepare(data: Uint8Array): { eb: Uint8Array; signature: Uint8Array } {
  const r = parse(data, [TAG.BACKUP_EPHEMERAL_KEY, TAG.PREPARE_SIGNATURE], 'BACKUP_PREPARE response');
  expectConsumed(r, [TAG.BACKUP_EPHEMERAL_KEY, TAG.PREPARE_SIGNATURE]);
  return {
    eb: validatePublicKey(r.required(TAG.BACKUP_EPHEMERAL_KEY, 65), 'EB'),
    signature: r.required(TAG.PREPARE_SIGNATURE, SIGNATURE_LENGTH),
  };
}

export function parseExport(data: Uint8Array): { ep: Uint8Array; seal: Uint8Array; blob: Uint8Array } {
  const r = parse(data, [TAG.PRIMARY_EPHEMERAL_KEY, TAG.SEAL_SIGNATURE, TAG.WALLET_BLOB], 'BACKUP_EXPORT response');
  return {
    ep: validatePublicKey(r.required(TAG.PRIMARY_EPHEMERAL_KEY, 65), 'EP'),
    seal: r.required(TAG.SEAL_SIGNATURE, SIGNATURE_LENGTH),
    blob: r.required(TAG.WALLET_BLOB, 193),
  };
}

export function parseFinalize(data: Uint8Array): number {
  return parse(data, [TAG.BACKUP_COUNT], 'BACKUP_FINALIZE response').required(TAG.BACKUP_COUNT, 1)[0]!;
}

export function parseImport(data: Uint8Array): { walletPublicKey: Uint8Array; result: number } {
  const r = parse(data, [TAG.WALLET_PUBLIC_KEY, TAG.IMPORT_RESULT], 'BACKUP_IMPORT response');
  return {
    walletPublicKey: validatePublicKey(r.required(TAG.WALLET_PUBLIC_KEY, 65), 'wallet public key'),
    result: r.required(TAG.IMPORT_RESULT, 1)[0]!,
  };
}

export function parseCreateWallet(data: Uint8Array): Uint8Array {
  const r = parse(data, [TAG.WALLET_PUBLIC_KEY], 'CREATE_WALLET response');
  return validatePublicKey(r.required(TAG.WALLET_PUBLIC_KEY, 65), 'wallet public key');
}

export function parseSign(data: Uint8Array): { signature: Uint8Array; counter: number } {
  const r = parse(data, [TAG.SIGNATURE, TAG.SIGN_COUNTER], 'SIGN response');
  const counter = r.required(TAG.SIGN_COUNTER, 4);
  return { signature: r.required(TAG.SIGNATURE, SIGNATURE_LENGTH), counter: new DataView(counter.buffer).getUint32(0) };
}

/** READ (section 6), as the attacker sees it: only what the invariants need, every field checked. */
export interface CardView {
  readonly state: State;
  readonly cardId?: Uint8Array;
  readonly certificate?: Uint8Array;
  readonly walletPublicKey?: Uint8Array;
  readonly origin?: 'created' | 'imported';
  readonly primaryId?: Uint8Array;
  readonly pinTriesLeft: number;
  readonly signCounter: number;
  readonly backupCount: number;
  readonly backupCardIds: readonly string[];
}

const READ_TAGS = [
  TAG.VERSION,
  TAG.STATE,
  TAG.CARD_ID,
  TAG.CERTIFICATE,
  TAG.WALLET_PUBLIC_KEY,
  TAG.WALLET_ORIGIN,
  TAG.PRIMARY_ID,
  TAG.PIN_TRIES_LEFT,
  TAG.SIGN_COUNTER,
  TAG.BACKUP_COUNT,
  TAG.BACKUP_CARD_IDS,
];

export function parseRead(data: Uint8Array): CardView {
  const r = parse(data, READ_TAGS, 'READ response');
  const version = r.required(TAG.VERSION, 1)[0]!;
  if (version !== PROTOCOL_VERSION) throw new Error(`READ: version ${version}, expected ${PROTOCOL_VERSION}`);
  const state = STATES[r.required(TAG.STATE, 1)[0]!];
  if (state === undefined) throw new Error('READ: unknown state');
  const walletPublicKey = r.optional(TAG.WALLET_PUBLIC_KEY, 65);
  const originByte = r.optional(TAG.WALLET_ORIGIN, 1)?.[0];
  const hasWallet = state === 'WALLET' || state === 'BACKUP_EXPORTING' || state === 'BACKED_UP';
  if ((walletPublicKey !== undefined) !== hasWallet || (originByte !== undefined) !== hasWallet) {
    throw new Error(`READ: wallet key/origin presence does not match state ${state}`);
  }
  if (originByte !== undefined && originByte !== 1 && originByte !== 2) throw new Error(`READ: origin ${originByte}`);
  const origin = originByte === 1 ? 'created' : originByte === 2 ? 'imported' : undefined;
  const primaryId = r.optional(TAG.PRIMARY_ID, 8);
  if ((primaryId !== undefined) !== (origin === 'imported')) throw new Error('READ: PRIMARY_ID present iff origin 02');
  const backupCount = r.required(TAG.BACKUP_COUNT, 1)[0]!;
  const ids = r.optional(TAG.BACKUP_CARD_IDS, { min: 8, max: 16 });
  if (backupCount > 2) throw new Error(`READ: BACKUP_COUNT ${backupCount}`);
  if ((ids?.length ?? 0) !== 8 * backupCount) throw new Error(`READ: BACKUP_CARD_IDS does not hold BACKUP_COUNT=${backupCount} ids`);
  const backupCardIds = ids === undefined ? [] : [toHex(ids.subarray(0, 8)), ...(ids.length === 16 ? [toHex(ids.subarray(8))] : [])];
  const counter = r.required(TAG.SIGN_COUNTER, 4);
  const cardId = r.optional(TAG.CARD_ID, 8);
  const certificate = r.optional(TAG.CERTIFICATE, { min: 157, max: 221 });
  return {
    state,
    ...(cardId && { cardId }),
    ...(certificate && { certificate }),
    ...(walletPublicKey && { walletPublicKey }),
    ...(origin && { origin }),
    ...(primaryId && { primaryId }),
    pinTriesLeft: r.required(TAG.PIN_TRIES_LEFT, 1)[0]!,
    signCounter: new DataView(counter.buffer).getUint32(0),
    backupCount,
    backupCardIds,
  };
}

export function parseSelect(data: Uint8Array): State {
  const r = parse(data, [TAG.VERSION, TAG.STATE], 'SELECT response');
  const version = r.required(TAG.VERSION, 1)[0]!;
  if (version !== PROTOCOL_VERSION) throw new Error(`SELECT: version ${version}, expected ${PROTOCOL_VERSION}`);
  const state = STATES[r.required(TAG.STATE, 1)[0]!];
  if (state === undefined) throw new Error('SELECT: unknown state');
  return state;
}

// ---------------------------------------------------------------------------------------------
// Certificate format 02 (section 4) and PERSO_GENERATE's answer (section 6)

/** "TWINCARD:CERT:02" */
const CERT_PREFIX = Uint8Array.from(Buffer.from('5457494E434152443A434552543A3032', 'hex'));

/** prefix ‖ card id (8) ‖ identity key (65) ‖ attestation key (65): what the manufacturer signs. */
export function certificateMessage02(cardId: Uint8Array, identityKey: Uint8Array, attestationKey: Uint8Array): Uint8Array {
  const out = new Uint8Array(16 + 8 + 65 + 65);
  out.set(CERT_PREFIX);
  out.set(cardId, 16);
  out.set(identityKey, 24);
  out.set(attestationKey, 89);
  return out;
}

export function encodeCertificate02(cardId: Uint8Array, identityKey: Uint8Array, attestationKey: Uint8Array, signature: Uint8Array): Uint8Array {
  return encodeProtocolTlvs([
    [TAG.CERT_VERSION, Uint8Array.of(0x02)],
    [TAG.CARD_ID, cardId],
    [TAG.IDENTITY_PUBLIC_KEY, identityKey],
    [TAG.ATTESTATION_PUBLIC_KEY, attestationKey],
    [TAG.SIGNATURE, signature],
  ]);
}

/** `0A 41 <identity public key> || 0E 41 <attestation public key>`. */
export function parsePersoGenerate(data: Uint8Array): { identityKey: Uint8Array; attestationKey: Uint8Array } {
  const r = parse(data, [TAG.IDENTITY_PUBLIC_KEY, TAG.ATTESTATION_PUBLIC_KEY], 'PERSO_GENERATE response');
  return {
    identityKey: validatePublicKey(r.required(TAG.IDENTITY_PUBLIC_KEY, 65), 'identity key'),
    attestationKey: validatePublicKey(r.required(TAG.ATTESTATION_PUBLIC_KEY, 65), 'attestation key'),
  };
}

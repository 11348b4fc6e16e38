/**
 * The suite's own reading of docs/protocol.md version 2: instruction codes, tags, states, status words,
 * signature prefixes, the signed messages and a strict READ parser. The suite is an attacker host that
 * builds every APDU itself, so it keeps its own copy of the wire format instead of going through the
 * reference host (src/protocol): a bug there cannot hide a bug in the card, and the two are checked
 * against each other by the integration tests. Only version-independent helpers (crypto, certificate
 * codec, APDU and TLV codecs) are shared.
 * @module
 */
import { concatBytes, utf8ToBytes } from '@noble/hashes/utils.js';
import { decodeProtocolTlv, formatSw, TlvError } from '../apdu/index.js';
import { isValidPublicKey } from '../protocol/crypto.js';

/** The applet's AID (section 2). */
export const AID: Uint8Array = Uint8Array.of(0xf0, 0x74, 0x77, 0x69, 0x6e, 0x63, 0x61, 0x72, 0x64, 0x01);

/** VERSION in SELECT and READ. */
const VERSION = 0x02;

/** Section 6. */
export const Ins = Object.freeze({
  SELECT: 0xa4,
  READ: 0x10,
  VERIFY_PIN: 0x20,
  CREATE_WALLET: 0x30,
  SIGN: 0x32,
  ATTEST: 0x40,
  BACKUP_PREPARE: 0x60,
  BACKUP_EXPORT: 0x62,
  BACKUP_FINALIZE: 0x64,
  BACKUP_IMPORT: 0x66,
  BACKUP_CANCEL: 0x68,
  OPEN_SESSION: 0x70,
  CHANGE_ACCESS_CODE: 0x24,
  RESET: 0x28,
  PERSO_GENERATE: 0xf0,
  PERSO_COMMIT: 0xf2,
} as const);

/** Section 1.4: the commands accepted wrapped only (plain: 6987); every other one is plain only (wrapped: 6882). */
export const WRAPPED_ONLY: ReadonlySet<number> = new Set<number>([
  Ins.VERIFY_PIN,
  Ins.CREATE_WALLET,
  Ins.CHANGE_ACCESS_CODE,
  Ins.RESET,
  Ins.SIGN,
  Ins.BACKUP_EXPORT,
  Ins.BACKUP_FINALIZE,
]);

/** CLA of a wrapped command (section 1.4); a chained block sets 0x10 as well. */
export const CLA_WRAPPED = 0x84;

export type CommandName = keyof typeof Ins;

/** Version 1's backup instructions (BACKUP_START .. BACKUP_ABORT, 5C included): a version 2 card answers 6D00. */
export const V1_BACKUP_INS: readonly number[] = [0x50, 0x52, 0x54, 0x56, 0x58, 0x5a, 0x5c, 0x5e];

/** Section 2.1. */
export const Tag = Object.freeze({
  VERSION: 0x01,
  CARD_ID: 0x02,
  STATE: 0x03,
  CERTIFICATE: 0x04,
  WALLET_PUBLIC_KEY: 0x05,
  PIN_TRIES_LEFT: 0x06,
  SIGN_COUNTER: 0x07,
  BACKUP_COUNT: 0x08,
  WALLET_ORIGIN: 0x09,
  IDENTITY_PUBLIC_KEY: 0x0a,
  SIGNATURE: 0x0b,
  MANUFACTURER_PUBLIC_KEY: 0x0d,
  ATTESTATION_PUBLIC_KEY: 0x0e,
  CERT_VERSION: 0x10,
  PRIMARY_EPHEMERAL_KEY: 0x11,
  SEAL_SIGNATURE: 0x12,
  BACKUP_EPHEMERAL_KEY: 0x13,
  PREPARE_SIGNATURE: 0x14,
  WALLET_BLOB: 0x15,
  IMPORT_RESULT: 0x17,
  BACKUP_CARD_IDS: 0x18,
  PRIMARY_ID: 0x19,
  SESSION_CARD_KEY: 0x1a,
  ACCESS_CODE: 0x1b,
  NEW_ACCESS_CODE: 0x1c,
  SESSION_HOST_KEY: 0x1d,
} as const);

/** Section 3, in the order of their values. */
export const STATES = ['FACTORY', 'BLANK', 'WALLET', 'BACKUP_EXPORTING', 'BACKUP_PENDING', 'BACKED_UP'] as const;
export type StateName = (typeof STATES)[number];

/** Section 6's status words, ISO and twincard. */
export const Sw = Object.freeze({
  OK: 0x9000,
  WRONG_LENGTH: 0x6700,
  WRONG_DATA: 0x6a80,
  CHAIN_TOO_LONG: 0x6a84,
  INCORRECT_P1P2: 0x6a86,
  CONDITIONS_NOT_SATISFIED: 0x6985,
  PIN_NOT_VERIFIED: 0x6982,
  PIN_BLOCKED: 0x6983,
  INS_NOT_SUPPORTED: 0x6d00,
  CLA_NOT_SUPPORTED: 0x6e00,
  MUST_BE_WRAPPED: 0x6987,
  MUST_BE_PLAIN: 0x6882,
  SECURE_MESSAGING: 0x6988,
  CERT_INVALID: 0x9a01,
  SIGNATURE_INVALID: 0x9a03,
  POINT_INVALID: 0x9a04,
  MAC_INVALID: 0x9a05,
  WRONG_RECIPIENT: 0x9a06,
  TOO_MANY_BACKUPS: 0x9a08,
  SAME_CARD: 0x9a09,
  BLOB_INVALID: 0x9a0a,
} as const);

/** Section 1.1 and 1.2: the 16-byte purpose prefixes and the KDF salt. */
export const Prefix = Object.freeze({
  CERTIFICATE: 'TWINCARD:CERT:02',
  ATTESTATION: 'TWINCARD:ATTEST1',
  SESSION: 'TWINCARD:SESS-C2',
  SESSION_SALT: 'TWINCARD:SES:V02',
  PREPARE: 'TWINCARD:PREP-B2',
  SEAL: 'TWINCARD:SEAL-P2',
  KDF_SALT: 'TWINCARD:KDF:V02',
} as const);

/** Blob header version (section 1.3). */
export const BLOB_VERSION = 0x02;

/** Section 1.3's sizes. */
export const BlobSize = Object.freeze({ HEADER: 17, IV: 16, CIPHERTEXT: 128, TAG: 32, TOTAL: 193 } as const);

const MAX_BACKUPS = 2;

/** Backup prepare: prefix ‖ backup id ‖ EB. */
export function prepareMessage(backupId: Uint8Array, eb: Uint8Array): Uint8Array {
  return concatBytes(utf8ToBytes(Prefix.PREPARE), backupId, eb);
}

/** Primary seal: prefix ‖ primary id ‖ backup id ‖ EB ‖ EP. */
export function sealMessage(primaryId: Uint8Array, backupId: Uint8Array, eb: Uint8Array, ep: Uint8Array): Uint8Array {
  return concatBytes(utf8ToBytes(Prefix.SEAL), primaryId, backupId, eb, ep);
}

/** Certificate format (section 4). */
const CERT_VERSION = 0x02;

/** Section 4's certificate, split. */
export interface CertificateV2 {
  readonly cardId: Uint8Array;
  readonly identityPublicKey: Uint8Array;
  readonly attestationPublicKey: Uint8Array;
  readonly signature: Uint8Array;
}

/** The manufacturer's message: prefix ‖ card id ‖ identity key ‖ attestation key. */
export function certificateMessage(cardId: Uint8Array, identityPublicKey: Uint8Array, attestationPublicKey: Uint8Array): Uint8Array {
  return concatBytes(utf8ToBytes(Prefix.CERTIFICATE), cardId, identityPublicKey, attestationPublicKey);
}

/**
 * Section 4's certificate from its fields, whatever they hold (an off-curve key, a short signature: what a
 * hostile factory could issue), so the suite can send what the host codec would refuse to build.
 */
export function encodeCertificate(c: CertificateV2): Uint8Array {
  return concatBytes(
    Uint8Array.of(Tag.CERT_VERSION, 1, CERT_VERSION, Tag.CARD_ID, c.cardId.length),
    c.cardId,
    Uint8Array.of(Tag.IDENTITY_PUBLIC_KEY, c.identityPublicKey.length),
    c.identityPublicKey,
    Uint8Array.of(Tag.ATTESTATION_PUBLIC_KEY, c.attestationPublicKey.length),
    c.attestationPublicKey,
    Uint8Array.of(Tag.SIGNATURE, c.signature.length),
    c.signature,
  );
}

/**
 * Section 4's certificate, strictly: exactly the five fields in order with their sizes. The keys are not
 * checked on the curve (section 1: certified keys only verify signatures).
 * @throws ReadFormatError naming the first fault.
 */
export function parseCertificate(bytes: Uint8Array): CertificateV2 {
  const fields = decode(bytes, 'certificate');
  const want: readonly [number, number, number, string][] = [
    [Tag.CERT_VERSION, 1, 1, 'CERT_VERSION'],
    [Tag.CARD_ID, 8, 8, 'CARD_ID'],
    [Tag.IDENTITY_PUBLIC_KEY, 65, 65, 'IDENTITY_PUBLIC_KEY'],
    [Tag.ATTESTATION_PUBLIC_KEY, 65, 65, 'ATTESTATION_PUBLIC_KEY'],
    [Tag.SIGNATURE, 8, 72, 'SIGNATURE'],
  ];
  if (fields.length !== want.length) throw new ReadFormatError(`certificate: ${fields.length} fields, not 5`);
  want.forEach(([tag, min, max, name], k) => {
    const f = fields[k]!;
    if (f.tag !== tag) throw new ReadFormatError(`certificate: field ${k + 1} is tag ${hex(f.tag)}, not ${name}`);
    if (f.value.length < min || f.value.length > max) throw new ReadFormatError(`certificate: ${name} is ${f.value.length} bytes`);
  });
  if (fields[0]!.value[0] !== CERT_VERSION) throw new ReadFormatError(`certificate: format ${hex(fields[0]!.value[0]!)}, not 02`);
  return {
    cardId: fields[1]!.value,
    identityPublicKey: fields[2]!.value,
    attestationPublicKey: fields[3]!.value,
    signature: fields[4]!.value,
  };
}

/** Session (section 1.1): prefix ‖ card id ‖ EH ‖ EC, signed by the attestation key. */
export function sessionMessage(cardId: Uint8Array, eh: Uint8Array, ec: Uint8Array): Uint8Array {
  return concatBytes(utf8ToBytes(Prefix.SESSION), cardId, eh, ec);
}

/** Attestation (section 1.1): prefix ‖ card id ‖ challenge, signed by the attestation key. */
export function attestationMessage(cardId: Uint8Array, challenge: Uint8Array): Uint8Array {
  return concatBytes(utf8ToBytes(Prefix.ATTESTATION), cardId, challenge);
}

/** A status word as reports show it (`6A82`), or `no status word` (-1: the card answered fewer than 2 bytes). */
export function swHex(sw: number): string {
  return sw < 0 ? 'no status word' : formatSw(sw);
}

/** A status word the card answered where the suite's own set-up needed 9000. */
export class CardAnswerError extends Error {
  override readonly name = 'CardAnswerError';
  constructor(
    readonly what: string,
    readonly sw: number,
  ) {
    super(`${what}: the card answered ${swHex(sw)}`);
  }
}

/** A SELECT or READ answer the protocol does not allow. */
export class ReadFormatError extends Error {
  override readonly name = 'ReadFormatError';
}

/** What READ reports, checked against the state (section 6, READ). */
export interface ReadInfo {
  readonly version: number;
  readonly state: StateName;
  readonly cardId?: Uint8Array;
  readonly certificate?: Uint8Array;
  readonly walletPublicKey?: Uint8Array;
  readonly walletOrigin?: 'created' | 'imported';
  readonly primaryId?: Uint8Array;
  readonly pinTriesLeft: number;
  readonly signCounter: number;
  readonly backupCount: number;
  /** Empty unless BACKUP_COUNT > 0. */
  readonly backupCardIds: readonly Uint8Array[];
}

const WALLET_STATES: ReadonlySet<StateName> = new Set(['WALLET', 'BACKUP_EXPORTING', 'BACKED_UP']);

/** SELECT's answer: `01 01 02 ‖ 03 01 <state>`. */
export function parseSelect(data: Uint8Array): { version: number; state: StateName } {
  const fields = decode(data, 'SELECT');
  if (fields.length !== 2 || fields[0]!.tag !== Tag.VERSION || fields[1]!.tag !== Tag.STATE)
    throw new ReadFormatError('SELECT: expected exactly VERSION and STATE');
  return { version: version(fields[0]!.value, 'SELECT'), state: state(fields[1]!.value, 'SELECT') };
}

/**
 * READ's answer, strictly: the tags in the order section 6 lists, each present exactly when the state says,
 * with its exact length, and nothing else.
 * @throws ReadFormatError naming the first fault.
 */
export function parseRead(data: Uint8Array): ReadInfo {
  const fields = decode(data, 'READ');
  let i = 0;
  const take = (tag: number, present: boolean, length: number | readonly [number, number], name: string): Uint8Array | undefined => {
    const f = fields[i];
    if (!present) {
      if (f?.tag === tag) throw new ReadFormatError(`READ: ${name} present where the state has none`);
      return undefined;
    }
    if (f === undefined || f.tag !== tag) throw new ReadFormatError(`READ: ${name} (tag ${hex(tag)}) missing or out of order`);
    const [min, max] = typeof length === 'number' ? [length, length] : length;
    if (f.value.length < min || f.value.length > max) throw new ReadFormatError(`READ: ${name} is ${f.value.length} bytes`);
    i++;
    return f.value;
  };
  const v = version(take(Tag.VERSION, true, 1, 'VERSION')!, 'READ');
  const s = state(take(Tag.STATE, true, 1, 'STATE')!, 'READ');
  const personalized = s !== 'FACTORY';
  const hasWallet = WALLET_STATES.has(s);
  const cardId = take(Tag.CARD_ID, personalized, 8, 'CARD_ID');
  const certificate = take(Tag.CERTIFICATE, personalized, [157, 221], 'CERTIFICATE');
  const walletPublicKey = take(Tag.WALLET_PUBLIC_KEY, hasWallet, 65, 'WALLET_PUBLIC_KEY');
  const originByte = take(Tag.WALLET_ORIGIN, hasWallet, 1, 'WALLET_ORIGIN')?.[0];
  if (originByte !== undefined && originByte !== 1 && originByte !== 2) throw new ReadFormatError(`READ: WALLET_ORIGIN ${hex(originByte)}`);
  const walletOrigin = originByte === undefined ? undefined : originByte === 1 ? 'created' : 'imported';
  if (walletPublicKey !== undefined && !isValidPublicKey(walletPublicKey))
    throw new ReadFormatError('READ: the wallet public key is not a valid point');
  if (s === 'WALLET' && walletOrigin !== 'created') throw new ReadFormatError('READ: a WALLET card whose wallet was not created on it');
  if (s === 'BACKUP_EXPORTING' && walletOrigin !== 'created')
    throw new ReadFormatError('READ: a BACKUP_EXPORTING card whose wallet was imported');
  const primaryId = take(Tag.PRIMARY_ID, walletOrigin === 'imported', 8, 'PRIMARY_ID');
  const tries = take(Tag.PIN_TRIES_LEFT, true, 1, 'PIN_TRIES_LEFT')![0]!;
  if (tries > 5) throw new ReadFormatError(`READ: PIN_TRIES_LEFT ${tries}`);
  const counter = take(Tag.SIGN_COUNTER, true, 4, 'SIGN_COUNTER')!;
  const count = take(Tag.BACKUP_COUNT, true, 1, 'BACKUP_COUNT')![0]!;
  if (count > MAX_BACKUPS) throw new ReadFormatError(`READ: BACKUP_COUNT ${count}`);
  if (count > 0 && !(s === 'BACKUP_EXPORTING' || (s === 'BACKED_UP' && walletOrigin === 'created'))) {
    throw new ReadFormatError(`READ: BACKUP_COUNT ${count} on a card in ${s}${walletOrigin ? ` (origin ${walletOrigin})` : ''}`);
  }
  if (s === 'BACKUP_EXPORTING' && count === 0) throw new ReadFormatError('READ: BACKUP_EXPORTING with BACKUP_COUNT 0');
  const ids = take(Tag.BACKUP_CARD_IDS, count > 0, count * 8, 'BACKUP_CARD_IDS');
  if (i !== fields.length) throw new ReadFormatError(`READ: unexpected tag ${hex(fields[i]!.tag)} after the last field`);
  const backupCardIds = ids === undefined ? [] : Array.from({ length: count }, (_, k) => ids.slice(k * 8, k * 8 + 8));
  return {
    version: v,
    state: s,
    ...(cardId && { cardId }),
    ...(certificate && { certificate }),
    ...(walletPublicKey && { walletPublicKey }),
    ...(walletOrigin && { walletOrigin }),
    ...(primaryId && { primaryId }),
    pinTriesLeft: tries,
    signCounter: new DataView(counter.buffer, counter.byteOffset, 4).getUint32(0),
    backupCount: count,
    backupCardIds,
  };
}

function decode(data: Uint8Array, what: string) {
  try {
    return decodeProtocolTlv(data);
  } catch (error) {
    if (error instanceof TlvError) throw new ReadFormatError(`${what}: ${error.message}`);
    throw error;
  }
}

function version(value: Uint8Array, what: string): number {
  if (value.length !== 1) throw new ReadFormatError(`${what}: VERSION is ${value.length} bytes`);
  if (value[0] !== VERSION) throw new ReadFormatError(`${what}: protocol version ${hex(value[0]!)}, this suite tests version 02`);
  return value[0];
}

function state(value: Uint8Array, what: string): StateName {
  const s = value.length === 1 ? STATES[value[0]!] : undefined;
  if (s === undefined) throw new ReadFormatError(`${what}: STATE ${Array.from(value, hex).join('')} is not a state of section 3`);
  return s;
}

function hex(b: number): string {
  return b.toString(16).toUpperCase().padStart(2, '0');
}

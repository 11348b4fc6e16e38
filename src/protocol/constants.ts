/**
 * The fixed numbers of the twincard card protocol, version 2 (docs/protocol.md): AID, instruction
 * codes, TLV tags, card states, signature domain prefixes, sizes and the protocol's status words
 * (what the APDU trace must never show: redaction.ts).
 * @module
 */
import { utf8ToBytes } from '@noble/hashes/utils.js';
import { extendStatusTable, fromHex, ISO_STATUS_WORDS, type StatusTable } from '../apdu/index.js';

/** The applet's AID (section 2): proprietary RID prefix `F0`, ASCII `twincard`, application `01`. */
export const TWINCARD_AID: Uint8Array = fromHex('F07477696E6361726401');

/** The protocol version this host speaks: the VERSION tag of SELECT and READ. */
export const PROTOCOL_VERSION = 0x02;

/** CLA of every twincard command (SELECT uses the interindustry `00`). */
export const CLA_PROPRIETARY = 0x80;

/** CLA of a command wrapped in the card session (section 1.4): `84`, chained blocks `94`. */
export const CLA_WRAPPED = 0x84;

/** Instruction codes (section 6). */
export const Ins = Object.freeze({
  SELECT: 0xa4,
  READ: 0x10,
  VERIFY_PIN: 0x20,
  CREATE_WALLET: 0x30,
  SIGN: 0x32,
  ATTEST: 0x40,
  CHANGE_ACCESS_CODE: 0x24,
  RESET: 0x28,
  OPEN_SESSION: 0x70,
  BACKUP_PREPARE: 0x60,
  BACKUP_EXPORT: 0x62,
  BACKUP_FINALIZE: 0x64,
  BACKUP_IMPORT: 0x66,
  BACKUP_CANCEL: 0x68,
  PERSO_GENERATE: 0xf0,
  PERSO_COMMIT: 0xf2,
} as const);

export type CommandName = keyof typeof Ins;

/** Protocol TLV tags (section 2.1). */
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

/** Card states (section 3), by name. */
export const CardState = Object.freeze({
  FACTORY: 0x00,
  BLANK: 0x01,
  WALLET: 0x02,
  BACKUP_EXPORTING: 0x03,
  BACKUP_PENDING: 0x04,
  BACKED_UP: 0x05,
} as const);

export type CardStateName = keyof typeof CardState;

const STATE_NAMES: readonly CardStateName[] = Object.freeze(
  (Object.keys(CardState) as CardStateName[]).sort((a, b) => CardState[a] - CardState[b]),
);

/**
 * The name of a state byte, or undefined for a value the protocol does not define.
 * @example cardStateName(0x05) // 'BACKED_UP'
 */
export function cardStateName(value: number): CardStateName | undefined {
  return STATE_NAMES[value];
}

/** WALLET_ORIGIN values. */
export const WalletOrigin = Object.freeze({ CREATED: 0x01, IMPORTED: 0x02 } as const);

/** IMPORT_RESULT values. */
export const ImportResult = Object.freeze({ IMPORTED: 0x00, ALREADY_IMPORTED: 0x01 } as const);

/**
 * The 16-byte ASCII prefixes that separate the signature purposes (section 1.1) and the KDF salt
 * (section 1.2). Frozen copies: a caller cannot change what every later signature check uses.
 */
export const Prefix = Object.freeze({
  CERTIFICATE: 'TWINCARD:CERT:02',
  ATTESTATION: 'TWINCARD:ATTEST1',
  SESSION: 'TWINCARD:SESS-C2',
  PREPARE: 'TWINCARD:PREP-B2',
  SEAL: 'TWINCARD:SEAL-P2',
  KDF_SALT: 'TWINCARD:KDF:V02',
  SESSION_SALT: 'TWINCARD:SES:V02',
} as const);

export type PrefixName = keyof typeof Prefix;

/** The bytes of a prefix (a fresh copy each call). */
export function prefixBytes(name: PrefixName): Uint8Array {
  return utf8ToBytes(Prefix[name]);
}

/** Byte sizes fixed by the protocol. */
export const Size = Object.freeze({
  CARD_ID: 8,
  PUBLIC_KEY: 65,
  PRIVATE_KEY: 32,
  /** Field elements and scalars: X, Y, r, s, d, Z. */
  SCALAR: 32,
  PREFIX: 16,
  SIGNATURE_MIN: 8,
  SIGNATURE_MAX: 72,
  /** 147 bytes of fixed fields plus `0B LL` and an 8..72-byte signature (section 4). */
  CERTIFICATE_MIN: 157,
  CERTIFICATE_MAX: 221,
  CHALLENGE_MIN: 16,
  CHALLENGE_MAX: 32,
  DIGEST: 32,
  PIN_MIN: 4,
  PIN_MAX: 16,
  PIN_TRIES: 5,
  BLOB: 193,
  BLOB_HEADER: 17,
  BLOB_IV: 16,
  BLOB_CIPHERTEXT: 128,
  BLOB_TAG: 32,
  SIGN_COUNTER: 4,
  /** Backup cards a primary can ever export to (BACKUP_CARD_IDS holds at most this many ids). */
  MAX_BACKUPS: 2,
  /** Most data bytes of one chained command. */
  MAX_CHAINED_DATA: 600,
  /** A wrapped command's counter, IV and truncated MAC (section 1.4). */
  SESSION_COUNTER: 4,
  SESSION_IV: 16,
  SESSION_MAC: 16,
} as const);

/** Blob format version, the first header byte (section 1.3). */
export const BLOB_VERSION = 0x02;

/** Certificate format version (CERT_VERSION, section 4). */
export const CERT_VERSION = 0x02;

/** The twincard status words (section 6), by name. */
export const TwincardSw = Object.freeze({
  CERT_INVALID: 0x9a01,
  SIGNATURE_INVALID: 0x9a03,
  POINT_INVALID: 0x9a04,
  MAC_INVALID: 0x9a05,
  WRONG_RECIPIENT: 0x9a06,
  TOO_MANY_BACKUPS: 0x9a08,
  SAME_CARD: 0x9a09,
  BLOB_INVALID: 0x9a0a,
} as const);

/** ISO words the protocol uses, by name. */
export const IsoSw = Object.freeze({
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
  WRAPPING_REQUIRED: 0x6987,
  WRAPPING_FORBIDDEN: 0x6882,
  SESSION_FAILED: 0x6988,
} as const);

/**
 * ISO 7816-4 words, with the meaning this protocol gives some of them, plus the 9Axx words of
 * section 6. Names stay
 * the ISO ones where ISO defines the word, so logs read the same as for any other card.
 */
export const TWINCARD_STATUS_WORDS: StatusTable = extendStatusTable(ISO_STATUS_WORDS, {
  [IsoSw.CHAIN_TOO_LONG]: { name: 'NOT_ENOUGH_MEMORY', meaning: 'chained command data longer than 600 bytes' },
  [IsoSw.WRAPPING_REQUIRED]: {
    name: 'SM_DATA_OBJECTS_MISSING',
    meaning: 'the command must be wrapped in a card session (CLA 84) and came plain',
  },
  [IsoSw.WRAPPING_FORBIDDEN]: {
    name: 'SECURE_MESSAGING_NOT_SUPPORTED',
    meaning: 'the command must be plain and came wrapped in a card session',
  },
  [IsoSw.SESSION_FAILED]: {
    name: 'SM_DATA_OBJECTS_INCORRECT',
    meaning: 'secure messaging failed (no session, length, counter, MAC or padding): the card closed the session',
  },
  [IsoSw.PIN_NOT_VERIFIED]: { name: 'SECURITY_STATUS_NOT_SATISFIED', meaning: 'access code not verified' },
  [IsoSw.PIN_BLOCKED]: { name: 'AUTH_METHOD_BLOCKED', meaning: 'access code blocked' },
  [IsoSw.CONDITIONS_NOT_SATISFIED]: {
    name: 'CONDITIONS_NOT_SATISFIED',
    meaning: "not allowed in the card's current state",
  },
  [TwincardSw.CERT_INVALID]: {
    name: 'CERT_INVALID',
    meaning: "a certificate's signature does not verify under the card's manufacturer key",
  },
  [TwincardSw.SIGNATURE_INVALID]: {
    name: 'SIGNATURE_INVALID',
    meaning: "a prepare or seal signature does not verify under the peer's certified identity key",
  },
  [TwincardSw.POINT_INVALID]: { name: 'POINT_INVALID', meaning: 'a received public key is not a valid secp256k1 point' },
  [TwincardSw.MAC_INVALID]: { name: 'MAC_INVALID', meaning: "the wallet blob's tag is wrong" },
  [TwincardSw.WRONG_RECIPIENT]: {
    name: 'WRONG_RECIPIENT',
    meaning: "the wallet blob's header is not version 02, or names another backup card or another primary",
  },
  [TwincardSw.TOO_MANY_BACKUPS]: {
    name: 'TOO_MANY_BACKUPS',
    meaning: 'BACKUP_EXPORT to a third backup card: the primary has already exported to two others',
  },
  [TwincardSw.SAME_CARD]: { name: 'SAME_CARD', meaning: "a card was given its own certificate as the peer's" },
  [TwincardSw.BLOB_INVALID]: { name: 'BLOB_INVALID', meaning: 'the decrypted wallet blob is not well-formed' },
});

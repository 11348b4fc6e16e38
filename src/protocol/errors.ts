/**
 * Typed errors of the twincard protocol layer. Callers branch on the class (and `code` where there
 * is one), never on message text.
 * @module
 */
import { describeStatus, StatusWordError, toHex } from '../apdu/index.js';
import { PROTOCOL_VERSION, TWINCARD_STATUS_WORDS, type CommandName } from './constants.js';

/**
 * A card answered a twincard command with a status word other than 9000.
 * @example
 * try { await card.sign(digest, walletKey) } catch (e) {
 *   if (e instanceof CardRefusedError && e.sw === 0x6982) { ... } // access code not verified
 * }
 */
export class CardRefusedError extends StatusWordError {
  declare readonly command: CommandName;

  constructor(command: CommandName, sw: number, data: Uint8Array = new Uint8Array(0)) {
    super(sw, { command, data, table: TWINCARD_STATUS_WORDS });
    this.name = 'CardRefusedError';
  }
}

/** VERIFY_PIN with a wrong access code (`63Cx`); `triesLeft` is x, and at least 1. */
export class WrongPinError extends CardRefusedError {
  readonly triesLeft: number;

  constructor(command: CommandName, sw: number) {
    super(command, sw);
    this.name = 'WrongPinError';
    this.triesLeft = sw & 0x0f;
  }
}

/** The access code is blocked (`6983`, or `63C0`: the last try was just used up). */
export class PinBlockedError extends CardRefusedError {
  constructor(command: CommandName, sw: number) {
    super(command, sw);
    this.name = 'PinBlockedError';
  }
}

/**
 * The card answered 9000 with data that breaks the protocol (wrong TLVs, wrong sizes, an invalid
 * point, a state that contradicts the other fields...). The card is not speaking twincard v2, or is
 * hostile.
 */
export class MalformedResponseError extends Error {
  readonly command: CommandName;

  constructor(command: CommandName, message: string, options?: { cause?: unknown }) {
    super(`${command}: malformed response: ${message}`, options);
    this.name = 'MalformedResponseError';
    this.command = command;
  }
}

/**
 * The card speaks another version of the twincard protocol (a version 1 card, say): this host speaks
 * only {@link PROTOCOL_VERSION} and sends it nothing after SELECT or READ.
 */
export class UnsupportedVersionError extends MalformedResponseError {
  /** The version the card reported. */
  readonly version: number;

  constructor(command: CommandName, version: number) {
    super(command, `protocol version ${version}`);
    // Not "malformed": the answer is well-formed for its version, which is not this host's.
    this.message = `${command}: the card speaks twincard protocol version ${version}; this host speaks only version ${PROTOCOL_VERSION}`;
    this.name = 'UnsupportedVersionError';
    this.version = version;
  }
}

/** A byte string that should be an SEC1 uncompressed secp256k1 point and is not. */
export class InvalidPointError extends RangeError {
  constructor(what: string, problem: string) {
    super(`${what}: not a valid secp256k1 point: ${problem}`);
    this.name = 'InvalidPointError';
  }
}

/** A byte string that should be a DER ECDSA signature and is not. */
export class SignatureFormatError extends RangeError {
  constructor(what: string, problem: string, options?: { cause?: unknown }) {
    super(`${what}: not a strict DER ECDSA signature: ${problem}`, options);
    this.name = 'SignatureFormatError';
  }
}

/** A byte string that should be a section-4 certificate and is not. */
export class CertificateFormatError extends RangeError {
  constructor(problem: string, options?: { cause?: unknown }) {
    super(`certificate: ${problem}`, options);
    this.name = 'CertificateFormatError';
  }
}

/** A PEM file, SubjectPublicKeyInfo or EC private key that cannot be used. */
export class KeyFormatError extends RangeError {
  constructor(what: string, problem: string, options?: { cause?: unknown }) {
    super(`${what}: ${problem}`, options);
    this.name = 'KeyFormatError';
  }
}

/** Why a wallet blob was refused, with the status word a card answers for the same fault. */
export type WalletBlobFault = 'WRONG_RECIPIENT' | 'MAC_INVALID' | 'BLOB_INVALID';

const BLOB_FAULT_SW: Readonly<Record<WalletBlobFault, number>> = Object.freeze({
  WRONG_RECIPIENT: 0x9a06,
  MAC_INVALID: 0x9a05,
  BLOB_INVALID: 0x9a0a,
});

/** A wallet blob failed one of the receiver's checks (section 1.3). */
export class WalletBlobError extends Error {
  readonly code: WalletBlobFault;
  /** What a card answers for this fault. */
  readonly sw: number;

  constructor(code: WalletBlobFault, message: string) {
    const sw = BLOB_FAULT_SW[code];
    super(`wallet blob: ${message} (${describeStatus(sw, TWINCARD_STATUS_WORDS)})`);
    this.name = 'WalletBlobError';
    this.code = code;
    this.sw = sw;
  }
}

/** `0102030405060708` style, for naming cards in messages. */
function cardIdHex(cardId: Uint8Array): string {
  return toHex(cardId);
}

/**
 * A card answered with a well-formed signature that does not verify (SIGN: not under the wallet
 * public key over the digest sent). A faulty or hostile card: its answer must not be used.
 */
export class CardSignatureError extends Error {
  readonly command: CommandName;

  constructor(command: CommandName, message: string) {
    super(`${command}: ${message}`);
    this.name = 'CardSignatureError';
    this.command = command;
  }
}

/** A card is in a state that does not allow what the host is about to do (checked before sending). */
export class WrongStateError extends Error {
  readonly state: string;
  readonly expected: readonly string[];

  constructor(what: string, state: string, expected: readonly string[]) {
    super(`${what}: the card is ${state}, expected ${expected.join(' or ')}`);
    this.name = 'WrongStateError';
    this.state = state;
    this.expected = expected;
  }
}

/**
 * The card's OPEN_SESSION answer does not verify under the attestation key of the (verified)
 * certificate it presented: a card in the middle, or a card that is not the one its certificate
 * names. Not genuine: nothing may be sent through such a session.
 */
export class SessionKeyNotCertifiedError extends Error {
  readonly cardId: Uint8Array;

  constructor(cardId: Uint8Array) {
    super(
      `OPEN_SESSION: the session signature does not verify under the certified ` +
        `attestation key of card ${cardIdHex(cardId)}: the card is not genuine`,
    );
    this.name = 'SessionKeyNotCertifiedError';
    this.cardId = cardId.slice();
  }
}

/**
 * A command that must be wrapped (section 1.4) was asked for with no session open (never opened,
 * closed by the host, or closed because the card refused a wrapped command): it is never sent plain.
 */
export class SessionClosedError extends Error {
  constructor(message = 'no card session is open: open one (openSession) before a command that carries or uses the access code') {
    super(message);
    this.name = 'SessionClosedError';
  }
}

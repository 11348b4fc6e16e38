/**
 * The host side of the card session (docs/protocol.md section 1.4): the host's ephemeral pair
 * (eH, EH), the card's answer to OPEN_SESSION checked (EC on the curve, the session signature under
 * the attestation key of a certificate the caller has already verified), the keys
 *
 *     Z = X(eH·EC), K_enc || K_mac = HKDF-SHA256(Z, "TWINCARD:SES:V02", card id || EH || EC, 64)
 *
 * and the wrapping of a command: `ctr (4) || iv (16) || ct || mac (16)` with
 * `ct = AES-256-CBC(K_enc, iv, payload || 80 00..)` (ISO/IEC 9797-1 padding method 2) and
 * `mac = HMAC-SHA256(K_mac, 84 || INS || P1 || P2 || ctr || iv || ct)[0..16]`.
 *
 * Responses are not wrapped (section 1.4), so this module only ever encrypts.
 * @module
 */
import { hkdf } from '@noble/hashes/hkdf.js';
import { hmac } from '@noble/hashes/hmac.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { concatBytes, randomBytes } from '@noble/hashes/utils.js';
import { createCipheriv } from 'node:crypto';
import type { Certificate } from './certificate.js';
import { CLA_WRAPPED, prefixBytes, Size } from './constants.js';
import {
  checkLength,
  checkPrivateKey,
  publicKeyOf,
  sharedSecretX,
  validatePublicKey,
  verifiesUnderCertifiedKey,
  zeroize,
} from './crypto.js';
import { SessionClosedError, SessionKeyNotCertifiedError } from './errors.js';
import { sessionMessage } from './messages.js';

const OKM_LENGTH = 64;
const AES_BLOCK = 16;
/** The counter is 4 bytes; the card accepts exactly one more than the last, starting at 1. */
const COUNTER_MAX = 0xffffffff;

/** The session keys. Secret: {@link zeroize} them after use ({@link CardSession.close} does). */
export interface SessionKeys {
  readonly encryptionKey: Uint8Array;
  readonly macKey: Uint8Array;
}

/** A command's header as the MAC covers it (CLA is always 84 there, also for chained blocks). */
export interface WrappedHeader {
  readonly ins: number;
  readonly p1: number;
  readonly p2: number;
}

/**
 * The host's ephemeral pair for one OPEN_SESSION. Make a fresh one per session
 * ({@link createSessionOffer}); a fixed secret is for the worked examples only.
 */
export interface SessionOffer {
  /** EH, sent in OPEN_SESSION. */
  readonly hostEphemeralKey: Uint8Array;
  /** eH: wiped by {@link establishSession} whatever its outcome. */
  readonly hostEphemeralSecret: Uint8Array;
}

/** The card's answer to OPEN_SESSION. */
export interface SessionAnswer {
  /** EC. */
  readonly cardEphemeralKey: Uint8Array;
  /** The DER signature, purpose *session*, by the card's attestation key. */
  readonly signature: Uint8Array;
}

/**
 * A fresh host ephemeral pair.
 * @param secret eH, ONLY for the worked examples and transcript replays (a fixed eH makes a
 *   recorded session replayable against the host, never against a card, which makes a fresh eC).
 */
export function createSessionOffer(secret?: Uint8Array): SessionOffer {
  const hostEphemeralSecret = secret === undefined ? randomPrivateKey() : checkPrivateKey(secret, 'eH').slice();
  return { hostEphemeralKey: publicKeyOf(hostEphemeralSecret), hostEphemeralSecret };
}

/** `card id (8) || EH (65) || EC (65)`: the HKDF info, 138 bytes. */
export function sessionInfo(cardId: Uint8Array, hostEphemeralKey: Uint8Array, cardEphemeralKey: Uint8Array): Uint8Array {
  checkLength('card id', cardId, Size.CARD_ID);
  checkLength('EH', hostEphemeralKey, Size.PUBLIC_KEY);
  checkLength('EC', cardEphemeralKey, Size.PUBLIC_KEY);
  return concatBytes(cardId, hostEphemeralKey, cardEphemeralKey);
}

/**
 * K_enc and K_mac from the shared secret Z and the transcript (section 1.4). Z is the caller's to wipe.
 */
export function deriveSessionKeys(z: Uint8Array, info: Uint8Array): SessionKeys {
  checkLength('Z', z, Size.SCALAR);
  const okm = hkdf(sha256, z, prefixBytes('SESSION_SALT'), info, OKM_LENGTH);
  const keys = { encryptionKey: okm.slice(0, 32), macKey: okm.slice(32, 64) };
  okm.fill(0);
  return keys;
}

/**
 * Checks the card's answer and derives the keys: EC must be a valid point (an invalid one could
 * leak eH through an invalid-curve attack), and the session signature must verify under the
 * attestation key of `certificate`, which the CALLER must already have verified under a trusted root
 * and matched to READ's card id: this function trusts the certificate it is given.
 * eH is wiped before this returns, whatever happens.
 * @throws InvalidPointError for an EC off the curve; SessionKeyNotCertifiedError when the signature
 *   does not verify (the card is not the one the certificate names: not genuine).
 */
export function establishSession(certificate: Certificate, offer: SessionOffer, answer: SessionAnswer): CardSession {
  let z: Uint8Array | undefined;
  try {
    validatePublicKey(answer.cardEphemeralKey, 'EC');
    const message = sessionMessage(certificate.cardId, offer.hostEphemeralKey, answer.cardEphemeralKey);
    if (!verifiesUnderCertifiedKey(answer.signature, message, certificate.attestationPublicKey, 'session signature')) {
      throw new SessionKeyNotCertifiedError(certificate.cardId);
    }
    z = sharedSecretX(offer.hostEphemeralSecret, answer.cardEphemeralKey, 'EC');
    const keys = deriveSessionKeys(z, sessionInfo(certificate.cardId, offer.hostEphemeralKey, answer.cardEphemeralKey));
    return new CardSession(certificate.cardId, keys);
  } finally {
    zeroize(z, offer.hostEphemeralSecret);
  }
}

/** ISO/IEC 9797-1 padding method 2: `80` then zeros to the next multiple of 16 (always 1..16 bytes). */
export function padMethod2(payload: Uint8Array): Uint8Array {
  const padded = new Uint8Array((Math.floor(payload.length / AES_BLOCK) + 1) * AES_BLOCK);
  padded.set(payload);
  padded[payload.length] = 0x80;
  return padded;
}

/**
 * Wraps one command's payload under the given keys and counter (the pure function behind
 * {@link CardSession.wrap}, exported for the worked examples).
 * @returns `ctr || iv || ct || mac`, the data of the wrapped command.
 */
export function wrapPayload(keys: SessionKeys, header: WrappedHeader, counter: number, iv: Uint8Array, payload: Uint8Array): Uint8Array {
  checkLength('IV', iv, Size.SESSION_IV);
  if (!Number.isInteger(counter) || counter < 1 || counter > COUNTER_MAX) {
    throw new RangeError(`session counter: expected 1..${COUNTER_MAX}, got ${counter}`);
  }
  const ctr = new Uint8Array(Size.SESSION_COUNTER);
  new DataView(ctr.buffer).setUint32(0, counter, false);
  const padded = padMethod2(payload);
  const cipher = createCipheriv('aes-256-cbc', keys.encryptionKey, iv).setAutoPadding(false);
  const ct = new Uint8Array(Buffer.concat([cipher.update(padded), cipher.final()]));
  padded.fill(0);
  const macInput = concatBytes(Uint8Array.of(CLA_WRAPPED, header.ins, header.p1, header.p2), ctr, iv, ct);
  const mac = hmac(sha256, keys.macKey, macInput).slice(0, Size.SESSION_MAC);
  return concatBytes(ctr, iv, ct, mac);
}

/**
 * An open session with one card: wraps commands with the next counter. Close it (or let the card
 * close it: any refusal of a wrapped command with `6988` does) to wipe the keys.
 */
export class CardSession {
  readonly cardId: Uint8Array;
  #keys: SessionKeys | undefined;
  #counter = 0;

  constructor(cardId: Uint8Array, keys: SessionKeys) {
    this.cardId = cardId.slice();
    this.#keys = keys;
  }

  /** True until {@link close}. */
  get open(): boolean {
    return this.#keys !== undefined;
  }

  /** The counter of the last wrapped command (0 before the first). */
  get counter(): number {
    return this.#counter;
  }

  /**
   * The wrapped data for the next command: counter + 1, a fresh random IV.
   * @param iv ONLY for the worked examples; a real session draws a fresh one.
   * @throws SessionClosedError when closed.
   */
  wrap(header: WrappedHeader, payload: Uint8Array, iv: Uint8Array = randomBytes(Size.SESSION_IV)): Uint8Array {
    if (this.#keys === undefined) throw new SessionClosedError();
    if (this.#counter >= COUNTER_MAX) {
      this.close();
      throw new SessionClosedError('the session counter is exhausted: open a new session');
    }
    this.#counter += 1;
    return wrapPayload(this.#keys, header, this.#counter, iv, payload);
  }

  /**
   * The card refused the last wrapped command BEFORE its session check (section 3's check order: CLA/INS,
   * P1-P2, the form): it never looked at the counter, so the next command reuses it.
   */
  counterNotReached(): void {
    if (this.#counter > 0) this.#counter -= 1;
  }

  /** Wipes the keys; every later {@link wrap} throws. Idempotent. */
  close(): void {
    if (this.#keys !== undefined) zeroize(this.#keys.encryptionKey, this.#keys.macKey);
    this.#keys = undefined;
  }
}

function randomPrivateKey(): Uint8Array {
  for (;;) {
    const candidate = randomBytes(Size.PRIVATE_KEY);
    try {
      return checkPrivateKey(candidate, 'eH');
    } catch {
      // 0 or >= n: probability ~2^-128, draw again
    }
  }
}

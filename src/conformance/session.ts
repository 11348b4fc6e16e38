/**
 * The host side of the card session (docs/protocol.md section 1.4), written from the document so the suite
 * checks the card and not the reference host: OPEN_SESSION's request and its answer checked under the
 * CERTIFIED attestation key, the session keys, and wrapped commands with every field overridable, so a check
 * can send a repeated, skipped or zero counter, a wrong MAC or wrong padding on purpose.
 * @module
 */
import { hkdf } from '@noble/hashes/hkdf.js';
import { hmac } from '@noble/hashes/hmac.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { concatBytes, randomBytes, utf8ToBytes } from '@noble/hashes/utils.js';
import { createCipheriv } from 'node:crypto';
import { encodeProtocolTlvs } from '../apdu/index.js';
import { sharedSecretX, verifyMessageSignature, zeroize } from '../protocol/crypto.js';
import type { KeyPair } from '../protocol/keys.js';
import { randomKeyPair } from './soft-card.js';
import { CLA_WRAPPED, Prefix, sessionMessage, Tag } from './wire.js';

/** An open session as the host holds it. `ctr` is the last counter the host sent (0: none yet). */
export interface HostSession {
  readonly cardId: Uint8Array;
  readonly eh: Uint8Array;
  readonly ec: Uint8Array;
  readonly enc: Uint8Array;
  readonly mac: Uint8Array;
  ctr: number;
}

/** OPEN_SESSION's data: `1D 41 EH`. */
export function openSessionData(eh: Uint8Array): Uint8Array {
  return encodeProtocolTlvs([[Tag.SESSION_HOST_KEY, eh]]);
}

/** OPEN_SESSION's answer, split: `1A 41 EC ‖ 0B LL signature`, or undefined when it is not that. */
export function parseSessionAnswer(data: Uint8Array): { ec: Uint8Array; signature: Uint8Array } | undefined {
  if (data.length < 69 || data[0] !== Tag.SESSION_CARD_KEY || data[1] !== 0x41 || data[67] !== Tag.SIGNATURE) return undefined;
  const n = data[68]!;
  if (n < 8 || n > 72 || data.length !== 69 + n) return undefined;
  return { ec: data.slice(2, 67), signature: data.slice(69) };
}

/** Whether `signature` verifies over the session message under `key` (false for a malformed one). */
export function sessionSignatureVerifies(
  signature: Uint8Array,
  cardId: Uint8Array,
  eh: Uint8Array,
  ec: Uint8Array,
  key: Uint8Array,
): boolean {
  try {
    return verifyMessageSignature(signature, sessionMessage(cardId, eh, ec), key);
  } catch {
    return false;
  }
}

/** K_enc ‖ K_mac = HKDF-SHA256(X(eH·EC), "TWINCARD:SES:V02", id ‖ EH ‖ EC, 64). Wipes eH's private key. */
export function deriveSession(cardId: Uint8Array, eh: KeyPair, ec: Uint8Array): HostSession {
  const z = sharedSecretX(eh.privateKey, ec, 'EC');
  const okm = hkdf(sha256, z, utf8ToBytes(Prefix.SESSION_SALT), concatBytes(cardId, eh.publicKey, ec), 64);
  const session = { cardId, eh: eh.publicKey, ec, enc: okm.slice(0, 32), mac: okm.slice(32), ctr: 0 };
  zeroize(z, okm, eh.privateKey);
  return session;
}

/** A fresh host ephemeral pair for OPEN_SESSION. */
export function hostEphemeral(): KeyPair {
  return randomKeyPair();
}

/** A session the card never opened (random keys): what a host without one would send. */
export function bogusSession(cardId: Uint8Array): HostSession {
  return { cardId, eh: randomKeyPair().publicKey, ec: randomKeyPair().publicKey, enc: randomBytes(32), mac: randomBytes(32), ctr: 0 };
}

/** What a check may change in a wrapped command; everything else is as a correct host makes it. */
export interface WrapFaults {
  /** The IV (default: 16 random bytes); fixed only to reproduce the worked example of section 8.9. */
  readonly iv?: Uint8Array;
  /** The counter to send (default: the session's last + 1, which then becomes the last). */
  readonly ctr?: number;
  /** The padded plaintext before encryption, instead of payload ‖ 80 ‖ 00.. (wrong padding). */
  readonly padded?: Uint8Array;
  /** Applied to the whole data field (ctr ‖ iv ‖ ct ‖ mac) after the MAC: a tampered MAC, a cut field. */
  readonly mutate?: (data: Uint8Array) => Uint8Array;
}

/** ISO/IEC 9797-1 method 2: payload ‖ 80 ‖ 00.. to a multiple of 16 (always 1..16 bytes added). */
export function padMethod2(payload: Uint8Array): Uint8Array {
  const out = new Uint8Array((Math.floor(payload.length / 16) + 1) * 16);
  out.set(payload);
  out[payload.length] = 0x80;
  return out;
}

/**
 * A wrapped command's data field: ctr (4) ‖ iv (16) ‖ ct ‖ mac (16),
 * mac = HMAC(K_mac, 84 ‖ INS ‖ 00 ‖ 00 ‖ ctr ‖ iv ‖ ct)[0..16).
 * Advances the session's counter to the one sent.
 */
export function wrapData(session: HostSession, ins: number, payload: Uint8Array, faults: WrapFaults = {}): Uint8Array {
  const ctr = faults.ctr ?? session.ctr + 1;
  session.ctr = Math.max(session.ctr, ctr);
  const ctrBytes = Uint8Array.of(ctr >>> 24, (ctr >>> 16) & 0xff, (ctr >>> 8) & 0xff, ctr & 0xff);
  const iv = faults.iv ?? randomBytes(16);
  const padded = faults.padded ?? padMethod2(payload);
  const cipher = createCipheriv('aes-256-cbc', session.enc, iv).setAutoPadding(false);
  const ct = concatBytes(cipher.update(padded), cipher.final());
  zeroize(padded);
  const mac = hmac(sha256, session.mac, concatBytes(Uint8Array.of(CLA_WRAPPED, ins, 0, 0), ctrBytes, iv, ct)).slice(0, 16);
  const data = concatBytes(ctrBytes, iv, ct, mac);
  return faults.mutate ? faults.mutate(data) : data;
}

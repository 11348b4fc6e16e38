/**
 * The card session of docs/protocol.md section 1.4, written again from the document's text for the attacker:
 * its own HKDF, AES-256-CBC and HMAC calls (node:crypto) and its own ECDH (noble), NOT src/protocol, so that a
 * mistake shared with the host layer cannot hide. Besides honest wrapping it crafts every WRONG wrapped command
 * the card must refuse with 6988: a bad MAC, a repeated or skipped counter, bad padding, a truncated field,
 * a command wrapped under another session's keys.
 */
import { createCipheriv, createHmac, hkdfSync, randomBytes } from 'node:crypto';
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { concatBytes } from '@noble/hashes/utils.js';
import { command, type CommandApdu } from '../../../../src/apdu/index.js';
import { verifyMessageSignature } from '../../../../src/protocol/crypto.js';

/** Section 1.4 and 2.1, as the document spells them. */
const SESSION = Object.freeze({
  INS_OPEN: 0x70,
  CLA_PLAIN: 0x80,
  CLA_WRAPPED: 0x84,
  TAG_CARD_KEY: 0x1a,
  TAG_HOST_KEY: 0x1d,
  TAG_SIGNATURE: 0x0b,
  /** "TWINCARD:SESS-C2" */
  PREFIX: hex('5457494E434152443A534553532D4332'),
  /** "TWINCARD:SES:V02" */
  SALT: hex('5457494E434152443A5345533A563032'),
  SW_WRAP_REQUIRED: 0x6987,
  SW_PLAIN_REQUIRED: 0x6882,
  SW_SM_FAILED: 0x6988,
} as const);

const CTR_LENGTH = 4;
const IV_LENGTH = 16;
const MAC_LENGTH = 16;
const BLOCK = 16;

function hex(text: string): Uint8Array {
  return Uint8Array.from(Buffer.from(text, 'hex'));
}

/** An ephemeral host key pair (eH, EH). */
export interface HostEphemeral {
  readonly secret: Uint8Array;
  readonly publicKey: Uint8Array;
}

export function hostEphemeral(): HostEphemeral {
  const secret = secp256k1.utils.randomSecretKey();
  return { secret, publicKey: secp256k1.getPublicKey(secret, false) };
}

/** OPEN_SESSION — `80 70 00 00 43 1D 41 <EH> 00`. */
export function openSessionCommand(eh: Uint8Array): CommandApdu {
  return command(SESSION.CLA_PLAIN, SESSION.INS_OPEN, 0, 0, concatBytes(Uint8Array.of(SESSION.TAG_HOST_KEY, 0x41), eh), 256);
}

/** The answer `1A 41 <EC> || 0B LL <signature>`, every byte checked (a short DER length form only: 8..72). */
export function parseOpenSession(data: Uint8Array): { ec: Uint8Array; signature: Uint8Array } {
  if (data.length < 67 + 2 || data[0] !== SESSION.TAG_CARD_KEY || data[1] !== 0x41) throw new Error('OPEN_SESSION answer: no 1A 41 <EC> first');
  const ec = data.slice(2, 67);
  const length = data[68]!;
  if (data[67] !== SESSION.TAG_SIGNATURE || length < 8 || length > 72 || data.length !== 69 + length) {
    throw new Error('OPEN_SESSION answer: not 0B LL <signature 8..72> and nothing after');
  }
  try {
    secp256k1.Point.fromBytes(ec);
  } catch {
    throw new Error('OPEN_SESSION answer: EC is not a secp256k1 point');
  }
  if (ec[0] !== 0x04) throw new Error('OPEN_SESSION answer: EC is not uncompressed');
  return { ec, signature: data.slice(69) };
}

/** prefix ‖ card id (8) ‖ EH (65) ‖ EC (65): what the card's attestation key signs. */
export function sessionMessage(cardId: Uint8Array, eh: Uint8Array, ec: Uint8Array): Uint8Array {
  return concatBytes(SESSION.PREFIX, cardId, eh, ec);
}

/**
 * What a host MUST check before it sends anything through the session: the signature is by the ATTESTATION
 * key of a certificate it verified (under a trusted root, with READ's card id), over this card id, the EH it
 * sent and the EC it received. A signature by the identity key, by another card, or over another EH fails.
 */
export function sessionAnswerVerifies(attestationKey: Uint8Array, cardId: Uint8Array, eh: Uint8Array, ec: Uint8Array, signature: Uint8Array): boolean {
  try {
    return verifyMessageSignature(signature, sessionMessage(cardId, eh, ec), attestationKey, 'session signature');
  } catch {
    return false; // not DER: not a signature by anyone
  }
}

/** K_enc ‖ K_mac = HKDF-SHA256(Z, salt, card id ‖ EH ‖ EC, 64), Z the X coordinate of eH·EC. */
export function deriveSessionKeys(eh: HostEphemeral, cardId: Uint8Array, ec: Uint8Array): { encKey: Uint8Array; macKey: Uint8Array } {
  const z = secp256k1.getSharedSecret(eh.secret, ec, true).slice(1);
  const okm = new Uint8Array(hkdfSync('sha256', z, SESSION.SALT, sessionInfo(cardId, eh.publicKey, ec), 64));
  z.fill(0);
  return { encKey: okm.slice(0, 32), macKey: okm.slice(32, 64) };
}

function sessionInfo(cardId: Uint8Array, eh: Uint8Array, ec: Uint8Array): Uint8Array {
  return concatBytes(cardId, eh, ec);
}

/** How to spoil a wrapped command (each must meet 6988 and close the session). */
export interface Spoil {
  /** Use this counter value instead of the next one (a repeat or a skip); the session's counter is not moved. */
  readonly ctr?: number;
  /** Flip one bit of the MAC. */
  readonly badMac?: boolean;
  /** Pad with 00 .. 00 instead of 80 00 .. 00 (the MAC is correct over it). */
  readonly badPadding?: boolean;
  /** Cut the data to this many bytes (after the MAC was computed). */
  readonly truncateTo?: number;
  /** Drop this many bytes from the end (one: ct is no longer a whole number of blocks). */
  readonly cutBytes?: number;
  /** Send it under this INS instead (the MAC was computed over the real one). */
  readonly otherIns?: number;
}

/** One open session as the host holds it: the keys and the counter of the last wrapped command sent. */
export class AttackSession {
  #ctr = 0;

  constructor(
    readonly cardId: Uint8Array,
    readonly ec: Uint8Array,
    private readonly encKey: Uint8Array,
    private readonly macKey: Uint8Array,
  ) {}

  /** The counter of the last command wrapped honestly. */
  get ctr(): number {
    return this.#ctr;
  }

  /**
   * The wrapped form of a plain command (CLA 84, same INS/P1/P2, Ne kept): ctr ‖ iv ‖ ct ‖ mac. Honest unless
   * `spoil` says otherwise; only an honest wrap moves the counter, so the next honest one is what the card
   * would have accepted had the spoiled one not closed the session.
   */
  wrap(plain: CommandApdu, spoil: Spoil = {}): CommandApdu {
    const honest = Object.keys(spoil).length === 0;
    const ctr = spoil.ctr ?? this.#ctr + 1;
    if (honest) this.#ctr = ctr;
    const ctrBytes = new Uint8Array(CTR_LENGTH);
    new DataView(ctrBytes.buffer).setUint32(0, ctr);
    const iv = new Uint8Array(randomBytes(IV_LENGTH));
    const ct = this.#encrypt(iv, spoil.badPadding === true ? zeroPad(plain.data) : isoPad(plain.data));
    const mac = this.#mac(plain.ins, plain.p1, plain.p2, ctrBytes, iv, ct);
    if (spoil.badMac === true) mac[MAC_LENGTH - 1]! ^= 0x01;
    let data = concatBytes(ctrBytes, iv, ct, mac);
    if (spoil.truncateTo !== undefined) data = data.slice(0, spoil.truncateTo);
    if (spoil.cutBytes !== undefined) data = data.slice(0, data.length - spoil.cutBytes);
    return command(SESSION.CLA_WRAPPED, spoil.otherIns ?? plain.ins, plain.p1, plain.p2, data, plain.ne);
  }

  /** Zeroises the keys: the host forgets a session the card has closed. */
  forget(): void {
    this.encKey.fill(0);
    this.macKey.fill(0);
  }

  #encrypt(iv: Uint8Array, padded: Uint8Array): Uint8Array {
    const cipher = createCipheriv('aes-256-cbc', this.encKey, iv).setAutoPadding(false);
    return new Uint8Array(Buffer.concat([cipher.update(padded), cipher.final()]));
  }

  #mac(ins: number, p1: number, p2: number, ctr: Uint8Array, iv: Uint8Array, ct: Uint8Array): Uint8Array {
    const hmac = createHmac('sha256', this.macKey);
    hmac.update(Uint8Array.of(SESSION.CLA_WRAPPED, ins, p1, p2));
    hmac.update(ctr).update(iv).update(ct);
    return new Uint8Array(hmac.digest()).slice(0, MAC_LENGTH);
  }
}

/** ISO/IEC 9797-1 method 2: 80 then zeros to a whole block, always 1..16 bytes added. */
function isoPad(payload: Uint8Array): Uint8Array {
  const out = new Uint8Array((Math.floor(payload.length / BLOCK) + 1) * BLOCK);
  out.set(payload);
  out[payload.length] = 0x80;
  return out;
}

/** A wrong padding of the same length: no 80 marker. */
function zeroPad(payload: Uint8Array): Uint8Array {
  const out = new Uint8Array((Math.floor(payload.length / BLOCK) + 1) * BLOCK);
  out.set(payload);
  return out;
}

/** True when `needle` occurs in `haystack` at any offset (every byte window). */
export function containsBytes(haystack: Uint8Array, needle: Uint8Array): boolean {
  if (needle.length === 0 || needle.length > haystack.length) return needle.length === 0;
  outer: for (let i = 0; i + needle.length <= haystack.length; i++) {
    for (let j = 0; j < needle.length; j++) if (haystack[i + j] !== needle[j]) continue outer;
    return true;
  }
  return false;
}

/**
 * The card session of docs/protocol.md section 1.4 for the attacker: the conformance suite's host side
 * (src/conformance/session.ts: its own HKDF, AES-256-CBC and HMAC from the document's text, NOT src/protocol, so
 * that a mistake shared with the host layer cannot hide), with what this attacker adds: every WRONG wrapped
 * command the card must refuse with 6988 (a bad MAC, a repeated or skipped counter, bad padding, a truncated
 * field, another INS than the MAC covers), and OPEN_SESSION's answer read as a hard error.
 */
import { command, type CommandApdu } from '../../../../src/apdu/index.js';
import {
  deriveSession,
  hostEphemeral,
  openSessionData,
  parseSessionAnswer,
  sessionSignatureVerifies,
  wrapData,
  type HostSession,
} from '../../../../src/conformance/session.js';
import { CLA_WRAPPED, Ins, sessionMessage } from '../../../../src/conformance/wire.js';
import type { KeyPair } from '../../../../src/protocol/keys.js';
import { isValidPublicKey } from '../../../../src/protocol/crypto.js';

export { hostEphemeral, sessionMessage, sessionSignatureVerifies };

const CLA_PLAIN = 0x80;
const BLOCK = 16;

/** OPEN_SESSION — `80 70 00 00 43 1D 41 <EH> 00`. */
export function openSessionCommand(eh: Uint8Array): CommandApdu {
  return command(CLA_PLAIN, Ins.OPEN_SESSION, 0, 0, openSessionData(eh), 256);
}

/** The answer `1A 41 <EC> || 0B LL <signature>`, every byte checked (a short DER length form only: 8..72). */
export function parseOpenSession(data: Uint8Array): { ec: Uint8Array; signature: Uint8Array } {
  const answer = parseSessionAnswer(data);
  if (answer === undefined) throw new Error('OPEN_SESSION answer: not 1A 41 <EC> || 0B LL <signature 8..72> and nothing after');
  if (!isValidPublicKey(answer.ec)) throw new Error('OPEN_SESSION answer: EC is not an uncompressed secp256k1 point');
  return answer;
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
  readonly #session: HostSession;

  private constructor(session: HostSession) {
    this.#session = session;
  }

  /** The session keys from eH and the card's EC (section 1.4); eH's private key is wiped. */
  static derive(eh: KeyPair, cardId: Uint8Array, ec: Uint8Array): AttackSession {
    return new AttackSession(deriveSession(cardId, eh, ec));
  }

  /** The counter of the last command wrapped honestly. */
  get ctr(): number {
    return this.#session.ctr;
  }

  /**
   * The wrapped form of a plain command (CLA 84, same INS/P1/P2, Ne kept): ctr ‖ iv ‖ ct ‖ mac. Honest unless
   * `spoil` says otherwise; only an honest wrap moves the counter, so the next honest one is what the card
   * would have accepted had the spoiled one not closed the session.
   */
  wrap(plain: CommandApdu, spoil: Spoil = {}): CommandApdu {
    const honest = Object.keys(spoil).length === 0;
    const session = honest ? this.#session : { ...this.#session };
    const data = wrapData(session, plain.ins, plain.data, {
      ...(spoil.ctr !== undefined && { ctr: spoil.ctr }),
      ...(spoil.badPadding === true && { padded: zeroPad(plain.data) }),
      mutate: (wrapped) => spoiled(wrapped, spoil),
    });
    return command(CLA_WRAPPED, spoil.otherIns ?? plain.ins, plain.p1, plain.p2, data, plain.ne);
  }

  /** Zeroises the keys: the host forgets a session the card has closed. */
  forget(): void {
    this.#session.enc.fill(0);
    this.#session.mac.fill(0);
  }
}

/** The data field (ctr ‖ iv ‖ ct ‖ mac) after the MAC, spoiled as asked. */
function spoiled(data: Uint8Array, spoil: Spoil): Uint8Array {
  let out = data;
  if (spoil.badMac === true) out[out.length - 1]! ^= 0x01; // the MAC's last byte
  if (spoil.truncateTo !== undefined) out = out.slice(0, spoil.truncateTo);
  if (spoil.cutBytes !== undefined) out = out.slice(0, out.length - spoil.cutBytes);
  return out;
}

/** A wrong padding of the same length as ISO/IEC 9797-1 method 2's: no 80 marker. */
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

/**
 * The curve arithmetic of the protocol (docs/protocol.md section 1): secp256k1 points checked by
 * hand, strict DER ECDSA signatures, identity and wallet signature checks, ECDH, constant-time
 * comparison and wiping of buffers. secp256k1 itself is @noble/curves (SEC 2 section 2.4.1); DER is
 * parsed with asn1js (X.690) and then required to be canonical.
 * @module
 */
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { bytesToNumberBE, numberToBytesBE } from '@noble/curves/utils.js';
import { isBytes } from '@noble/hashes/utils.js';
import { fromBER, Integer, Sequence } from 'asn1js';
import { timingSafeEqual } from 'node:crypto';
import { Size } from './constants.js';
import { InvalidPointError, SignatureFormatError } from './errors.js';

/** The field prime p = 2^256 - 2^32 - 977. */
export const SECP256K1_P = 2n ** 256n - 2n ** 32n - 977n;
/** The group order n. */
export const SECP256K1_N = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;
const HALF_N = SECP256K1_N >> 1n;

/** An ECDSA signature as two integers, each in 1..n-1. */
export interface SignatureValues {
  readonly r: bigint;
  readonly s: bigint;
}

// ---------------------------------------------------------------------------------------------
// Argument checks

/** `typeof`, naming classes, for TypeError messages. */
export function describeType(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  // An object may have no constructor (Object.create(null)), whatever its declared type says.
  if (typeof value === 'object') return (value as { constructor?: { name: string } }).constructor?.name ?? 'object';
  return typeof value;
}

/**
 * `value` as bytes of an exact length (or inclusive range), else TypeError / RangeError naming `what`.
 * @example checkLength('card id', id, 8) // RangeError 'card id: expected 8 bytes, got 7'
 */
export function checkLength(what: string, value: unknown, min: number, max = min): Uint8Array {
  if (!isBytes(value)) throw new TypeError(`${what}: expected Uint8Array, got ${describeType(value)}`);
  if (value.length < min || value.length > max) {
    throw new RangeError(`${what}: expected ${min === max ? min : `${min}..${max}`} bytes, got ${value.length}`);
  }
  return value;
}

// ---------------------------------------------------------------------------------------------
// Points

/**
 * Checks that `bytes` is an SEC1 uncompressed secp256k1 point the way section 1 asks a card to:
 * `04 || X || Y`, X < p, Y < p, Y^2 = X^3 + 7 (mod p). Done by hand rather than left to a library,
 * because the invalid-curve attack works exactly where a library skips the check; noble is asked
 * as well, as a second opinion.
 * @returns `bytes` itself, for chaining.
 * @throws TypeError for non-bytes; InvalidPointError (a RangeError) naming the failed check.
 * @example validatePublicKey(fromHex('04...'), 'EP')
 */
export function validatePublicKey(bytes: Uint8Array, what = 'public key'): Uint8Array {
  if (!isBytes(bytes)) throw new TypeError(`${what}: expected Uint8Array, got ${describeType(bytes)}`);
  if (bytes.length !== Size.PUBLIC_KEY) {
    throw new InvalidPointError(what, `expected ${Size.PUBLIC_KEY} bytes, got ${bytes.length}`);
  }
  if (bytes[0] !== 0x04) {
    throw new InvalidPointError(what, `expected first byte 04 (uncompressed), got ${hexByte(bytes[0] as number)}`);
  }
  const x = bytesToNumberBE(bytes.subarray(1, 33));
  const y = bytesToNumberBE(bytes.subarray(33, 65));
  if (x >= SECP256K1_P) throw new InvalidPointError(what, 'X is not below the field prime p');
  if (y >= SECP256K1_P) throw new InvalidPointError(what, 'Y is not below the field prime p');
  if (mod(y * y) !== mod(x * x * x + 7n)) throw new InvalidPointError(what, 'Y^2 != X^3 + 7 (mod p): not on the curve');
  try {
    secp256k1.Point.fromBytes(bytes).assertValidity();
  } catch (e) {
    throw new InvalidPointError(what, `rejected by @noble/curves: ${(e as Error).message}`);
  }
  return bytes;
}

/** {@link validatePublicKey} as a boolean. */
export function isValidPublicKey(bytes: Uint8Array): boolean {
  try {
    validatePublicKey(bytes);
    return true;
  } catch {
    return false;
  }
}

function mod(a: bigint): bigint {
  const r = a % SECP256K1_P;
  return r >= 0n ? r : r + SECP256K1_P;
}

/**
 * The uncompressed public key of a private key.
 * @throws RangeError for a private key that is not 32 bytes or not in 1..n-1.
 */
export function publicKeyOf(privateKey: Uint8Array): Uint8Array {
  checkPrivateKey(privateKey);
  return secp256k1.getPublicKey(privateKey, false);
}

/** A 32-byte big-endian scalar d with 1 <= d < n, else TypeError / RangeError. */
export function checkPrivateKey(privateKey: Uint8Array, what = 'private key'): Uint8Array {
  checkLength(what, privateKey, Size.PRIVATE_KEY);
  const d = bytesToNumberBE(privateKey);
  if (d < 1n || d >= SECP256K1_N) throw new RangeError(`${what}: not in 1..n-1`);
  return privateKey;
}

/**
 * The ECDH shared secret of section 1.2: the 32-byte X coordinate of `d·Q` (what JavaCard's
 * `ALG_EC_SVDP_DH_PLAIN` returns). The peer key is validated first.
 * @throws InvalidPointError for an invalid peer key; RangeError for an invalid private key.
 */
export function sharedSecretX(privateKey: Uint8Array, peerPublicKey: Uint8Array, what = 'peer public key'): Uint8Array {
  checkPrivateKey(privateKey);
  validatePublicKey(peerPublicKey, what);
  const compressed = secp256k1.getSharedSecret(privateKey, peerPublicKey, true);
  const x = compressed.slice(1);
  zeroize(compressed);
  return x;
}

// ---------------------------------------------------------------------------------------------
// DER signatures

/**
 * Parses a DER ECDSA signature strictly: exactly `SEQUENCE { INTEGER r, INTEGER s }` with no
 * trailing bytes, both integers positive and below n, and every length and integer in its one
 * canonical (minimal) form: the input must equal the DER re-encoding of what was read, so a BER
 * variant of a valid signature (which would give the same (r, s) and so be malleable) is refused.
 * @param what names the signature in the error message
 * @throws TypeError for non-bytes; SignatureFormatError (a RangeError) saying what was wrong.
 * @example parseDerSignature(fromHex('3006020101020101')) // { r: 1n, s: 1n }
 */
export function parseDerSignature(der: Uint8Array, what = 'signature'): SignatureValues {
  if (!isBytes(der)) throw new TypeError(`${what}: expected Uint8Array, got ${describeType(der)}`);
  if (der.length < Size.SIGNATURE_MIN || der.length > Size.SIGNATURE_MAX) {
    throw new SignatureFormatError(what, `expected ${Size.SIGNATURE_MIN}..${Size.SIGNATURE_MAX} bytes, got ${der.length}`);
  }
  // One node more than a signature has, so a third INTEGER gets its own message below.
  const parsed = fromBER(der, { maxDepth: 2, maxNodes: 4 });
  if (parsed.offset === -1) {
    const problem = 'error' in parsed.result ? parsed.result.error : 'unparseable';
    throw new SignatureFormatError(what, `ASN.1 error: ${problem}`);
  }
  if (parsed.offset !== der.length) {
    throw new SignatureFormatError(what, `${der.length - parsed.offset} trailing bytes after the SEQUENCE`);
  }
  const sequence = parsed.result;
  if (!(sequence instanceof Sequence)) {
    throw new SignatureFormatError(what, `expected a SEQUENCE, got ${sequence.constructor.name}`);
  }
  const items = sequence.valueBlock.value;
  if (items.length !== 2) throw new SignatureFormatError(what, `expected 2 INTEGERs in the SEQUENCE, got ${items.length} items`);
  const [rItem, sItem] = items as [unknown, unknown];
  const r = integerValue(rItem, 'r', what);
  const s = integerValue(sItem, 's', what);
  if (!equalBytes(encodeDerSignature({ r, s }), der)) {
    throw new SignatureFormatError(what, 'not in canonical DER form (a length or an INTEGER is not minimal)');
  }
  return { r, s };
}

function integerValue(item: unknown, name: 'r' | 's', what: string): bigint {
  if (!(item instanceof Integer)) {
    throw new SignatureFormatError(what, `${name}: expected an INTEGER, got ${describeType(item)}`);
  }
  if (item.valueBlock.valueHexView.length === 0) throw new SignatureFormatError(what, `${name}: empty INTEGER`);
  const value = item.toBigInt();
  if (value <= 0n) throw new SignatureFormatError(what, `${name} is not positive`);
  if (value >= SECP256K1_N) throw new SignatureFormatError(what, `${name} is not below the group order n`);
  return value;
}

/**
 * The DER encoding of (r, s).
 * @throws RangeError when r or s is not in 1..n-1.
 * @example toHex(encodeDerSignature({ r: 1n, s: 1n })) // '3006020101020101'
 */
export function encodeDerSignature({ r, s }: SignatureValues): Uint8Array {
  for (const [name, v] of [
    ['r', r],
    ['s', s],
  ] as const) {
    if (typeof v !== 'bigint') throw new TypeError(`${name}: expected bigint, got ${describeType(v)}`);
    if (v < 1n || v >= SECP256K1_N) throw new RangeError(`${name}: not in 1..n-1`);
  }
  const sequence = new Sequence({ value: [Integer.fromBigInt(r), Integer.fromBigInt(s)] });
  return new Uint8Array(sequence.toBER(false));
}

/** True when s is in the upper half of the group order (the malleable twin of a low-S signature). */
export function isHighS({ s }: SignatureValues): boolean {
  return s > HALF_N;
}

/** The low-S form: s replaced by n - s when s > n/2 (BIP 62, the form wallets expect). */
export function normalizeLowS({ r, s }: SignatureValues): SignatureValues {
  return s > HALF_N ? { r, s: SECP256K1_N - s } : { r, s };
}

/** `r || s`, 32 bytes each, big-endian. */
export function compactSignature({ r, s }: SignatureValues): Uint8Array {
  const out = new Uint8Array(64);
  out.set(numberToBytesBE(r, 32), 0);
  out.set(numberToBytesBE(s, 32), 32);
  return out;
}

// ---------------------------------------------------------------------------------------------
// Signing and verification

/**
 * ECDSA-SHA256 over `message`, as a card's `Signature.ALG_ECDSA_SHA_256` does, with RFC 6979
 * deterministic nonces (so factory output and the worked examples are reproducible) and low S.
 * @returns the DER signature.
 * @throws RangeError for an invalid private key; TypeError for non-bytes.
 */
export function signMessage(message: Uint8Array, privateKey: Uint8Array): Uint8Array {
  if (!isBytes(message)) throw new TypeError(`message: expected Uint8Array, got ${describeType(message)}`);
  checkPrivateKey(privateKey);
  return secp256k1.sign(message, privateKey, { format: 'der', lowS: true, prehash: true, extraEntropy: false });
}

/**
 * Verifies an identity or manufacturer signature: ECDSA-SHA256 over `message`, DER, HIGH-S ACCEPTED
 * (a card's signature is whatever its JavaCard library produced; only wallet signatures are
 * normalised).
 * @returns whether it verifies.
 * @throws SignatureFormatError for a signature that is not strict DER; InvalidPointError for an
 *   invalid public key (both are faults of the sender, which the caller names).
 */
export function verifyMessageSignature(der: Uint8Array, message: Uint8Array, publicKey: Uint8Array, what = 'signature'): boolean {
  const values = parseDerSignature(der, what);
  validatePublicKey(publicKey, `${what}: signer's public key`);
  if (!isBytes(message)) throw new TypeError(`message: expected Uint8Array, got ${describeType(message)}`);
  return secp256k1.verify(compactSignature(values), message, publicKey, { lowS: false, prehash: true, format: 'compact' });
}

/**
 * {@link verifyMessageSignature} under a key read from a certificate. Certified keys are not curve-checked
 * (docs/protocol.md section 1): they are authenticated by the manufacturer signature, so an invalid point there
 * is a signature that does not verify, not a fault of its own.
 * @throws SignatureFormatError for a signature that is not strict DER.
 */
export function verifiesUnderCertifiedKey(der: Uint8Array, message: Uint8Array, publicKey: Uint8Array, what: string): boolean {
  try {
    return verifyMessageSignature(der, message, publicKey, what);
  } catch (e) {
    if (e instanceof InvalidPointError) return false;
    throw e;
  }
}

/** A wallet signature as the host hands it on. */
export interface WalletSignature {
  /** The DER signature with S normalised to the low half. */
  readonly der: Uint8Array;
  /** `r || s` (64 bytes), low S. */
  readonly compact: Uint8Array;
  /** Whether the card's own signature had a high S (informational: both are valid ECDSA). */
  readonly wasHighS: boolean;
}

/**
 * Checks a card's SIGN answer: strict DER, normalised to low S, and verified over the 32-byte digest
 * (as a pre-computed hash: the card signed the digest itself) under the wallet public key.
 * @returns the low-S signature, or undefined when it does not verify.
 * @throws SignatureFormatError for non-DER; InvalidPointError for an invalid wallet key; RangeError
 *   for a digest that is not 32 bytes.
 */
export function checkWalletSignature(der: Uint8Array, digest: Uint8Array, walletPublicKey: Uint8Array): WalletSignature | undefined {
  checkLength('digest', digest, Size.DIGEST);
  const values = parseDerSignature(der, 'wallet signature');
  validatePublicKey(walletPublicKey, 'wallet public key');
  const low = normalizeLowS(values);
  const compact = compactSignature(low);
  if (!secp256k1.verify(compact, digest, walletPublicKey, { lowS: true, prehash: false, format: 'compact' })) {
    return undefined;
  }
  return { der: encodeDerSignature(low), compact, wasHighS: isHighS(values) };
}

/**
 * Signs a 32-byte digest as a card's SIGN does (`signPreComputedHash`), RFC 6979, low S.
 * For tests and the conformance suite: the host never holds a wallet key.
 * @returns the DER signature.
 */
export function signDigest(digest: Uint8Array, privateKey: Uint8Array): Uint8Array {
  checkLength('digest', digest, Size.DIGEST);
  checkPrivateKey(privateKey);
  return secp256k1.sign(digest, privateKey, { format: 'der', lowS: true, prehash: false, extraEntropy: false });
}

// ---------------------------------------------------------------------------------------------
// Buffers

/**
 * Compares two byte strings in time that depends on their length only (node:crypto
 * `timingSafeEqual`). Different lengths are simply unequal: lengths here are public.
 */
export function constantTimeEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (!isBytes(a) || !isBytes(b)) throw new TypeError('constantTimeEqual: expected two Uint8Arrays');
  if (a.length !== b.length) return false;
  return timingSafeEqual(a, b);
}

/** Plain equality for public data (ids, keys, encodings); secrets use {@link constantTimeEqual}. */
export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * Overwrites buffers this code owns with zeros once their secret is no longer needed. It shortens
 * the time a secret sits in memory; it cannot reach copies the engine or a library made.
 */
export function zeroize(...buffers: ReadonlyArray<Uint8Array | undefined>): void {
  for (const buffer of buffers) buffer?.fill(0);
}

function hexByte(b: number): string {
  return b.toString(16).toUpperCase().padStart(2, '0');
}

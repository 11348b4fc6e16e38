/**
 * The transport key (docs/protocol.md section 1.2: ECDH X coordinate, HKDF-SHA256 per RFC 5869)
 * and the wallet blob (section 1.3: AES-256-CBC without padding, then HMAC-SHA256 over header, IV and
 * ciphertext: encrypt-then-MAC).
 *
 * In a real backup only the two cards run this: the host relays a blob it cannot open. The host has
 * it for the worked examples, the conformance suite and tests.
 * @module
 */
import { hkdf } from '@noble/hashes/hkdf.js';
import { hmac } from '@noble/hashes/hmac.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { concatBytes } from '@noble/hashes/utils.js';
import { createCipheriv, createDecipheriv } from 'node:crypto';
import { BLOB_VERSION, prefixBytes, Size } from './constants.js';
import { checkLength, checkPrivateKey, constantTimeEqual, equalBytes, SECP256K1_N, validatePublicKey, zeroize } from './crypto.js';
import { WalletBlobError } from './errors.js';
import { bytesToNumberBE } from '@noble/curves/utils.js';
import { toHex } from '../apdu/index.js';

/** Which primary exports to which backup card, with which ephemeral keys: the KDF's `info`. */
export interface ExportTranscript {
  readonly primaryId: Uint8Array;
  readonly backupId: Uint8Array;
  /** EP, 65 bytes. */
  readonly primaryEphemeralKey: Uint8Array;
  /** EB, 65 bytes. */
  readonly backupEphemeralKey: Uint8Array;
}

/** The two keys of one (primary, backup card) pair. Secret: {@link zeroize} them after use. */
export interface TransportKeys {
  /** K_enc, 32 bytes, AES-256. */
  readonly encryptionKey: Uint8Array;
  /** K_mac, 32 bytes, HMAC-SHA256. */
  readonly macKey: Uint8Array;
}

/** What the blob carries. Secret. */
export interface WalletSecret {
  /** d, 32 bytes big-endian, 1 <= d < n. */
  readonly walletPrivateKey: Uint8Array;
  /** 65 bytes. */
  readonly walletPublicKey: Uint8Array;
  /** The access code, 4..16 bytes. */
  readonly pin: Uint8Array;
}

const OKM_LENGTH = 64;
const PLAINTEXT_PIN_OFFSET = Size.PRIVATE_KEY + Size.PUBLIC_KEY; // 97: the PIN length byte

/**
 * `P.id || B.id || EP || EB` (146 bytes), the KDF's info: binding the keys to this exact export.
 * @throws TypeError / RangeError for a wrong-size field.
 */
export function kdfInfo(t: ExportTranscript): Uint8Array {
  checkLength('primary id', t.primaryId, Size.CARD_ID);
  checkLength('backup id', t.backupId, Size.CARD_ID);
  checkLength('EP', t.primaryEphemeralKey, Size.PUBLIC_KEY);
  checkLength('EB', t.backupEphemeralKey, Size.PUBLIC_KEY);
  return concatBytes(t.primaryId, t.backupId, t.primaryEphemeralKey, t.backupEphemeralKey);
}

/**
 * K_enc and K_mac from the ECDH secret Z: `HKDF-SHA256(IKM = Z, salt = "TWINCARD:KDF:V02", info, 64)`,
 * the first 32 bytes for encryption and the last 32 for the MAC.
 * @param z the 32-byte X coordinate of ECDH(eP, EB) (see `sharedSecretX`)
 * @throws TypeError / RangeError for wrong-size inputs.
 */
export function deriveTransportKeys(z: Uint8Array, t: ExportTranscript): TransportKeys {
  checkLength('Z', z, Size.SCALAR);
  const okm = hkdf(sha256, z, prefixBytes('KDF_SALT'), kdfInfo(t), OKM_LENGTH);
  const keys = { encryptionKey: okm.slice(0, 32), macKey: okm.slice(32, 64) };
  zeroize(okm);
  return keys;
}

/**
 * The 128-byte plaintext: `d (32) || wallet public key (65) || PIN length (1) || PIN zero-padded to
 * 16 || 14 zero bytes`.
 * @throws RangeError / InvalidPointError for an invalid key or a PIN outside 4..16 bytes.
 */
export function encodeWalletPlaintext(secret: WalletSecret): Uint8Array {
  checkPrivateKey(secret.walletPrivateKey, 'wallet private key');
  validatePublicKey(secret.walletPublicKey, 'wallet public key');
  checkLength('PIN', secret.pin, Size.PIN_MIN, Size.PIN_MAX);
  const out = new Uint8Array(Size.BLOB_CIPHERTEXT);
  out.set(secret.walletPrivateKey, 0);
  out.set(secret.walletPublicKey, Size.PRIVATE_KEY);
  out[PLAINTEXT_PIN_OFFSET] = secret.pin.length;
  out.set(secret.pin, PLAINTEXT_PIN_OFFSET + 1);
  return out;
}

/**
 * Reads a decrypted plaintext with the receiver's checks: PIN length 4..16, zero padding after the
 * PIN and in the last 14 bytes, `1 <= d < n`, the public key a valid point.
 * @throws WalletBlobError `BLOB_INVALID` naming the first check that failed.
 */
export function decodeWalletPlaintext(plaintext: Uint8Array): WalletSecret {
  checkLength('plaintext', plaintext, Size.BLOB_CIPHERTEXT);
  const pinLength = plaintext[PLAINTEXT_PIN_OFFSET] as number;
  if (pinLength < Size.PIN_MIN || pinLength > Size.PIN_MAX) {
    throw new WalletBlobError('BLOB_INVALID', `PIN length ${pinLength} is not in ${Size.PIN_MIN}..${Size.PIN_MAX}`);
  }
  const padding = plaintext.subarray(PLAINTEXT_PIN_OFFSET + 1 + pinLength);
  if (padding.some((b) => b !== 0)) {
    throw new WalletBlobError('BLOB_INVALID', 'padding after the PIN is not all zero');
  }
  const walletPrivateKey = plaintext.slice(0, Size.PRIVATE_KEY);
  const d = bytesToNumberBE(walletPrivateKey);
  if (d < 1n || d >= SECP256K1_N) {
    zeroize(walletPrivateKey);
    throw new WalletBlobError('BLOB_INVALID', 'wallet private key is not in 1..n-1');
  }
  const walletPublicKey = plaintext.slice(Size.PRIVATE_KEY, PLAINTEXT_PIN_OFFSET);
  try {
    validatePublicKey(walletPublicKey, 'wallet public key');
  } catch (e) {
    zeroize(walletPrivateKey);
    throw new WalletBlobError('BLOB_INVALID', (e as Error).message);
  }
  const pin = plaintext.slice(PLAINTEXT_PIN_OFFSET + 1, PLAINTEXT_PIN_OFFSET + 1 + pinLength);
  return { walletPrivateKey, walletPublicKey, pin };
}

/** The public part of a blob: who made it for whom. */
export interface WalletBlobHeader {
  readonly version: number;
  readonly primaryId: Uint8Array;
  readonly backupId: Uint8Array;
}

/**
 * Reads the 17-byte header of a blob (no secret involved; the host uses it to check that the
 * primary's BACKUP_EXPORT answer names the right pair before relaying it).
 * @throws TypeError / RangeError for a blob that is not 193 bytes.
 */
export function parseWalletBlobHeader(blob: Uint8Array): WalletBlobHeader {
  checkLength('wallet blob', blob, Size.BLOB);
  return {
    version: blob[0] as number,
    primaryId: blob.slice(1, 1 + Size.CARD_ID),
    backupId: blob.slice(1 + Size.CARD_ID, Size.BLOB_HEADER),
  };
}

/**
 * The one check of a blob header against who made it for whom (used by the receiver's checks and by
 * the host before it relays or resumes a blob): version 02, then the primary, then the backup card.
 * @returns undefined when the header is right, else what is wrong with it.
 */
export function walletBlobHeaderProblem(
  header: WalletBlobHeader,
  expected: { readonly primaryId: Uint8Array; readonly backupId: Uint8Array },
): string | undefined {
  if (header.version !== BLOB_VERSION) return `header version is ${header.version}, expected ${BLOB_VERSION}`;
  if (!equalBytes(header.primaryId, expected.primaryId)) {
    return `header names primary ${toHex(header.primaryId)}, expected ${toHex(expected.primaryId)}`;
  }
  if (!equalBytes(header.backupId, expected.backupId)) {
    return `header names backup card ${toHex(header.backupId)}, expected ${toHex(expected.backupId)}`;
  }
  return undefined;
}

/**
 * Builds the 193-byte blob `header || iv || ct || tag` for one backup card.
 * @param iv 16 random bytes (fixed only in tests and worked examples)
 * @throws RangeError / InvalidPointError for invalid inputs.
 */
export function sealWalletBlob(
  keys: TransportKeys,
  recipients: { readonly primaryId: Uint8Array; readonly backupId: Uint8Array },
  secret: WalletSecret,
  iv: Uint8Array,
): Uint8Array {
  checkKeys(keys);
  checkLength('primary id', recipients.primaryId, Size.CARD_ID);
  checkLength('backup id', recipients.backupId, Size.CARD_ID);
  checkLength('IV', iv, Size.BLOB_IV);
  const header = concatBytes(Uint8Array.of(BLOB_VERSION), recipients.primaryId, recipients.backupId);
  const plaintext = encodeWalletPlaintext(secret);
  const cipher = createCipheriv('aes-256-cbc', keys.encryptionKey, iv).setAutoPadding(false);
  const ciphertext = concatBytes(cipher.update(plaintext), cipher.final());
  zeroize(plaintext);
  const tag = hmac(sha256, keys.macKey, concatBytes(header, iv, ciphertext));
  return concatBytes(header, iv, ciphertext, tag);
}

/**
 * Opens a blob with the receiver's checks in the order section 1.3 fixes: header version, primary
 * id, backup id (`WRONG_RECIPIENT`); the tag in constant time BEFORE decrypting (`MAC_INVALID`); the
 * plaintext layout (`BLOB_INVALID`).
 * @param expected the primary the blob must come from, and the receiver's own id
 * @throws RangeError for a blob that is not 193 bytes; WalletBlobError for a failed check.
 */
export function openWalletBlob(
  blob: Uint8Array,
  keys: TransportKeys,
  expected: { readonly primaryId: Uint8Array; readonly backupId: Uint8Array },
): WalletSecret {
  checkKeys(keys);
  const header = parseWalletBlobHeader(blob);
  const problem = walletBlobHeaderProblem(header, expected);
  if (problem !== undefined) throw new WalletBlobError('WRONG_RECIPIENT', problem);
  const macEnd = Size.BLOB - Size.BLOB_TAG;
  const tag = hmac(sha256, keys.macKey, blob.subarray(0, macEnd));
  if (!constantTimeEqual(tag, blob.subarray(macEnd))) throw new WalletBlobError('MAC_INVALID', 'tag does not verify');
  const iv = blob.subarray(Size.BLOB_HEADER, Size.BLOB_HEADER + Size.BLOB_IV);
  const decipher = createDecipheriv('aes-256-cbc', keys.encryptionKey, iv).setAutoPadding(false);
  const parts = [decipher.update(blob.subarray(Size.BLOB_HEADER + Size.BLOB_IV, macEnd)), decipher.final()];
  const plaintext = concatBytes(...parts);
  zeroize(...parts);
  try {
    return decodeWalletPlaintext(plaintext);
  } finally {
    zeroize(plaintext);
  }
}

function checkKeys(keys: TransportKeys): void {
  // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- runtime check for untyped callers
  if (typeof keys !== 'object' || keys === null) throw new TypeError('transport keys: expected { encryptionKey, macKey }');
  checkLength('K_enc', keys.encryptionKey, 32);
  checkLength('K_mac', keys.macKey, 32);
}

/**
 * A twincard card played in software by the conformance host, with an identity certified by the TEST
 * manufacturer key. It lets the host be an authenticated but hostile peer: a backup card whose prepare
 * signature covers another EB, id or purpose; a primary whose blobs are sealed to a stale EB, name another
 * card, or are authentic but malformed inside. It also plays the honest backup card that opens what the card
 * under test exports (section 1.2 and 1.3, written here from the protocol so the suite checks the card, not
 * the reference host). Only for cards personalized with the TEST key: nothing here can fool a production root.
 * @module
 */
import { hkdf } from '@noble/hashes/hkdf.js';
import { hmac } from '@noble/hashes/hmac.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { concatBytes, randomBytes, utf8ToBytes } from '@noble/hashes/utils.js';
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { createCipheriv, createDecipheriv } from 'node:crypto';
import {
  constantTimeEqual,
  equalBytes,
  isValidPublicKey,
  publicKeyOf,
  SECP256K1_N,
  sharedSecretX,
  signMessage,
  zeroize,
} from '../protocol/crypto.js';
import type { KeyPair } from '../protocol/keys.js';
import {
  attestationMessage,
  BLOB_VERSION,
  BlobSize,
  certificateMessage,
  encodeCertificate,
  Prefix,
  prepareMessage,
  sealMessage,
} from './wire.js';

/** A fresh random secp256k1 key pair. */
export function randomKeyPair(): KeyPair {
  const privateKey = secp256k1.utils.randomSecretKey();
  return { privateKey, publicKey: publicKeyOf(privateKey) };
}

/** A card id no real card of the suite has: ASCII "SOFT" then 4 random bytes. */
function softCardId(): Uint8Array {
  return concatBytes(utf8ToBytes('SOFT'), randomBytes(4));
}

/** The wallet a blob carries. */
export interface Wallet {
  readonly privateKey: Uint8Array;
  readonly publicKey: Uint8Array;
  readonly pin: Uint8Array;
}

/** A fresh wallet with this access code. */
export function randomWallet(pin: Uint8Array): Wallet {
  const k = randomKeyPair();
  return { ...k, pin };
}

/** The 128-byte plaintext of section 1.3, with every field settable, valid or not. */
export interface RawPlaintext {
  readonly d: Uint8Array;
  readonly walletPublicKey: Uint8Array;
  readonly pinLength: number;
  /** 16 bytes as they go into the PIN field (zero padding included). */
  readonly pinField: Uint8Array;
  /** 14 bytes. */
  readonly padding: Uint8Array;
}

export function plaintextBytes(p: RawPlaintext): Uint8Array {
  const out = concatBytes(p.d, p.walletPublicKey, Uint8Array.of(p.pinLength), p.pinField, p.padding);
  if (out.length !== BlobSize.CIPHERTEXT) throw new RangeError(`plaintext: expected 128 bytes, got ${out.length}`);
  return out;
}

/** The plaintext a correct primary makes for `wallet`. */
export function wellFormedPlaintext(wallet: Wallet): RawPlaintext {
  const pinField = new Uint8Array(16);
  pinField.set(wallet.pin);
  return { d: wallet.privateKey, walletPublicKey: wallet.publicKey, pinLength: wallet.pin.length, pinField, padding: new Uint8Array(14) };
}

/** Who a blob is for: section 1.2's transcript. */
export interface Transcript {
  readonly primaryId: Uint8Array;
  readonly backupId: Uint8Array;
  readonly ep: Uint8Array;
  readonly eb: Uint8Array;
}

/** K_enc ‖ K_mac = HKDF-SHA256(Z, "TWINCARD:KDF:V02", P.id ‖ B.id ‖ EP ‖ EB, 64). The caller wipes both. */
export function transportKeys(z: Uint8Array, t: Transcript): { enc: Uint8Array; mac: Uint8Array } {
  const okm = hkdf(sha256, z, utf8ToBytes(Prefix.KDF_SALT), concatBytes(t.primaryId, t.backupId, t.ep, t.eb), 64);
  const keys = { enc: okm.slice(0, 32), mac: okm.slice(32) };
  zeroize(okm);
  return keys;
}

/**
 * Primary role: a blob under the transport key of (eP, EB) holding `plaintext`. `header` overrides the
 * 17-byte header (misdirected blobs); the MAC always covers what is sent.
 */
function sealRawBlob(o: {
  readonly ep: KeyPair;
  readonly transcript: Transcript;
  readonly plaintext: Uint8Array;
  readonly header?: Uint8Array;
}): Uint8Array {
  const z = sharedSecretX(o.ep.privateKey, o.transcript.eb, 'EB');
  const keys = transportKeys(z, o.transcript);
  const header = o.header ?? concatBytes(Uint8Array.of(BLOB_VERSION), o.transcript.primaryId, o.transcript.backupId);
  const iv = randomBytes(BlobSize.IV);
  const cipher = createCipheriv('aes-256-cbc', keys.enc, iv).setAutoPadding(false);
  const ct = concatBytes(cipher.update(o.plaintext), cipher.final());
  const tag = hmac(sha256, keys.mac, concatBytes(header, iv, ct));
  zeroize(z, keys.enc, keys.mac);
  return concatBytes(header, iv, ct, tag);
}

/**
 * Backup role: opens a blob the card under test exported, with the software backup card's eB, and checks
 * everything section 1.3 and BACKUP_IMPORT's step 7 ask of it.
 * @returns the wallet inside (the caller zeroises the private key)
 * @throws Error naming the first fault (header, tag, layout).
 */
export function openBlob(blob: Uint8Array, eb: KeyPair, t: Transcript): Wallet {
  if (blob.length !== BlobSize.TOTAL) throw new Error(`blob: ${blob.length} bytes, not 193`);
  const header = blob.subarray(0, BlobSize.HEADER);
  if (!equalBytes(header, concatBytes(Uint8Array.of(BLOB_VERSION), t.primaryId, t.backupId)))
    throw new Error('blob: the header is not 02 ‖ P.id ‖ B.id');
  const iv = blob.subarray(17, 33);
  const ct = blob.subarray(33, 161);
  const tag = blob.subarray(161);
  const z = sharedSecretX(eb.privateKey, t.ep, 'EP');
  const keys = transportKeys(z, t);
  try {
    if (!constantTimeEqual(hmac(sha256, keys.mac, blob.subarray(0, 161)), tag))
      throw new Error('blob: the tag does not verify under the transport key');
    const decipher = createDecipheriv('aes-256-cbc', keys.enc, iv).setAutoPadding(false);
    const p = concatBytes(decipher.update(ct), decipher.final());
    try {
      return parsePlaintext(p);
    } finally {
      zeroize(p);
    }
  } finally {
    zeroize(z, keys.enc, keys.mac);
  }
}

function parsePlaintext(p: Uint8Array): Wallet {
  const d = p.slice(0, 32);
  const publicKey = p.slice(32, 97);
  const pinLength = p[97]!;
  if (pinLength < 4 || pinLength > 16) throw new Error(`blob: PIN length ${pinLength}`);
  if (p.subarray(98 + pinLength).some((b) => b !== 0)) throw new Error('blob: PIN padding or the last 14 bytes are not zero');
  const dn = BigInt('0x' + Buffer.from(d).toString('hex'));
  if (dn === 0n || dn >= SECP256K1_N) throw new Error('blob: d is not in 1..n-1');
  if (!isValidPublicKey(publicKey) || !equalBytes(publicKeyOf(d), publicKey)) throw new Error('blob: the public key is not d·G');
  return { privateKey: d, publicKey, pin: p.slice(98, 98 + pinLength) };
}

/** What BACKUP_EXPORT carries: the backup card's certificate, EB and prepare signature. */
export interface PrepareOffer {
  readonly certificate: Uint8Array;
  readonly eb: Uint8Array;
  readonly signature: Uint8Array;
}

/** What BACKUP_IMPORT carries: the primary's certificate, EP, seal signature and blob. */
export interface SealedExport {
  readonly certificate: Uint8Array;
  readonly ep: Uint8Array;
  readonly signature: Uint8Array;
  readonly blob: Uint8Array;
}

export class SoftCard {
  readonly cardId: Uint8Array;
  readonly identity: KeyPair;
  readonly attestation: KeyPair;
  readonly certificate: Uint8Array;

  private constructor(cardId: Uint8Array, identity: KeyPair, attestation: KeyPair, certificate: Uint8Array) {
    this.cardId = cardId;
    this.identity = identity;
    this.attestation = attestation;
    this.certificate = certificate;
  }

  /** A card certified by `manufacturer` (the TEST key, or a stranger's), with random identity and attestation keys. */
  static create(manufacturer: KeyPair, cardId: Uint8Array = softCardId()): SoftCard {
    const identity = randomKeyPair();
    const attestation = randomKeyPair();
    return new SoftCard(
      cardId,
      identity,
      attestation,
      SoftCard.certificateFor(cardId, identity.publicKey, manufacturer, attestation.publicKey),
    );
  }

  /**
   * A format 02 certificate signed by `manufacturer` over ANY keys, even invalid points: what a hostile
   * factory would issue (section 4).
   */
  static certificateFor(
    cardId: Uint8Array,
    identityPublicKey: Uint8Array,
    manufacturer: KeyPair,
    attestationPublicKey: Uint8Array = randomKeyPair().publicKey,
  ): Uint8Array {
    const signature = signMessage(certificateMessage(cardId, identityPublicKey, attestationPublicKey), manufacturer.privateKey);
    return encodeCertificate({ cardId, identityPublicKey, attestationPublicKey, signature });
  }

  /** Backup role: BACKUP_PREPARE's answer for EB (any bytes), with the certificate, as a host relays it. */
  prepare(eb: Uint8Array): PrepareOffer {
    return { certificate: this.certificate, eb, signature: signMessage(prepareMessage(this.cardId, eb), this.identity.privateKey) };
  }

  /**
   * Primary role: an export sealed to `eb` for card `backupId`: a fresh eP, the blob holding `plaintext`,
   * the seal signature over P.id ‖ B.id ‖ EB ‖ EP. `header` overrides the blob header.
   */
  seal(backupId: Uint8Array, eb: Uint8Array, plaintext: Uint8Array, header?: Uint8Array): SealedExport {
    const ep = randomKeyPair();
    const transcript = { primaryId: this.cardId, backupId, ep: ep.publicKey, eb };
    const blob = sealRawBlob({ ep, transcript, plaintext, ...(header && { header }) });
    zeroize(ep.privateKey);
    return {
      certificate: this.certificate,
      ep: ep.publicKey,
      signature: signMessage(sealMessage(this.cardId, backupId, eb, ep.publicKey), this.identity.privateKey),
      blob,
    };
  }

  /**
   * An ATTEST-purpose message signed with the IDENTITY key: for cross-purpose replay (a signature for another
   * purpose must never pass as a prepare or seal signature).
   */
  attestSignature(challenge: Uint8Array): Uint8Array {
    return signMessage(attestationMessage(this.cardId, challenge), this.identity.privateKey);
  }

  /** Any message signed with the identity key (signatures over the wrong thing). */
  sign(message: Uint8Array): Uint8Array {
    return signMessage(message, this.identity.privateKey);
  }
}

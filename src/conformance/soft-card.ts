/**
 * A twincard card played in software by the conformance host, with an identity certified by the TEST
 * manufacturer key. It lets the host be an authenticated but hostile peer: a primary whose wallet blobs
 * are malformed in ways a real primary never makes them, a backup card whose EB comes from another
 * session, signatures made for one purpose offered for another. Only for cards personalized with the
 * TEST manufacturer key: nothing here can fool a card with a production root.
 * @module
 */
import { hmac } from '@noble/hashes/hmac.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { concatBytes, randomBytes } from '@noble/hashes/utils.js';
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { createCipheriv } from 'node:crypto';
import type { CertifiedLinkOffer } from '../protocol/card.js';
import { issueCertificate } from '../protocol/certificate.js';
import { BLOB_VERSION, Size } from '../protocol/constants.js';
import { publicKeyOf, sharedSecretX, signMessage, zeroize } from '../protocol/crypto.js';
import type { KeyPair } from '../protocol/keys.js';
import { attestationMessage, backupLinkMessage, certificateMessage, primaryLinkMessage } from '../protocol/messages.js';
import { deriveTransportKeys, openWalletBlob, type LinkTranscript, type WalletSecret } from '../protocol/wallet-blob.js';

/** A fresh random secp256k1 key pair. */
export function randomKeyPair(): KeyPair {
  const privateKey = secp256k1.utils.randomSecretKey();
  return { privateKey, publicKey: publicKeyOf(privateKey) };
}

/** A card id no real card of the suite has: ASCII "SOFT" then 4 random bytes. */
export function softCardId(): Uint8Array {
  return concatBytes(new TextEncoder().encode('SOFT'), randomBytes(4));
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
  if (out.length !== Size.BLOB_CIPHERTEXT) throw new RangeError(`plaintext: expected 128 bytes, got ${out.length}`);
  return out;
}

/** The plaintext a correct primary makes for `secret`. */
export function wellFormedPlaintext(secret: WalletSecret): RawPlaintext {
  const pinField = new Uint8Array(16);
  pinField.set(secret.pin);
  return {
    d: secret.walletPrivateKey,
    walletPublicKey: secret.walletPublicKey,
    pinLength: secret.pin.length,
    pinField,
    padding: new Uint8Array(14),
  };
}

export class SoftCard {
  readonly cardId: Uint8Array;
  readonly identity: KeyPair;
  readonly certificate: Uint8Array;

  private constructor(cardId: Uint8Array, identity: KeyPair, certificate: Uint8Array) {
    this.cardId = cardId;
    this.identity = identity;
    this.certificate = certificate;
  }

  /** A card certified by `manufacturer` (the TEST key), with a random identity key. */
  static create(manufacturer: KeyPair, cardId: Uint8Array = softCardId()): SoftCard {
    const identity = randomKeyPair();
    return new SoftCard(cardId, identity, issueCertificate(cardId, identity.publicKey, manufacturer.privateKey));
  }

  /**
   * A certificate signed by `manufacturer` over ANY identity key, even an invalid point: what a hostile
   * factory or a forged certificate would carry. The encoding is built by hand because the codec refuses
   * invalid points.
   */
  static certificateFor(cardId: Uint8Array, identityPublicKey: Uint8Array, manufacturer: KeyPair): Uint8Array {
    const signature = signMessage(certificateMessage(cardId, identityPublicKey), manufacturer.privateKey);
    return concatBytes(
      Uint8Array.of(0x10, 0x01, 0x01, 0x02, 0x08),
      cardId,
      Uint8Array.of(0x0a, 0x41),
      identityPublicKey,
      Uint8Array.of(0x0b, signature.length),
      signature,
    );
  }

  /** Primary role: the LINK_PRIMARY data for EP (signed over P.id || EP, purpose primary link). */
  primaryOffer(ep: Uint8Array): CertifiedLinkOffer {
    return {
      certificate: this.certificate,
      ephemeralKey: ep,
      signature: signMessage(primaryLinkMessage(this.cardId, ep), this.identity.privateKey),
    };
  }

  /** Backup role: the LINK_BACKUP data for EB (signed over P.id || B.id || EP || EB, purpose backup link). */
  backupOffer(primaryId: Uint8Array, ep: Uint8Array, eb: Uint8Array): CertifiedLinkOffer {
    return {
      certificate: this.certificate,
      ephemeralKey: eb,
      signature: signMessage(backupLinkMessage(primaryId, this.cardId, ep, eb), this.identity.privateKey),
    };
  }

  /** An attestation signature (purpose ATTEST) over `challenge`: for cross-purpose replay. */
  attestSignature(challenge: Uint8Array): Uint8Array {
    return signMessage(attestationMessage(this.cardId, challenge), this.identity.privateKey);
  }

  /** Any message signed with the identity key (for signatures over the wrong thing). */
  sign(message: Uint8Array): Uint8Array {
    return signMessage(message, this.identity.privateKey);
  }
}

/**
 * Primary role: a wallet blob for backup card `backupId` holding `plaintext`, under the transport key of
 * (eP, EB). `header` overrides the 17-byte header (for misdirected blobs); the MAC always covers what is sent.
 */
export function sealRawBlob(options: {
  readonly ephemeralPrivate: Uint8Array;
  readonly transcript: LinkTranscript;
  readonly plaintext: Uint8Array;
  readonly header?: Uint8Array;
}): Uint8Array {
  const { transcript } = options;
  const z = sharedSecretX(options.ephemeralPrivate, transcript.backupEphemeralKey, 'EB');
  const keys = deriveTransportKeys(z, transcript);
  const header = options.header ?? concatBytes(Uint8Array.of(BLOB_VERSION), transcript.primaryId, transcript.backupId);
  const iv = randomBytes(16);
  const cipher = createCipheriv('aes-256-cbc', keys.encryptionKey, iv).setAutoPadding(false);
  const ct = concatBytes(cipher.update(options.plaintext), cipher.final());
  const tag = hmac(sha256, keys.macKey, concatBytes(header, iv, ct));
  zeroize(z, keys.encryptionKey, keys.macKey);
  return concatBytes(header, iv, ct, tag);
}

/** Backup role: opens a blob the card under test exported, with the software backup card's eB. */
export function openBlobAsBackup(blob: Uint8Array, ephemeralPrivate: Uint8Array, transcript: LinkTranscript): WalletSecret {
  const z = sharedSecretX(ephemeralPrivate, transcript.primaryEphemeralKey, 'EP');
  const keys = deriveTransportKeys(z, transcript);
  try {
    return openWalletBlob(blob, keys, { primaryId: transcript.primaryId, backupId: transcript.backupId });
  } finally {
    zeroize(z, keys.encryptionKey, keys.macKey);
  }
}

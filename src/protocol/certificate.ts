/**
 * The card certificate (docs/protocol.md section 4): four protocol TLVs in a fixed order,
 *
 *     10 01 01 || 02 08 <card id> || 0A 41 <identity public key> || 0B LL <manufacturer signature>
 *
 * the signature covering `"TWINCARD:CERT:01" || card id || identity public key`.
 * @module
 */
import { encodeProtocolTlvs, TlvError, TlvRecord } from '../apdu/index.js';
import { CERT_VERSION, Size, Tag } from './constants.js';
import { checkLength, describeType, parseDerSignature, signMessage, validatePublicKey, verifyMessageSignature } from './crypto.js';
import { CertificateFormatError } from './errors.js';
import { certificateMessage } from './messages.js';
import type { TrustedRoot } from './roots.js';

/** A parsed certificate. Parsing checks the format only; {@link findCertificateRoot} checks trust. */
export interface Certificate {
  readonly version: number;
  readonly cardId: Uint8Array;
  readonly identityPublicKey: Uint8Array;
  /** The manufacturer's DER signature. */
  readonly signature: Uint8Array;
  /** The certificate's bytes as received. */
  readonly encoded: Uint8Array;
}

const FIELDS = [Tag.CERT_VERSION, Tag.CARD_ID, Tag.IDENTITY_PUBLIC_KEY, Tag.SIGNATURE];

/**
 * Parses a certificate strictly: 90..154 bytes, exactly the four fields in order with their sizes,
 * version 01, a valid identity point, a strict DER signature.
 * @throws TypeError for non-bytes; CertificateFormatError (a RangeError) saying what was wrong.
 * @example parseCertificate(info.certificate).cardId
 */
export function parseCertificate(bytes: Uint8Array): Certificate {
  if (!(bytes instanceof Uint8Array)) throw new TypeError(`certificate: expected Uint8Array, got ${describeType(bytes)}`);
  if (bytes.length < Size.CERTIFICATE_MIN || bytes.length > Size.CERTIFICATE_MAX) {
    throw new CertificateFormatError(`expected ${Size.CERTIFICATE_MIN}..${Size.CERTIFICATE_MAX} bytes, got ${bytes.length}`);
  }
  try {
    const record = TlvRecord.parse(bytes, { allowed: FIELDS, what: 'certificate', ordered: true });
    const version = record.required(Tag.CERT_VERSION, 1)[0] as number;
    const cardId = record.required(Tag.CARD_ID, Size.CARD_ID);
    const identityPublicKey = record.required(Tag.IDENTITY_PUBLIC_KEY, Size.PUBLIC_KEY);
    const signature = record.required(Tag.SIGNATURE, { min: Size.SIGNATURE_MIN, max: Size.SIGNATURE_MAX });
    if (version !== CERT_VERSION) throw new CertificateFormatError(`version ${version} is not supported (expected ${CERT_VERSION})`);
    validatePublicKey(identityPublicKey, 'certificate: identity public key');
    parseDerSignature(signature, 'certificate: manufacturer signature');
    return Object.freeze({ version, cardId, identityPublicKey, signature, encoded: bytes.slice() });
  } catch (e) {
    if (e instanceof CertificateFormatError) throw e;
    if (e instanceof TlvError || e instanceof RangeError) {
      throw new CertificateFormatError(e.message.replace(/^certificate: /, ''), { cause: e });
    }
    throw e;
  }
}

/**
 * The certificate bytes for its fields.
 * @throws RangeError / InvalidPointError / SignatureFormatError for invalid fields.
 */
export function encodeCertificate(fields: { cardId: Uint8Array; identityPublicKey: Uint8Array; signature: Uint8Array }): Uint8Array {
  checkLength('card id', fields.cardId, Size.CARD_ID);
  validatePublicKey(fields.identityPublicKey, 'identity public key');
  parseDerSignature(fields.signature, 'manufacturer signature');
  return encodeProtocolTlvs([
    [Tag.CERT_VERSION, Uint8Array.of(CERT_VERSION)],
    [Tag.CARD_ID, fields.cardId],
    [Tag.IDENTITY_PUBLIC_KEY, fields.identityPublicKey],
    [Tag.SIGNATURE, fields.signature],
  ]);
}

/**
 * Issues a certificate as the factory does: the manufacturer signs the certificate message
 * (RFC 6979, so the same inputs give the same certificate).
 * @returns the encoded certificate.
 */
export function issueCertificate(cardId: Uint8Array, identityPublicKey: Uint8Array, manufacturerPrivateKey: Uint8Array): Uint8Array {
  const signature = signMessage(certificateMessage(cardId, identityPublicKey), manufacturerPrivateKey);
  return encodeCertificate({ cardId, identityPublicKey, signature });
}

/**
 * The first root under which the certificate's signature verifies (high S accepted), else undefined.
 * @example const root = findCertificateRoot(parseCertificate(bytes), trustedRoots({ trustTestRoot: true }))
 */
export function findCertificateRoot(certificate: Certificate, roots: readonly TrustedRoot[]): TrustedRoot | undefined {
  const message = certificateMessage(certificate.cardId, certificate.identityPublicKey);
  return roots.find((root) => verifyMessageSignature(certificate.signature, message, root.publicKey, 'certificate signature'));
}

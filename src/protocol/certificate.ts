/**
 * The card certificate (docs/protocol.md section 4, format 02): five protocol TLVs in a fixed order,
 *
 *     10 01 02 || 02 08 <card id> || 0A 41 <identity public key> || 0E 41 <attestation public key>
 *              || 0B LL <manufacturer signature>
 *
 * the signature covering `"TWINCARD:CERT:02" || card id || identity public key || attestation public key`.
 * The two certified keys are NOT checked on the curve (section 1): they are authenticated by the
 * manufacturer signature and only ever verify signatures; an invalid point simply fails to verify.
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
  /** The key that signs ATTEST and OPEN_SESSION answers (section 1.1). */
  readonly attestationPublicKey: Uint8Array;
  /** The manufacturer's DER signature. */
  readonly signature: Uint8Array;
  /** The certificate's bytes as received. */
  readonly encoded: Uint8Array;
}

const FIELDS = [Tag.CERT_VERSION, Tag.CARD_ID, Tag.IDENTITY_PUBLIC_KEY, Tag.ATTESTATION_PUBLIC_KEY, Tag.SIGNATURE];

/**
 * Parses a certificate strictly: 157..221 bytes, exactly the five fields in order with their sizes,
 * version 02, keys of 65 bytes starting `04`, a strict DER signature. The keys are not checked on
 * the curve (section 1: the manufacturer signature authenticates them).
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
    const attestationPublicKey = record.required(Tag.ATTESTATION_PUBLIC_KEY, Size.PUBLIC_KEY);
    const signature = record.required(Tag.SIGNATURE, { min: Size.SIGNATURE_MIN, max: Size.SIGNATURE_MAX });
    if (version !== CERT_VERSION) throw new CertificateFormatError(`version ${version} is not supported (expected ${CERT_VERSION})`);
    checkUncompressed(identityPublicKey, 'identity public key');
    checkUncompressed(attestationPublicKey, 'attestation public key');
    parseDerSignature(signature, 'certificate: manufacturer signature');
    return Object.freeze({ version, cardId, identityPublicKey, attestationPublicKey, signature, encoded: bytes.slice() });
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
export function encodeCertificate(fields: CertificateFields & { signature: Uint8Array }): Uint8Array {
  checkLength('card id', fields.cardId, Size.CARD_ID);
  validatePublicKey(fields.identityPublicKey, 'identity public key');
  validatePublicKey(fields.attestationPublicKey, 'attestation public key');
  parseDerSignature(fields.signature, 'manufacturer signature');
  return encodeProtocolTlvs([
    [Tag.CERT_VERSION, Uint8Array.of(CERT_VERSION)],
    [Tag.CARD_ID, fields.cardId],
    [Tag.IDENTITY_PUBLIC_KEY, fields.identityPublicKey],
    [Tag.ATTESTATION_PUBLIC_KEY, fields.attestationPublicKey],
    [Tag.SIGNATURE, fields.signature],
  ]);
}

/** What the manufacturer certifies for one card. */
export interface CertificateFields {
  readonly cardId: Uint8Array;
  readonly identityPublicKey: Uint8Array;
  readonly attestationPublicKey: Uint8Array;
}

/** The message the manufacturer signs for these fields (section 1.1, purpose *certificate*). */
export function certificateFieldsMessage(fields: CertificateFields): Uint8Array {
  return certificateMessage(fields.cardId, fields.identityPublicKey, fields.attestationPublicKey);
}

/**
 * Issues a certificate as the factory does: the manufacturer signs the certificate message
 * (RFC 6979, so the same inputs give the same certificate).
 * @returns the encoded certificate.
 */
export function issueCertificate(fields: CertificateFields, manufacturerPrivateKey: Uint8Array): Uint8Array {
  const signature = signMessage(certificateFieldsMessage(fields), manufacturerPrivateKey);
  return encodeCertificate({ ...fields, signature });
}

/**
 * The first root under which the certificate's signature verifies (high S accepted), else undefined.
 * @example const root = findCertificateRoot(parseCertificate(bytes), trustedRoots({ trustTestRoot: true }))
 */
export function findCertificateRoot(certificate: Certificate, roots: readonly TrustedRoot[]): TrustedRoot | undefined {
  const message = certificateFieldsMessage(certificate);
  return roots.find((root) => verifyMessageSignature(certificate.signature, message, root.publicKey, 'certificate signature'));
}

/** 65 bytes starting `04` (the size is the TLV parser's check): the SEC1 form, not the curve. */
function checkUncompressed(key: Uint8Array, what: string): void {
  if (key[0] !== 0x04) throw new CertificateFormatError(`${what}: expected SEC1 uncompressed (04), got first byte ${key[0] ?? 'none'}`);
}

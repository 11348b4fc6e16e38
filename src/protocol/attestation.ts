/**
 * Is this card genuine? (docs/protocol.md section 6, ATTEST.) The host sends a fresh random
 * challenge and checks, in this order: the certificate parses; its card id is the one READ
 * reported; the manufacturer signature verifies under a trusted root; the card's signature over
 * `"TWINCARD:ATTEST1" || card id || challenge` verifies under the certified attestation key. Only a
 * card holding the certified attestation key can pass, and the fresh challenge stops replays.
 *
 * {@link verifyCardCertificate} is the certificate half alone: what a command that opens a session
 * checks first (the session signature is then the fresh attestation, session.ts).
 * @module
 */
import { randomBytes } from '@noble/hashes/utils.js';
import type { CardInfo, TwincardCard } from './card.js';
import { findCertificateRoot, parseCertificate, type Certificate } from './certificate.js';
import type { CardStateName } from './constants.js';
import { checkLength, equalBytes, verifiesUnderCertifiedKey } from './crypto.js';
import { CardRefusedError, CertificateFormatError, MalformedResponseError } from './errors.js';
import { attestationMessage } from './messages.js';
import type { TrustedRoot } from './roots.js';
import { toHex } from '../apdu/index.js';

/** Why a card is not genuine. */
export type AttestationFailureCode =
  /** FACTORY state: no identity key or certificate yet. */
  | 'NOT_PERSONALIZED'
  /** The certificate does not parse (section 4). */
  | 'CERTIFICATE_MALFORMED'
  /** The certificate is for another card id than the one READ reported. */
  | 'CARD_ID_MISMATCH'
  /** No trusted root verifies the certificate (or no root is trusted at all). */
  | 'CERTIFICATE_UNTRUSTED'
  /** The answer to the challenge (or the session signature) does not verify under the certified attestation key. */
  | 'ATTESTATION_SIGNATURE_INVALID'
  /** The card refused SELECT, READ or ATTEST. */
  | 'CARD_REFUSED'
  /** The card's answer broke the protocol. */
  | 'MALFORMED_RESPONSE';

export interface AttestationFailure {
  readonly code: AttestationFailureCode;
  readonly message: string;
}

export interface GenuineCard {
  readonly genuine: true;
  readonly cardId: Uint8Array;
  readonly state: CardStateName;
  readonly identityPublicKey: Uint8Array;
  readonly attestationPublicKey: Uint8Array;
  /** The root that certified the card; `root.test` true means a TEST card, proof of nothing. */
  readonly root: TrustedRoot;
  readonly certificate: Certificate;
  readonly info: CardInfo;
}

export interface NotGenuineCard {
  readonly genuine: false;
  readonly reason: AttestationFailure;
  /** What READ reported, when it got that far. */
  readonly info?: CardInfo;
}

export type AttestationResult = GenuineCard | NotGenuineCard;

export interface AttestOptions {
  /**
   * The challenge to send instead of 32 fresh random bytes. ONLY for replaying a recorded
   * transcript: a predictable challenge lets a cloned card replay an old answer.
   */
  readonly challenge?: Uint8Array;
}

/**
 * Attests a card: SELECT, READ, the certificate checks, ATTEST with a fresh 32-byte challenge, the
 * signature check. A card-caused failure is a verdict (`genuine: false` with a reason), not an
 * exception; a reader or transport failure is thrown.
 * @param roots the manufacturer roots to trust (see roots.ts `trustedRoots`)
 * @example
 * const verdict = await attest(card, trustedRoots({ trustTestRoot: true }));
 * if (!verdict.genuine) console.error(verdict.reason.code, verdict.reason.message);
 */
export async function attest(card: TwincardCard, roots: readonly TrustedRoot[], options: AttestOptions = {}): Promise<AttestationResult> {
  const challenge = options.challenge ?? randomBytes(32);
  checkLength('challenge', challenge, 16, 32);
  let info: CardInfo | undefined;
  try {
    await card.select();
    info = await card.read();
    if (info.state === 'FACTORY' || info.cardId === undefined || info.certificate === undefined) {
      return fail('NOT_PERSONALIZED', 'the card is in FACTORY state: it has no identity key or certificate', info);
    }
    const checked = verifyCardCertificate(info, roots);
    if (!checked.ok) return fail(checked.reason.code, checked.reason.message, info);
    const { certificate, root } = checked;
    const signature = await card.attest(challenge);
    const message = attestationMessage(certificate.cardId, challenge);
    if (!verifiesUnderCertifiedKey(signature, message, certificate.attestationPublicKey, 'attestation signature')) {
      return fail('ATTESTATION_SIGNATURE_INVALID', 'the answer to the challenge does not verify under the certified attestation key', info);
    }
    return {
      genuine: true,
      cardId: certificate.cardId,
      state: info.state,
      identityPublicKey: certificate.identityPublicKey,
      attestationPublicKey: certificate.attestationPublicKey,
      root,
      certificate,
      info,
    };
  } catch (e) {
    if (e instanceof CardRefusedError) return fail('CARD_REFUSED', e.message, info);
    if (e instanceof MalformedResponseError) return fail('MALFORMED_RESPONSE', e.message, info);
    throw e;
  }
}

/** A certificate that parses, names READ's card id and verifies under a trusted root. */
export interface VerifiedCertificate {
  readonly ok: true;
  readonly certificate: Certificate;
  readonly root: TrustedRoot;
}

export type CertificateCheck = VerifiedCertificate | { readonly ok: false; readonly reason: AttestationFailure };

/**
 * The certificate checks of a genuine verdict, without the challenge: the card is personalized, its
 * certificate parses, names the card id READ reported and verifies under one of `roots`. A command
 * that opens a session runs this first and hands the certificate to `TwincardCard.openSession`,
 * whose signature check is then the fresh attestation.
 * @example const check = verifyCardCertificate(await card.read(), roots); if (check.ok) await card.openSession(check.certificate);
 */
export function verifyCardCertificate(info: CardInfo, roots: readonly TrustedRoot[]): CertificateCheck {
  if (info.state === 'FACTORY' || info.cardId === undefined || info.certificate === undefined) {
    return refused('NOT_PERSONALIZED', 'the card is in FACTORY state: it has no identity key or certificate');
  }
  let certificate: Certificate;
  try {
    certificate = parseCertificate(info.certificate);
  } catch (e) {
    if (e instanceof CertificateFormatError) return refused('CERTIFICATE_MALFORMED', e.message);
    throw e;
  }
  if (!equalBytes(certificate.cardId, info.cardId)) {
    return refused(
      'CARD_ID_MISMATCH',
      `the certificate is for card ${toHex(certificate.cardId)}, the card says it is ${toHex(info.cardId)}`,
    );
  }
  const root = findCertificateRoot(certificate, roots);
  if (root === undefined) {
    const message =
      roots.length === 0
        ? 'no manufacturer root is trusted (test cards need --trust-test-root)'
        : `the certificate does not verify under any of the ${roots.length} trusted root(s)`;
    return refused('CERTIFICATE_UNTRUSTED', message);
  }
  return { ok: true, certificate, root };
}

function refused(code: AttestationFailureCode, message: string): CertificateCheck {
  return { ok: false, reason: { code, message } };
}

function fail(code: AttestationFailureCode, message: string, info: CardInfo | undefined): NotGenuineCard {
  return info === undefined ? { genuine: false, reason: { code, message } } : { genuine: false, reason: { code, message }, info };
}

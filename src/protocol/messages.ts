/**
 * The messages the manufacturer and card identity keys sign (docs/protocol.md section 1.1). Each
 * starts with its own 16-byte purpose prefix, so a signature made for one purpose never verifies as
 * another; every field has a fixed size, so the concatenation has one reading.
 * @module
 */
import { concatBytes } from '@noble/hashes/utils.js';
import { prefixBytes, Size } from './constants.js';
import { checkLength } from './crypto.js';

/**
 * `TWINCARD:CERT:02 || card id (8) || identity public key (65) || attestation public key (65)`,
 * signed by the manufacturer.
 * @throws TypeError / RangeError for a wrong-size argument.
 */
export function certificateMessage(cardId: Uint8Array, identityPublicKey: Uint8Array, attestationPublicKey: Uint8Array): Uint8Array {
  checkLength('card id', cardId, Size.CARD_ID);
  checkLength('identity public key', identityPublicKey, Size.PUBLIC_KEY);
  checkLength('attestation public key', attestationPublicKey, Size.PUBLIC_KEY);
  return concatBytes(prefixBytes('CERTIFICATE'), cardId, identityPublicKey, attestationPublicKey);
}

/**
 * `TWINCARD:SESS-C2 || card id (8) || EH (65) || EC (65)`, signed by the card's attestation key at
 * OPEN_SESSION: it binds the card's session key EC to the host's fresh EH (a fresh attestation).
 * @throws TypeError / RangeError for a wrong-size argument.
 */
export function sessionMessage(cardId: Uint8Array, hostEphemeralKey: Uint8Array, cardEphemeralKey: Uint8Array): Uint8Array {
  checkLength('card id', cardId, Size.CARD_ID);
  checkLength('EH', hostEphemeralKey, Size.PUBLIC_KEY);
  checkLength('EC', cardEphemeralKey, Size.PUBLIC_KEY);
  return concatBytes(prefixBytes('SESSION'), cardId, hostEphemeralKey, cardEphemeralKey);
}

/**
 * `TWINCARD:ATTEST1 || card id (8) || challenge (16..32)`, signed by the card's attestation key.
 * @throws TypeError / RangeError for a wrong-size argument.
 */
export function attestationMessage(cardId: Uint8Array, challenge: Uint8Array): Uint8Array {
  checkLength('card id', cardId, Size.CARD_ID);
  checkLength('challenge', challenge, Size.CHALLENGE_MIN, Size.CHALLENGE_MAX);
  return concatBytes(prefixBytes('ATTESTATION'), cardId, challenge);
}

/**
 * `TWINCARD:PREP-B2 || backup id (8) || EB (65)`, signed by the backup card's identity key at
 * BACKUP_PREPARE. It names no primary: EB is bound to a primary later, by the primary's seal.
 * @throws TypeError / RangeError for a wrong-size argument.
 */
export function prepareMessage(backupId: Uint8Array, backupEphemeralKey: Uint8Array): Uint8Array {
  checkLength('backup id', backupId, Size.CARD_ID);
  checkLength('EB', backupEphemeralKey, Size.PUBLIC_KEY);
  return concatBytes(prefixBytes('PREPARE'), backupId, backupEphemeralKey);
}

/**
 * `TWINCARD:SEAL-P2 || primary id (8) || backup id (8) || EB (65) || EP (65)`, signed by the
 * primary's identity key at BACKUP_EXPORT: it binds this export's EP to the recipient and its EB.
 * @throws TypeError / RangeError for a wrong-size argument.
 */
export function sealMessage(
  primaryId: Uint8Array,
  backupId: Uint8Array,
  backupEphemeralKey: Uint8Array,
  primaryEphemeralKey: Uint8Array,
): Uint8Array {
  checkLength('primary id', primaryId, Size.CARD_ID);
  checkLength('backup id', backupId, Size.CARD_ID);
  checkLength('EB', backupEphemeralKey, Size.PUBLIC_KEY);
  checkLength('EP', primaryEphemeralKey, Size.PUBLIC_KEY);
  return concatBytes(prefixBytes('SEAL'), primaryId, backupId, backupEphemeralKey, primaryEphemeralKey);
}
